#!/usr/bin/env bash
# A detach whose storage host does not answer does what Nova and Cinder
# do: the consumer's side goes (compute1's export and nbd node), the
# attachment goes and the volume is available, and the storage host's
# export (sx-*) and node, which the detach could not remove, are removed
# by the host reconciler once storage1's link is back.
. "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"
HOST_NBD_TLS=1 host_volswapd storage1 "$NS_SUBNET.21"
host_volswapd compute1 "$NS_SUBNET.11"
hosts_api_cluster compute1 storage1
VID=$(cluster_volume storage1 1)
SID=$(cluster_server compute1)
attach "$ADMIN_TOKEN" "$SID" "$VID"; expect_status 200
node=vol-$(echo "$VID" | tr -d - | cut -c1-26)
expect_clean storage1 "$(printf 'export sx-%s\nnode %s' "$node" "$node")"

ns_link storage1 down
api "$ADMIN_TOKEN" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null
expect_status 202
[ "$(volume_field "$VID" status)" = available ] || fail "after detach: $(volume_field "$VID" status)"
[ -z "$(attached_volume "$SID")" ] || fail "the attachment stays: $(attached_volume "$SID")"
expect_clean compute1
grep -q "storage host storage1 keeps its export of $node" "$T/api.log" ||
  fail "the detach reached storage1: the cut missed it"
# storage1 itself never heard of the detach
expect_clean storage1 "$(printf 'export sx-%s\nnode %s' "$node" "$node")"

ns_link storage1 up
for _ in $(seq 300); do
  [ -z "$(host_leftovers storage1)" ] && break
  sleep 0.2
done
expect_clean storage1
grep -q "reconcile: host storage1: storage export sx-$node" "$T/api.log" ||
  fail "something else than the reconciler removed the export"
echo ok
