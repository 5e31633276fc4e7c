#!/usr/bin/env bash
# Cinder's state actions, as Nova drives them around attach, detach and
# swap: os-reserve / os-unreserve, os-begin_detaching / os-roll_detaching
# move status with Cinder's rules and refusals (400 "Invalid volume: ..."),
# and the admin-only os-reset_status repairs a volume's three status fields.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
adm=$(api_token admin)
make_volume_and_server "$tok"
act() { api "$1" POST "/v3/$PID_DEMO/volumes/$VID/action" "$2" >/dev/null; }
status() { echo "$(api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" | jq -r .volume.status)/$(attach_status "$VID")"; }
act "$tok" '{"os-reserve": null}'; expect_status 202
[ "$(status)" = attaching/detached ] || fail "reserve: $(status)"
act "$tok" '{"os-reserve": {}}'
expect_fault 400 badRequest "Invalid volume: Volume status must be available to reserve, but the status is attaching."
act "$tok" '{"os-unreserve": null}'; expect_status 202
[ "$(status)" = available/detached ] || fail "unreserve: $(status)"
act "$tok" '{"os-begin_detaching": null}'
expect_fault 400 badRequest "Unable to detach volume."
attach "$tok" "$SID" "$VID"; expect_status 200
act "$tok" '{"os-begin_detaching": null}'; expect_status 202
[ "$(status)" = detaching/attached ] || fail "begin_detaching: $(status)"
act "$tok" '{"os-roll_detaching": null}'; expect_status 202
[ "$(status)" = in-use/attached ] || fail "roll_detaching: $(status)"
act "$tok" '{"os-reserve": {"x": 1}}'; expect_fault 400 badRequest
act "$tok" '{"os-reset_status": {"status": "error"}}'
expect_fault 403 forbidden "Policy doesn't allow volume_extension:volume_admin_actions:reset_status to be performed."
act "$adm" '{"os-reset_status": {"status": "weird"}}'; expect_fault 400 badRequest
act "$adm" '{"os-reset_status": {"colour": "red"}}'; expect_fault 400 badRequest
act "$adm" '{"os-reset_status": {"status": "error", "migration_status": "error"}}'; expect_status 202
api "$adm" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume.status == "error" and .volume.migration_status == "error"' "$T/last.body" >/dev/null || fail "reset_status $(cat "$T/last.body")"
[ "$(attach_status "$VID")" = attached ] || fail "reset_status changed attach_status"
reader=$(api_token reader)
act "$reader" '{"os-unreserve": null}'
expect_fault 403 forbidden "Policy doesn't allow volume_extension:volume_actions:unreserve to be performed."
