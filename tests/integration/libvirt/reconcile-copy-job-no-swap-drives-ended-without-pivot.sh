#!/usr/bin/env bash
# The host reconciler on a libvirt host ends a block copy that no swap
# drives (one a crashed volswap-api left running while libvirtd was away,
# here started by hand): at the next start of volswap-api the copy is
# aborted without a pivot, so the domain, live and defined, stays on the
# volume the registry names, with everything written to it.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
lv_setup
DOM=vs-rcjob-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
OLD=$(new_volume "$ADMIN_TOKEN" 1)
OLD_PATH=$(volume_path "$OLD")
qemu-io -f raw "$OLD_PATH" -c "write -P 0x5a 0 16M" >/dev/null || fail "cannot fill the old volume"
lv_attach "$SID" "$OLD" /dev/sdb; expect_status 200
truncate -s 1G "$T/pool2/stray.img"; chmod 666 "$T/pool2/stray.img"
virsh_lv blockcopy "$DOM" sdb --dest "$T/pool2/stray.img" --format raw --reuse-external \
  --transient-job --bandwidth 1 >/dev/null || fail "blockcopy by hand"
virsh_lv blockjob "$DOM" sdb --info 2>&1 | grep -q "Block Copy" || fail "no copy job: $(virsh_lv blockjob "$DOM" sdb --info 2>&1)"
api_restart
for _ in $(seq 300); do
  virsh_lv blockjob "$DOM" sdb --info 2>&1 | grep -q "Block Copy" || break
  sleep 0.1
done
virsh_lv blockjob "$DOM" sdb --info 2>&1 | grep -q "Block Copy" && fail "the copy runs on: $(grep reconcile "$T/api.log" | tail -5)"
grep -q "reconcile: host host1: domain $DOM disk sdb: a block copy no swap drives" "$T/api.log" \
  || fail "log: $(grep reconcile "$T/api.log" | tail -5)"
[ "$(lv_sources "$DOM" | grep '^sdb')" = "sdb $OLD_PATH" ] || fail "live: $(lv_sources "$DOM")"
[ "$(lv_sources "$DOM" --inactive | grep '^sdb')" = "sdb $OLD_PATH" ] || fail "definition: $(lv_sources "$DOM" --inactive)"
[ "$(attached_volume "$SID")" = "$OLD" ] || fail "attachment names $(attached_volume "$SID")"
file_check "$OLD_PATH" 0x5a 16
echo ok
