#!/usr/bin/env bash
# os-instance-actions records create, attach_volume and detach_volume with
# the request ids the API returned; show carries the compute events with
# their results; traceback and host are for admin only; updated_at appears
# from 2.58, hostId from 2.62; an unknown request id is 404.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
adm=$(api_token admin)
make_volume_and_server "$tok"
attach "$tok" "$SID" "$VID"; expect_status 200
attach_rid=$(header x-openstack-request-id)
api "$tok" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null; expect_status 202
detach_rid=$(header x-compute-request-id)
api "$tok" GET "/v2.1/servers/$SID/os-instance-actions" >/dev/null; expect_status 200
jq -e '[.instanceActions[].action] | sort == ["attach_volume","create","detach_volume"]' "$T/last.body" >/dev/null || fail "actions $(cat "$T/last.body")"
jq -e "[.instanceActions[] | select(.action==\"attach_volume\") | .request_id] == [\"$attach_rid\"]" "$T/last.body" >/dev/null || fail "request id"
jq -e ".instanceActions | all(.instance_uuid == \"$SID\" and .message == null and (has(\"updated_at\") | not))" "$T/last.body" >/dev/null || fail "2.1 fields"
api "$tok" GET "/v2.1/servers/$SID/os-instance-actions" "" -H 'OpenStack-API-Version: compute 2.58' >/dev/null
jq -e '.instanceActions | all(has("updated_at"))' "$T/last.body" >/dev/null || fail "2.58 updated_at"
# member, 2.51+: events without traceback or host
api "$tok" GET "/v2.1/servers/$SID/os-instance-actions/$detach_rid" "" -H 'OpenStack-API-Version: compute 2.62' >/dev/null
expect_status 200
jq -e '.instanceAction.action == "detach_volume" and (.instanceAction.events | length == 1) and .instanceAction.events[0].event == "compute_detach_volume" and .instanceAction.events[0].result == "Success" and (.instanceAction.events[0] | has("traceback") | not) and (.instanceAction.events[0] | has("host") | not) and (.instanceAction.events[0].hostId | length == 56)' "$T/last.body" >/dev/null || fail "member show $(cat "$T/last.body")"
# member before 2.51: no events at all
api "$tok" GET "/v2.1/servers/$SID/os-instance-actions/$detach_rid" >/dev/null
jq -e '.instanceAction | has("events") | not' "$T/last.body" >/dev/null || fail "events before 2.51"
api "$adm" GET "/v2.1/servers/$SID/os-instance-actions/$attach_rid" "" -H 'OpenStack-API-Version: compute 2.84' >/dev/null
jq -e '.instanceAction.events[0] | .host == "host1" and has("traceback") and has("details")' "$T/last.body" >/dev/null || fail "admin show $(cat "$T/last.body")"
api "$tok" GET "/v2.1/servers/$SID/os-instance-actions/req-nope" >/dev/null
expect_fault 404 itemNotFound "Action for request_id req-nope on instance $SID not found"
api "$tok" GET "/v2.1/servers/00000000-0000-4000-8000-000000000000/os-instance-actions" >/dev/null
expect_fault 404 itemNotFound
