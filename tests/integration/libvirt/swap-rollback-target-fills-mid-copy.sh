#!/usr/bin/env bash
# The target fails mid-copy: the new volume lives on a file system too small
# for the data (a 2 MiB tmpfs), so the block copy fails with ENOSPC partway.
# The block-job event ends the swap: rollback by an abort without pivot, the
# volume states back, and the domain -- live and defined -- still on the old
# volume.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
lv_setup
mkdir -p "$T/pool2"
mount -t tmpfs -o size=2M tmpfs "$T/pool2" 2>/dev/null || skip "cannot mount a tmpfs here"
trap 'umount "$T/pool2" 2>/dev/null; lv_cleanup' EXIT
DOM=vs-fill-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
OLD=$(new_volume "$ADMIN_TOKEN" 1)
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"volume_type":"pool2"}}' >/dev/null
expect_status 202; NEW=$(jq -r .volume.id "$T/last.body")
OLD_PATH=$(volume_path "$OLD")
qemu-io -f raw "$OLD_PATH" -c "write -P 0x5a 0 16M" >/dev/null || fail "cannot fill the old volume"
lv_attach "$SID" "$OLD" /dev/sdb; expect_status 200
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "swap: $(cat "$T/last.body")"
progress "$SID" "$OLD" | jq -r .error | grep -q "ended before it was ready" \
  || fail "error: $(progress "$SID" "$OLD")"
expect_rolled_back
[ "$(lv_sources "$DOM" | grep '^sdb')" = "sdb $OLD_PATH" ] || fail "live: $(lv_sources "$DOM")"
[ "$(lv_sources "$DOM" --inactive | grep '^sdb')" = "sdb $OLD_PATH" ] || fail "definition: $(lv_sources "$DOM" --inactive)"
virsh_lv blockjob "$DOM" sdb --info 2>&1 | grep -q "Block Copy" && fail "a job is left: $(virsh_lv blockjob "$DOM" sdb --info 2>&1)"
echo ok
