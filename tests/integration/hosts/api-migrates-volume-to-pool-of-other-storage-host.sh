#!/usr/bin/env bash
# Cinder's os-migrate_volume across backends: an in-use volume on
# storage1, its server on compute1, migrated to storage2's pool while fio
# writes 4k random blocks with crc32c through the attachment. The volume
# keeps its ID and now names storage2's host and pool; fio's read-back
# verifies and a verify-only pass on the file in storage2's pool finds
# every write; the old file is gone, storage1 holds no export or node, and
# connection_info names storage2. Detach leaves nothing on any host.
. "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"
hosts_compute_and_two_storage
hosts_api_cluster compute1 storage1 storage2
VOL=$(cluster_volume storage1 1)
SID=$(cluster_server compute1)
attach "$ADMIN_TOKEN" "$SID" "$VOL"; expect_status 200
URI=$(export_uri "$ADMIN_TOKEN" "$SID" "$VOL")
fio_start "$URI" 32
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$VOL/action" \
  '{"os-migrate_volume": {"host": "storage2@volswap#storage2-pool"}}' >/dev/null
expect_status 202
[ "$(wait_swap "$SID" "$VOL")" = completed ] || fail "migration: $(cat "$T/last.body")"
fio_wait
[ "$(volume_field "$VOL" 'migration_status')" = success ] || fail "migration_status $(volume_field "$VOL" migration_status)"
[ "$(volume_field "$VOL" '"os-vol-host-attr:host"')" = "storage2@volswap#storage2-pool" ] ||
  fail "volume host: $(volume_field "$VOL" '"os-vol-host-attr:host"')"
path=$(volume_path "$VOL")
case "$path" in "$T/storage2-pool/"*) ;; *) fail "volume path $path is not in storage2's pool" ;; esac
fio_verify_file "$path" 32
[ ! -e "$T/storage1-pool/volume-$VOL" ] || fail "the old storage is still there"
[ "$(export_uri "$ADMIN_TOKEN" "$SID" "$VOL")" = "$URI" ] || fail "the consumer's URI changed"
[ "$(jq -r .attachment.connection_info.data.storage.host "$T/last.body")" = storage2 ] ||
  fail "connection_info: $(jq -c .attachment.connection_info "$T/last.body")"
expect_clean storage1
api "$ADMIN_TOKEN" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VOL" >/dev/null
expect_status 202
for h in storage1 storage2 compute1; do expect_clean "$h"; done
echo ok
