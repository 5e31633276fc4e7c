#!/usr/bin/env bash
# libvirtd restarts while it copies the disk (slowly): QEMU keeps copying,
# the swap worker reconnects, registers for the block-job events again and
# finishes the swap -- pivot, the live disk and the definition on the new
# volume, the data there.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
export VOLSWAP_SWAP_SPEED=$(( 4 << 20 ))
lv_setup
DOM=vs-lvrestart-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
OLD=$(new_volume "$ADMIN_TOKEN" 1)
NEW=$(new_volume "$ADMIN_TOKEN" 1)
OLD_PATH=$(volume_path "$OLD"); NEW_PATH=$(volume_path "$NEW")
qemu-io -f raw "$OLD_PATH" -c "write -P 0x5a 0 16M" >/dev/null || fail "cannot fill the old volume"
lv_attach "$SID" "$OLD" /dev/sdb; expect_status 200
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
wait_phase "$SID" "$OLD" mirroring
libvirtd_restart
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body") $(grep swap: "$T/api.log" | tail -5)"
grep -q "reconnected to libvirt" "$T/api.log" || fail "no reconnect in the log (did the copy end before the restart?)"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(lv_sources "$DOM" | grep '^sdb')" = "sdb $NEW_PATH" ] || fail "live: $(lv_sources "$DOM")"
[ "$(lv_sources "$DOM" --inactive | grep '^sdb')" = "sdb $NEW_PATH" ] || fail "definition: $(lv_sources "$DOM" --inactive)"
file_check "$NEW_PATH" 0x5a 16
echo ok
