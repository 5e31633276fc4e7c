#!/usr/bin/env bash
# A pool managed by its storage host ("managed_by": "host"): the volume's
# file is created, grown and deleted by storage1's volswapd over QMP+TLS,
# in a directory the API's machine does not have (storage1's daemon runs
# with a tmpfs of its own over it). Created: the file is on storage1 at the
# volume's size and the API's view of that directory is empty; attached to
# a server on compute1, the consumer's writes land in it; extended: it
# grows on storage1; deleted: it is gone from storage1.
. "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"
HOST_NBD_TLS=1 host_volswapd_own_pool storage1 "$NS_SUBNET.21"
host_volswapd compute1 "$NS_SUBNET.11"
hosts_api_cluster compute1 storage1
VID=$(cluster_volume storage1 1)
[ "$(volume_field "$VID" status)" = available ] || fail "volume is $(volume_field "$VID" status)"
[ "$(host_pool_ls storage1)" = "volume-$VID $((1 << 30))" ] ||
  fail "storage1's pool holds: $(host_pool_ls storage1)"
[ -z "$(ls -A "$T/storage1-pool")" ] || fail "the API's machine sees pool files: $(ls -A "$T/storage1-pool")"

SID=$(cluster_server compute1)
attach "$ADMIN_TOKEN" "$SID" "$VID"; expect_status 200
URI=$(export_uri "$ADMIN_TOKEN" "$SID" "$VID")
nbd_fill "$URI" 0x5c 4
api "$ADMIN_TOKEN" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null
expect_status 202
[ "$(volume_field "$VID" status)" = available ] || fail "after detach: $(volume_field "$VID" status)"
nsenter -t "${HOST_PIDS[storage1]}" -m -- cmp -n $((4 << 20)) "$T/storage1-pool/volume-$VID" \
  <(head -c $((4 << 20)) /dev/zero | tr '\0' '\134') ||
  fail "the consumer's writes are not in storage1's file"

api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$VID/action" '{"os-extend":{"new_size":2}}' >/dev/null
expect_status 202
[ "$(volume_field "$VID" size)" = 2 ] || fail "size is $(volume_field "$VID" size)"
[ "$(host_pool_ls storage1)" = "volume-$VID $((2 << 30))" ] ||
  fail "after extend storage1's pool holds: $(host_pool_ls storage1)"

api "$ADMIN_TOKEN" DELETE "/v3/$PID_DEMO/volumes/$VID" >/dev/null
expect_status 202
[ -z "$(host_pool_ls storage1)" ] || fail "after delete storage1's pool holds: $(host_pool_ls storage1)"
expect_clean storage1
expect_clean compute1
echo ok
