#!/usr/bin/env bash
# A locked server (POST /servers/{id}/action {"lock": null}) refuses attach
# and detach from its non-admin users with Nova's 409; admin is not bound by
# the lock; after unlock the owner attaches again. Unknown actions are 400.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
adm=$(api_token admin)
make_volume_and_server "$tok"
api "$tok" POST "/v2.1/servers/$SID/action" '{"lock": null}' >/dev/null; expect_status 202
api "$tok" GET "/v2.1/servers/$SID" "" -H 'OpenStack-API-Version: compute 2.9' >/dev/null
jq -e '.server.locked == true' "$T/last.body" >/dev/null || fail "not locked"
attach "$tok" "$SID" "$VID"
expect_fault 409 conflictingRequest "Instance $SID is locked"
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume.status == "available"' "$T/last.body" >/dev/null || fail "refused attach changed the volume"
attach "$adm" "$SID" "$VID"; expect_status 200
api "$tok" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null
expect_fault 409 conflictingRequest "Instance $SID is locked"
api "$tok" POST "/v2.1/servers/$SID/action" '{"unlock": null}' >/dev/null; expect_status 202
api "$tok" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null; expect_status 202
# before 2.73 Nova reads nothing of lock's argument: the reason is ignored
api "$tok" POST "/v2.1/servers/$SID/action" '{"lock": {"locked_reason": "maintenance"}}' >/dev/null
expect_status 202
api "$tok" POST "/v2.1/servers/$SID/action" '{"unlock": null}' >/dev/null; expect_status 202
api "$tok" POST "/v2.1/servers/$SID/action" '{"lock": {"locked_reason": 7}}' -H 'OpenStack-API-Version: compute 2.73' >/dev/null
expect_fault 400 badRequest
api "$tok" POST "/v2.1/servers/$SID/action" '{"lock": {"locked_reason": "maintenance"}}' -H 'OpenStack-API-Version: compute 2.73' >/dev/null
expect_status 202
api "$tok" POST "/v2.1/servers/$SID/action" '{"rescue": null}' >/dev/null
expect_fault 400 badRequest "There is no such action: rescue"
reader=$(api_token reader)
api "$reader" POST "/v2.1/servers/$SID/action" '{"unlock": null}' >/dev/null
expect_fault 403 forbidden "Policy doesn't allow os_compute_api:os-lock-server:unlock to be performed."
api "$tok" GET "/v2.1/servers/$SID/os-instance-actions" >/dev/null
jq -e '[.instanceActions[].action] | index("lock") and index("unlock")' "$T/last.body" >/dev/null || fail "lock actions not recorded"
