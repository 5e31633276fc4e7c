#!/usr/bin/env bash
# A swap across storage hosts on a libvirt compute host rolls back when
# the new volume's export goes away mid-copy: the domain's disk reads
# storage1's export over TLS, the copy to storage2's export runs slowly,
# and storage2's export is deleted (hard: QEMU's connection is cut). The
# block copy fails and the swap rolls back: the disk, live and defined,
# still reads storage1's export, storage2 is left no export and no node,
# storage1 still serves the old volume, and QEMU's writes still land in
# the old volume's file.
NEED_MOUNT_NS=1 . "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
LV_STORAGE_HOSTS="storage1 storage2" lv_setup
lv_nbd_disk vs-xhostrb-$$ storage2-pool storage1-pool

swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
wait_phase "$SID" "$OLD" mirroring
virsh_lv blockjob "$DOM" sdb --info 2>&1 | grep -q "Block Copy" || fail "no copy job: $(virsh_lv blockjob "$DOM" sdb --info 2>&1)"
[ "$(on_storage storage2 exports)" = "$(node_of "$NEW")" ] || fail "storage2 exports during the copy: $(on_storage storage2 exports)"
on_storage storage2 qmp_cmd "{\"execute\":\"block-export-del\",\"arguments\":{\"id\":\"sx-$(node_of "$NEW")\",\"mode\":\"hard\"}}" \
  | jq -e .return >/dev/null || fail "cannot delete the new volume's export"
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "swap: $(cat "$T/last.body")"
HOST_PID= expect_rolled_back
[ "$(nbd_name)" = "$(node_of "$OLD")" ] || fail "live disk: $(virsh_lv dumpxml "$DOM" | grep -A3 "<disk")"
[ "$(nbd_name --inactive)" = "$(node_of "$OLD")" ] || fail "definition: $(virsh_lv dumpxml --inactive "$DOM" | grep -A3 "<disk")"
virsh_lv blockjob "$DOM" sdb --info 2>&1 | grep -q "Block Copy" && fail "a job is left: $(virsh_lv blockjob "$DOM" sdb --info 2>&1)"
[ -z "$(on_storage storage2 exports)" ] || fail "storage2 still exports $(on_storage storage2 exports)"
[ -z "$(on_storage storage2 nodes)" ] || fail "storage2 still has nodes $(on_storage storage2 nodes)"
[ "$(on_storage storage1 exports)" = "$(node_of "$OLD")" ] || fail "storage1 exports $(on_storage storage1 exports)"
CI=$(reg_sql "SELECT connection_info FROM attachments WHERE server_id='$SID'")
[ "$(echo "$CI" | jq -r .data.storage.host)" = storage1 ] || fail "connection_info $CI"
lv_alias
lv_qemu_write 0x77 16
lv_range_check "$OLD_PATH" 0x77 16 || fail "QEMU's write after the rollback is not in the old volume"
echo ok
