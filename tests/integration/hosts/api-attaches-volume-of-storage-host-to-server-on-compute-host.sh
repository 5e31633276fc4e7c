#!/usr/bin/env bash
# Attach across hosts: a volume in storage1's pool, a server on compute1.
# The API has storage1 export the volume over NBD with TLS (client
# certificates required) and compute1 open that export as an nbd node
# (its own client certificate, reconnect-delay) and export it to the
# consumer; connection_info names compute1's export and, in data.storage,
# storage1's. fio writes 16 MiB of 4k random blocks with crc32c through the
# attachment and reads them back; a verify-only pass on the volume's file
# on storage1 finds every write. A plaintext NBD client is refused by
# storage1. The detach leaves no export and no node on either host.
. "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"
HOST_NBD_TLS=1 host_volswapd storage1 "$NS_SUBNET.21"
host_volswapd compute1 "$NS_SUBNET.11"
hosts_api_cluster compute1 storage1
VOL=$(cluster_volume storage1 1)
SID=$(cluster_server compute1)
attach "$ADMIN_TOKEN" "$SID" "$VOL"; expect_status 200
URI=$(export_uri "$ADMIN_TOKEN" "$SID" "$VOL")
case "$URI" in "nbd://$NS_SUBNET.11:10809/"*) ;; *) fail "attachment URI $URI is not compute1's" ;; esac
ci=$(jq -c .attachment.connection_info.data "$T/last.body")
[ "$(echo "$ci" | jq -r .storage.host)" = storage1 ] || fail "connection_info: $ci"
[ "$(echo "$ci" | jq -r .storage.tls)" = true ] || fail "connection_info: $ci"
[ "$(echo "$ci" | jq -r '.storage.hosts[0]')" = "$NS_SUBNET.21" ] || fail "connection_info: $ci"
node=$(echo "$ci" | jq -r .node_name)
expect_clean storage1 "$(printf 'export sx-%s\nnode %s' "$node" "$node")"
[ "$(host_qmp compute1 query-named-block-nodes | jq -r ".[] | select(.[\"node-name\"]==\"$node\") | .drv")" = nbd ] ||
  fail "compute1 does not open $node over NBD"
if nbdinfo --size "nbd://$NS_SUBNET.21:10809/$node" >/dev/null 2>&1; then
  fail "storage1 served a client without TLS"
fi
fio --name=consumer --ioengine=nbd --uri="$URI" --rw=randwrite --bs=4k --iodepth=16 \
  --size=16M --verify=crc32c --verify_fatal=1 --randrepeat=1 --verify_state_save=0 \
  --output="$T/fio.out" >"$T/fio.log" 2>&1 || { cat "$T/fio.log" "$T/fio.out" >&2; fail "fio failed"; }
api "$ADMIN_TOKEN" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VOL" >/dev/null
expect_status 202
fio_verify_file "$T/storage1-pool/volume-$VOL" 16
expect_clean storage1
expect_clean compute1
[ "$(volume_field "$VOL" status)" = available ] || fail "volume is $(volume_field "$VOL" status)"
echo ok
