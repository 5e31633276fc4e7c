#!/usr/bin/env bash
# A boot from volume is checked before anything is made: an unknown
# flavor, an image, more than one server, networks, a block device that is
# not an existing volume, a volume in use or missing, a boot volume that
# is not bootable (a blank one, as Nova refuses) and two boot volumes are
# each 400, and no server is registered. A boot whose host is
# down fails with 500 and leaves no server and the volume available.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1}}' >/dev/null; expect_status 202
V2=$(jq -r .volume.id "$T/last.body")
attach "$tok" "$SID" "$VID"; expect_status 200
bdm() { echo "{\"uuid\":\"$1\",\"source_type\":\"${2:-volume}\",\"destination_type\":\"volume\",\"boot_index\":${3:-0}}"; }
api "$tok" POST /v2.1/servers "{\"server\":{\"name\":\"b\",\"block_device_mapping_v2\":[$(bdm "$V2")]}}" >/dev/null
expect_fault 400 badRequest "Block Device $V2 is not bootable."
api "$tok" POST "/v3/$PID_DEMO/volumes/$V2/action" '{"os-set_bootable":{"bootable":true}}' >/dev/null
expect_status 200
create() {  # create EXTRA-MEMBERS -> STATUS
  api "$tok" POST /v2.1/servers "{\"server\":{\"name\":\"b\",\"flavorRef\":\"volswap\"$1}}" >/dev/null
}
create ",\"flavorRef\":\"m1.tiny\""                       # duplicate key: malformed
expect_status 400
api "$tok" POST /v2.1/servers "{\"server\":{\"name\":\"b\",\"flavorRef\":\"m1.tiny\",\"block_device_mapping_v2\":[$(bdm "$V2")]}}" >/dev/null
expect_fault 400 badRequest "Flavor m1.tiny could not be found."
create ",\"imageRef\":\"cirros\",\"block_device_mapping_v2\":[$(bdm "$V2")]"
expect_fault 400 badRequest "Image cirros could not be found."
create ",\"max_count\":2,\"block_device_mapping_v2\":[$(bdm "$V2")]"
expect_fault 400 badRequest "several servers at once with boot volumes"
create ",\"networks\":[{\"uuid\":\"net\"}],\"block_device_mapping_v2\":[$(bdm "$V2")]"
expect_fault 400 badRequest "networks must be"
create ",\"block_device_mapping_v2\":[$(bdm "$V2" image)]"
expect_fault 400 badRequest "boots from existing volumes only"
create ",\"block_device_mapping_v2\":[$(bdm "$VID")]"
expect_fault 400 badRequest "Invalid volume: volume $VID is in-use"
create ",\"block_device_mapping_v2\":[$(bdm 11111111-2222-4333-8444-555555555555)]"
expect_fault 400 badRequest "failed to get volume"
create ",\"block_device_mapping_v2\":[$(bdm "$V2"),$(bdm "$V2")]"
expect_fault 400 badRequest "Boot sequence"
api "$tok" GET /v2.1/servers >/dev/null
jq -e '.servers | length == 1' "$T/last.body" >/dev/null || fail "a refused boot registered a server"
kill "$HOST_PID"; wait "$HOST_PID" 2>/dev/null || true; HOST_PID=
rm -f "$T/qmp.sock" "$T/nbd.sock"
create ",\"block_device_mapping_v2\":[$(bdm "$V2")]"
expect_fault 500 computeFault "not reachable over QMP"
api "$tok" GET /v2.1/servers >/dev/null
jq -e '.servers | length == 1' "$T/last.body" >/dev/null || fail "a failed boot left a server"
api "$tok" GET "/v3/$PID_DEMO/volumes/$V2" >/dev/null
jq -e '.volume.status == "available"' "$T/last.body" >/dev/null || fail "volume: $(cat "$T/last.body")"
echo ok
