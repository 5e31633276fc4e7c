#!/usr/bin/env bash
# Extending an in-use volume (Cinder 3.42) is recorded on its server as
# Nova records Cinder's volume-extended event: instance action
# extend_volume, with event compute_extend_volume Success once the host
# has grown the volume (Tempest's test_extend_attached_volume waits for it).
export VOLSWAP_TEST_HOST_DAEMON=volswapd
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
adm=$(api_token admin)
make_volume_and_server "$tok"
attach "$tok" "$SID" "$VID"; expect_status 200
api "$tok" POST "/v3/$PID_DEMO/volumes/$VID/action" '{"os-extend":{"new_size":2}}' \
  -H 'OpenStack-API-Version: volume 3.42' >/dev/null
expect_status 202
rid=$(header x-openstack-request-id)
api "$tok" GET "/v2.1/servers/$SID/os-instance-actions" >/dev/null; expect_status 200
jq -e --arg r "$rid" '[.instanceActions[] | select(.action == "extend_volume")] | length == 1 and .[0].request_id == $r' \
  "$T/last.body" >/dev/null || fail "actions: $(cat "$T/last.body")"
api "$adm" GET "/v2.1/servers/$SID/os-instance-actions/$rid" >/dev/null; expect_status 200
jq -e '.instanceAction.events | length == 1 and .[0].event == "compute_extend_volume"
       and .[0].result == "Success" and .[0].finish_time != null' "$T/last.body" >/dev/null \
  || fail "events: $(cat "$T/last.body")"
# an available volume's extend concerns no server
api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1}}' >/dev/null; expect_status 202
V2=$(jq -r .volume.id "$T/last.body")
api "$tok" POST "/v3/$PID_DEMO/volumes/$V2/action" '{"os-extend":{"new_size":2}}' >/dev/null; expect_status 202
api "$tok" GET "/v2.1/servers/$SID/os-instance-actions" >/dev/null
jq -e '[.instanceActions[] | select(.action == "extend_volume")] | length == 1' "$T/last.body" \
  >/dev/null || fail "actions after the detached extend: $(cat "$T/last.body")"
