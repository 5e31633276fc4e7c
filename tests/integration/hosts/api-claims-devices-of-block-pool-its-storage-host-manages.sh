#!/usr/bin/env bash
# A block pool its storage host manages ("managed_by": "host"): the devices
# (here two files of 1 and 2 GiB standing for them, in a directory only
# storage1's volswapd sees, given as --pool-device) are measured by the
# host, and claimed by the registry: the first 1 GiB volume gets the 1 GiB
# device, a 2 GiB one the other, a third finds none free. Capacity is the
# host's (get_pools: 3 GiB, 0 free). The claimed device is what the
# consumer on compute1 writes; deleting the volume hands it back to the
# host, which zeroes it ("wiping") before the next volume claims it again.
. "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"
d=$T/storage1-pool
HOST_POOL_DEVICES[storage1]="$d/dev0 $d/dev1"
HOST_NBD_TLS=1 host_volswapd_own_pool storage1 "$NS_SUBNET.21" --pool-device "$d/dev0" --pool-device "$d/dev1"
nsenter -t "${HOST_PIDS[storage1]}" -m -- truncate -s 1G "$d/dev0"
nsenter -t "${HOST_PIDS[storage1]}" -m -- truncate -s 2G "$d/dev1"
host_volswapd compute1 "$NS_SUBNET.11"
hosts_api_cluster compute1 storage1
[ ! -e "$d/dev0" ] || fail "the API's machine sees the devices"

A=$(cluster_volume storage1 1)
[ "$(volume_path "$A")" = "$d/dev0" ] || fail "1 GiB volume on $(volume_path "$A")"
B=$(cluster_volume storage1 2)
[ "$(volume_path "$B")" = "$d/dev1" ] || fail "2 GiB volume on $(volume_path "$B")"
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"volume_type":"storage1-pool"}}' >/dev/null
[ "$STATUS" -ge 400 ] || fail "a third volume found a device: $STATUS $(cat "$T/last.body")"
api "$ADMIN_TOKEN" GET "/v3/$PID_DEMO/scheduler-stats/get_pools?detail=true&name=storage1@volswap%23storage1-pool" >/dev/null
expect_status 200
jq -e '.pools[0].capabilities.total_capacity_gb == 3 and .pools[0].capabilities.free_capacity_gb == 0' \
  "$T/last.body" >/dev/null || fail "capacity: $(cat "$T/last.body")"

SID=$(cluster_server compute1)
attach "$ADMIN_TOKEN" "$SID" "$A"; expect_status 200
nbd_fill "$(export_uri "$ADMIN_TOKEN" "$SID" "$A")" 0x5c 4
api "$ADMIN_TOKEN" DELETE "/v2.1/servers/$SID/os-volume_attachments/$A" >/dev/null
expect_status 202
nsenter -t "${HOST_PIDS[storage1]}" -m -- cmp -n $((4 << 20)) "$d/dev0" \
  <(head -c $((4 << 20)) /dev/zero | tr '\0' '\134') || fail "the consumer's writes are not on dev0"

api "$ADMIN_TOKEN" DELETE "/v3/$PID_DEMO/volumes/$A" >/dev/null
expect_status 202
# the host zeroes the device it got back before anyone may claim it
for _ in $(seq 300); do
  state=$(host_qmp storage1 x-volswap-query-pools | jq -r --arg p "$d/dev0" '.[] | select(.path == $p) | .state')
  [ "$state" = ready ] && break
  [ "$state" = wiping ] || fail "dev0 is $state"
  sleep 0.1
done
[ "$state" = ready ] || fail "dev0 still wiping"
nsenter -t "${HOST_PIDS[storage1]}" -m -- cmp -n $((4 << 20)) "$d/dev0" /dev/zero ||
  fail "dev0 holds the deleted volume's data"
C=$(cluster_volume storage1 1)
[ "$(volume_path "$C")" = "$d/dev0" ] || fail "dev0 was not handed back: $(volume_path "$C")"
[ "$(host_pool_ls storage1)" = "$(printf 'dev0 %s\ndev1 %s' $((1 << 30)) $((2 << 30)))" ] ||
  fail "storage1's devices: $(host_pool_ls storage1)"
for h in storage1 compute1; do expect_clean "$h"; done
echo ok
