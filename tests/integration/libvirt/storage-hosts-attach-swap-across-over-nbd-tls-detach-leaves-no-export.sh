#!/usr/bin/env bash
# A libvirt compute host whose volumes live on other hosts: two storage
# hosts (volswapd, NBD on 127.0.0.1 requiring TLS and a client
# certificate), the domain on the libvirt host. A volume of storage1's
# pool is attached as a network disk on storage1's export (tls='yes':
# QEMU, under the real libvirtd, connects with the client certificate
# qemu.conf's nbd_tls_x509_cert_dir gives it), live and in the
# definition; connection_info is "nbd" with data.storage naming
# storage1's export; storage1 refuses a client without TLS. What QEMU
# writes lands in storage1's file. A swap to a volume of storage2's pool
# has storage2 export the new volume and libvirt copy to it over TLS and
# pivot: the disk (live and defined) then reads storage2's export, the
# data and QEMU's later writes are in storage2's file (none in
# storage1's), storage1 serves nothing and connection_info names
# storage2. A detach leaves no export and no node on either host.
NEED_MOUNT_NS=1 . "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
LV_STORAGE_HOSTS="storage1 storage2" lv_setup
DOM=vs-xhost-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
OLD=$(lv_volume_in storage1-pool)
NEW=$(lv_volume_in storage2-pool)
OLD_PATH=$(volume_path "$OLD"); NEW_PATH=$(volume_path "$NEW")
case "$OLD_PATH $NEW_PATH" in "$T/storage1-pool/"*" $T/storage2-pool/"*) ;; *) fail "volume files $OLD_PATH $NEW_PATH" ;; esac
qemu-io -f raw "$OLD_PATH" -c "write -P 0x5a 0 8M" >/dev/null || fail "cannot fill the old volume"
lv_attach "$SID" "$OLD" /dev/sdb; expect_status 200

# the disk's <source> as "NAME TLS PORT", nothing without an NBD disk
xsource() {
  local s
  s=$(virsh_lv dumpxml "$@" "$DOM" | tr -d '\n' | grep -o "<source protocol='nbd'[^>]*>[[:space:]]*<host [^>]*>") || return 0
  echo "$(echo "$s" | sed -n "s/.* name='\([^']*\)'.*<host.*/\1/p") $(echo "$s" | sed -n "s/.* tls='\([^']*\)'.*/\1/p") $(echo "$s" | sed -n "s/.*<host .*port='\([0-9]*\)'.*/\1/p")"
}
[ "$(xsource)" = "$(node_of "$OLD") yes $STORAGE1_PORT" ] || fail "live disk: $(virsh_lv dumpxml "$DOM" | grep -A4 "<disk type='network'")"
[ "$(xsource --inactive)" = "$(node_of "$OLD") yes $STORAGE1_PORT" ] || fail "definition: $(virsh_lv dumpxml --inactive "$DOM" | grep -A4 "<disk type='network'")"
CI=$(reg_sql "SELECT connection_info FROM attachments WHERE server_id='$SID'")
[ "$(echo "$CI" | jq -r '[.driver_volume_type, .data.storage.host, (.data.tls | tostring), .data.uri] | join(" ")')" = \
  "nbd storage1 true nbds://127.0.0.1:$STORAGE1_PORT/$(node_of "$OLD")" ] || fail "connection_info $CI"
[ "$(on_storage storage1 exports)" = "$(node_of "$OLD")" ] || fail "storage1 exports $(on_storage storage1 exports)"
[ -z "$(on_storage storage2 exports)" ] || fail "storage2 exports $(on_storage storage2 exports)"
if nbdinfo --size "nbd://127.0.0.1:$STORAGE1_PORT/$(node_of "$OLD")" >/dev/null 2>&1; then
  fail "storage1 served a client without TLS"
fi

lv_alias
lv_qemu_write 0x3c 8
lv_range_check "$OLD_PATH" 0x3c 8 || fail "QEMU's write is not in storage1's file"

swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body") $(grep swap "$T/api.log" | tail -5)"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(xsource)" = "$(node_of "$NEW") yes $STORAGE2_PORT" ] || fail "live disk after the swap: $(virsh_lv dumpxml "$DOM" | grep -A4 "<disk type='network'")"
[ "$(xsource --inactive)" = "$(node_of "$NEW") yes $STORAGE2_PORT" ] || fail "definition after the swap: $(virsh_lv dumpxml --inactive "$DOM" | grep -A4 "<disk type='network'")"
[ -z "$(on_storage storage1 exports)" ] || fail "storage1 still exports $(on_storage storage1 exports)"
[ -z "$(on_storage storage1 nodes)" ] || fail "storage1 still has nodes $(on_storage storage1 nodes)"
[ "$(on_storage storage2 exports)" = "$(node_of "$NEW")" ] || fail "storage2 exports $(on_storage storage2 exports)"
CI=$(reg_sql "SELECT connection_info FROM attachments WHERE server_id='$SID'")
[ "$(echo "$CI" | jq -r '[.driver_volume_type, .data.storage.host, .data.export_name, .data.uri] | join(" ")')" = \
  "nbd storage2 $(node_of "$NEW") nbds://127.0.0.1:$STORAGE2_PORT/$(node_of "$NEW")" ] || fail "connection_info after the swap $CI"
file_check "$NEW_PATH" 0x5a 8
lv_range_check "$NEW_PATH" 0x3c 8 || fail "the new volume lacks QEMU's write before the swap"
lv_qemu_write 0x5d 16
lv_range_check "$NEW_PATH" 0x5d 16 || fail "the new volume lacks QEMU's write after the swap"
lv_range_check "$OLD_PATH" 0 16 || fail "QEMU's write after the swap reached the old volume"

api "$ADMIN_TOKEN" DELETE "/v2.1/servers/$SID/os-volume_attachments/$NEW" >/dev/null; expect_status 202
for _ in $(seq 100); do [ "$(volume_field "$NEW" status)" = available ] && break; sleep 0.1; done
[ "$(volume_field "$NEW" status)" = available ] || fail "new volume is $(volume_field "$NEW" status)"
[ -z "$(xsource)" ] || fail "still attached live"
[ -z "$(xsource --inactive)" ] || fail "still in the definition"
for h in storage1 storage2; do
  [ -z "$(on_storage $h exports)" ] || fail "$h still exports $(on_storage $h exports)"
  [ -z "$(on_storage $h nodes)" ] || fail "$h still has nodes $(on_storage $h nodes)"
done
echo ok
