#!/usr/bin/env bash
# Cinder's os-migrate_volume, on a libvirt compute host, of a volume of
# storage1's pool to storage2's (Cinder's migration across backends): the
# volume keeps its ID, libvirt block-copies from storage1's export to
# storage2's over TLS and pivots, the domain (live and defined) then reads
# storage2's export, connection_info names it, storage1 neither exports
# nor holds the volume any more and its file is removed, and the data is
# in storage2's file.
NEED_MOUNT_NS=1 . "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
LV_STORAGE_HOSTS="storage1 storage2" lv_setup
DOM=vs-xhostmig-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
VID=$(lv_volume_in storage1-pool)
OLD_PATH=$(volume_path "$VID")
qemu-io -f raw "$OLD_PATH" -c "write -P 0x4d 0 8M" >/dev/null || fail "cannot fill the volume"
lv_attach "$SID" "$VID" /dev/sdb; expect_status 200
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$VID/action" '{"os-migrate_volume":{"host":"storage2@lvm#storage2-pool","force_host_copy":false}}' >/dev/null
expect_status 202
[ "$(wait_swap "$SID" "$VID")" = completed ] || fail "migration: $(cat "$T/last.body") $(grep swap: "$T/api.log" | tail -5)"
[ "$(attached_volume "$SID")" = "$VID" ] || fail "server now on $(attached_volume "$SID")"
[ "$(volume_field "$VID" migration_status)" = success ] || fail "migration_status $(volume_field "$VID" migration_status)"
NEW_PATH=$(volume_path "$VID")
case "$NEW_PATH" in "$T/storage2-pool/"*) ;; *) fail "volume still at $NEW_PATH" ;; esac
[ ! -e "$OLD_PATH" ] || fail "old storage $OLD_PATH left behind"
CI=$(reg_sql "SELECT connection_info FROM attachments WHERE server_id='$SID'")
NODE=$(echo "$CI" | jq -r .data.node_name)
[ "$(echo "$CI" | jq -r '[.data.storage.host, .data.export_name, .data.uri] | join(" ")')" = \
  "storage2 $NODE nbds://127.0.0.1:$STORAGE2_PORT/$NODE" ] || fail "connection_info $CI"
[ "$(nbd_name)" = "$NODE" ] || fail "live disk: $(virsh_lv dumpxml "$DOM" | grep -A3 "<disk")"
[ "$(nbd_name --inactive)" = "$NODE" ] || fail "definition: $(virsh_lv dumpxml --inactive "$DOM" | grep -A3 "<disk")"
[ -z "$(on_storage storage1 exports)" ] || fail "storage1 still exports $(on_storage storage1 exports)"
[ -z "$(on_storage storage1 nodes)" ] || fail "storage1 still has nodes $(on_storage storage1 nodes)"
[ "$(on_storage storage2 exports)" = "$NODE" ] || fail "storage2 exports $(on_storage storage2 exports)"
file_check "$NEW_PATH" 0x4d 8
echo ok
