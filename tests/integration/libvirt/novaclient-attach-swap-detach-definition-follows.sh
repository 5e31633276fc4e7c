#!/usr/bin/env bash
# The main job on a libvirt host, through the unmodified novaclient: a
# volume attached to a running persistent domain (live and in its
# definition), `nova volume-update` to a larger volume (blockCopy with
# REUSE_EXT and TRANSIENT_JOB, pivot, blockResize), then `nova
# volume-detach`. The data moves, the live disk and the persistent
# definition both name the new volume, and after a destroy and start the
# domain runs on the new volume.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
need_novaclient
lv_setup
DOM=vs-swap-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
OLD=$(new_volume "$ADMIN_TOKEN" 1)
NEW=$(new_volume "$ADMIN_TOKEN" 2)
OLD_PATH=$(volume_path "$OLD"); NEW_PATH=$(volume_path "$NEW")
qemu-io -f raw "$OLD_PATH" -c "write -P 0x5a 0 4M" >/dev/null || fail "cannot fill the old volume"
password_env admin demo
nova volume-attach "$SID" "$OLD" /dev/sdb >/dev/null || fail "volume-attach: $(cat "$T/nova.err")"
[ "$(lv_sources "$DOM" | grep '^sdb')" = "sdb $OLD_PATH" ] || fail "live: $(lv_sources "$DOM")"
[ "$(lv_sources "$DOM" --inactive | grep '^sdb')" = "sdb $OLD_PATH" ] || fail "definition: $(lv_sources "$DOM" --inactive)"
nova volume-update "$SID" "$OLD" "$NEW" || fail "volume-update: $(cat "$T/nova.err")"
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body") $(tail -5 "$T/api.log")"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(lv_sources "$DOM" | grep '^sdb')" = "sdb $NEW_PATH" ] || fail "live after swap: $(lv_sources "$DOM")"
[ "$(lv_sources "$DOM" --inactive | grep '^sdb')" = "sdb $NEW_PATH" ] || fail "definition after swap: $(lv_sources "$DOM" --inactive)"
# blockResize: the guest sees the new volume's size
[ "$(virsh_lv domblkinfo "$DOM" sdb | awk '/Capacity/ {print $2}')" = $((2 << 30)) ] \
  || fail "capacity: $(virsh_lv domblkinfo "$DOM" sdb)"
virsh_lv destroy "$DOM" >/dev/null && virsh_lv start "$DOM" >/dev/null || fail "restart of the domain"
[ "$(lv_sources "$DOM" | grep '^sdb')" = "sdb $NEW_PATH" ] || fail "after a restart: $(lv_sources "$DOM")"
file_check "$NEW_PATH" 0x5a 4
nova volume-detach "$SID" "$NEW" || fail "volume-detach: $(cat "$T/nova.err")"
for _ in $(seq 100); do [ "$(volume_field "$NEW" status)" = available ] && break; sleep 0.1; done
[ "$(volume_field "$NEW" status)" = available ] || fail "new volume is $(volume_field "$NEW" status)"
lv_sources "$DOM" | grep -q '^sdb' && fail "still attached live: $(lv_sources "$DOM")"
lv_sources "$DOM" --inactive | grep -q '^sdb' && fail "still in the definition: $(lv_sources "$DOM" --inactive)"
echo ok
