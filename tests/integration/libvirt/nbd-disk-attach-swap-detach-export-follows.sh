#!/usr/bin/env bash
# On a libvirt host whose volumes a volswapd serves (the host's config has
# its qmp and nbd), a volume is attached to the domain as a network disk
# on the volswapd's NBD export of the volume (a unix socket QEMU reaches
# as libvirt-qemu through the socket's group), connection_info says
# "nbd", and a swap copies to the new volume's own export: the live disk
# and the persistent definition then name the new export, the old export
# is gone, the data moved, and a detach leaves the volswapd no export.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
LV_NBD=1 lv_setup
lv_nbd_disk vs-nbd-$$
[ "$(nbd_name)" = "$(node_of "$OLD")" ] || fail "live disk: $(virsh_lv dumpxml "$DOM" | grep -A3 "<disk")"
[ "$(nbd_name --inactive)" = "$(node_of "$OLD")" ] || fail "definition: $(virsh_lv dumpxml --inactive "$DOM" | grep -A3 "<disk")"
CI=$(reg_sql "SELECT connection_info FROM attachments WHERE server_id='$SID'")
[ "$(echo "$CI" | jq -r .driver_volume_type)" = nbd ] || fail "connection_info $CI"
[ "$(echo "$CI" | jq -r .data.socket)" = "$T/nbd.sock" ] || fail "connection_info $CI"
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body") $(tail -5 "$T/api.log")"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(nbd_name)" = "$(node_of "$NEW")" ] || fail "live disk after swap: $(virsh_lv dumpxml "$DOM" | grep -A3 "<disk")"
[ "$(nbd_name --inactive)" = "$(node_of "$NEW")" ] || fail "definition after swap"
[ "$(exports)" = "$(node_of "$NEW")" ] || fail "volswapd exports after swap: $(exports)"
CI=$(reg_sql "SELECT connection_info FROM attachments WHERE server_id='$SID'")
[ "$(echo "$CI" | jq -r .data.export_name)" = "$(node_of "$NEW")" ] || fail "connection_info after swap $CI"
file_check "$NEW_PATH" 0x5a 16
api "$ADMIN_TOKEN" DELETE "/v2.1/servers/$SID/os-volume_attachments/$NEW" >/dev/null; expect_status 202
for _ in $(seq 100); do [ "$(volume_field "$NEW" status)" = available ] && break; sleep 0.1; done
[ "$(volume_field "$NEW" status)" = available ] || fail "new volume is $(volume_field "$NEW" status)"
[ -z "$(nbd_name)" ] || fail "still attached live"
[ -z "$(exports)" ] || fail "volswapd still exports $(exports)"
echo ok
