#!/usr/bin/env bash
# nova volume-update across storage hosts: the server is on compute1, its
# volume on storage1, the new volume on storage2 (both exports require
# TLS). While fio writes 4k random blocks with crc32c through compute1's
# export, the API has storage2 export the new volume, compute1 open it
# over NBD and mirror the old nbd node onto it, and pivot. The swap
# completes, fio's read-back verifies, and a verify-only pass on the new
# volume's file on storage2 finds every write. storage1 holds nothing
# afterwards, storage2 only the new volume's export and node, compute1
# only the new nbd node and the consumer's export; connection_info names
# storage2. The detach then leaves nothing on any host.
. "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"
hosts_compute_and_two_storage
hosts_cross_storage_pair
fio_start "$URI" 32
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
kill -0 "$FIO_PID" 2>/dev/null || echo "note: fio ended before the swap did"
fio_wait
fio_verify_file "$T/storage2-pool/volume-$NEW" 32
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
node=vol-$(echo "$NEW" | tr -d - | cut -c1-26)
[ "$(export_uri "$ADMIN_TOKEN" "$SID" "$NEW")" = "$URI" ] || fail "the consumer's URI changed"
[ "$(jq -r .attachment.connection_info.data.storage.host "$T/last.body")" = storage2 ] ||
  fail "connection_info: $(jq -c .attachment.connection_info "$T/last.body")"
expect_clean storage1
expect_clean storage2 "$(printf 'export sx-%s\nnode %s' "$node" "$node")"
eid=$(reg_sql "SELECT export_id FROM attachments WHERE server_id='$SID'")
expect_clean compute1 "$(printf 'export %s\nnode %s' "$eid" "$node")"
api "$ADMIN_TOKEN" DELETE "/v2.1/servers/$SID/os-volume_attachments/$NEW" >/dev/null
expect_status 202
for h in storage1 storage2 compute1; do expect_clean "$h"; done
echo ok
