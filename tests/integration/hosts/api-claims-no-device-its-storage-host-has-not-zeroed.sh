#!/usr/bin/env bash
# A block pool its storage host manages: a device handed back is claimed
# for no volume until the host has zeroed it, whatever the registry says.
# The device (a loop device given to storage1 as --pool-device) holds a
# volume whose data is on it; it is made read-only, so the host's wipe
# after the delete cannot end ("wipe-failed"). The volume's record is
# gone, yet the next volume finds no free device and the pool reports no
# free capacity; once the device is writable and the operator wipes it
# again (x-volswap-pool-wipe), it is zeroed and the next volume gets it.
. "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"
command -v losetup >/dev/null || skip "losetup not installed"
truncate -s 1G "$T/dev.img"
LOOP=$(losetup -f --show "$T/dev.img" 2>/dev/null) || skip "losetup cannot attach a loop device here"
trap 'rc=$?; blockdev --setrw "$LOOP" 2>/dev/null; losetup -d "$LOOP" 2>/dev/null; (exit $rc); hosts_cleanup' EXIT
HOST_OWN_POOL[storage1]=1
HOST_POOL_DEVICES[storage1]=$LOOP
host_volswapd storage1 "$NS_SUBNET.21" --pool-device "$LOOP" --state "$T/storage1.state"
host_volswapd compute1 "$NS_SUBNET.11"
hosts_api_cluster compute1 storage1

device_state() {
  host_qmp storage1 x-volswap-query-pools | jq -r --arg p "$LOOP" '.[] | select(.path == $p) | .state'
}
wait_state() {
  local _
  for _ in $(seq 300); do [ "$(device_state)" = "$1" ] && return 0; sleep 0.1; done
  fail "device $(device_state), not $1"
}
free_gb() {
  api "$ADMIN_TOKEN" GET "/v3/$PID_DEMO/scheduler-stats/get_pools?detail=true&name=storage1@volswap%23storage1-pool" >/dev/null
  expect_status 200
  jq -r '.pools[0].capabilities.free_capacity_gb' "$T/last.body"
}

A=$(cluster_volume storage1 1)
[ "$(volume_path "$A")" = "$LOOP" ] || fail "volume on $(volume_path "$A")"
head -c $((4 << 20)) /dev/zero | tr '\0' '\245' | dd of="$LOOP" bs=1M conv=notrunc,fsync status=none
blockdev --setro "$LOOP"
api "$ADMIN_TOKEN" DELETE "/v3/$PID_DEMO/volumes/$A" >/dev/null
expect_status 202
wait_state wipe-failed
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"volume_type":"storage1-pool"}}' >/dev/null
[ "$STATUS" -ge 400 ] || fail "a volume claimed a device its host has not zeroed: $(cat "$T/last.body")"
[ "$(free_gb)" = 0 ] || fail "a device not zeroed counts as free: $(cat "$T/last.body")"

blockdev --setrw "$LOOP"
host_qmp storage1 x-volswap-pool-wipe "{\"filename\": \"$LOOP\"}" >/dev/null
wait_state ready
cmp -s -n $((4 << 20)) "$LOOP" /dev/zero || fail "the device holds the deleted volume's data"
[ "$(free_gb)" = 1 ] || fail "the zeroed device is not free: $(cat "$T/last.body")"
C=$(cluster_volume storage1 1)
[ "$(volume_path "$C")" = "$LOOP" ] || fail "the zeroed device was not handed out: $(volume_path "$C")"
echo ok
