#!/usr/bin/env bash
# Nova's os-stop, os-start and reboot on a registered consumer: the states
# Nova keeps (SHUTOFF, power state 4, no progress; ACTIVE again) and the
# instance actions it records (stop, start, reboot with their compute_*
# events); a transition from the wrong state is Nova's 409, a bad reboot
# type 400, a reader 403, a locked server 409 for its member.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
adm=$(api_token admin)
reader=$(api_token reader)
api "$tok" POST /v2.1/servers '{"server":{"name":"s"}}' >/dev/null; expect_status 202
SID=$(jq -r .server.id "$T/last.body")
act() { api "$1" POST "/v2.1/servers/$SID/action" "$2" >/dev/null; }
act "$tok" '{"os-start": null}'
expect_fault 409 conflictingRequest "Cannot 'start' instance $SID while it is in vm_state active"
act "$tok" '{"os-stop": null}'; expect_status 202
api "$tok" GET "/v2.1/servers/$SID" >/dev/null
jq -e '.server | .status == "SHUTOFF" and .["OS-EXT-STS:vm_state"] == "stopped"
       and .["OS-EXT-STS:power_state"] == 4 and (has("progress") | not)' "$T/last.body" >/dev/null \
  || fail "stopped: $(cat "$T/last.body")"
act "$tok" '{"os-stop": null}'; expect_fault 409 conflictingRequest "vm_state stopped"
act "$tok" '{"reboot": {"type": "SOFT"}}'; expect_fault 409 conflictingRequest
act "$tok" '{"reboot": {"type": "HARD"}}'; expect_status 202     # a hard reboot starts it
api "$tok" GET "/v2.1/servers/$SID" >/dev/null
jq -e '.server | .status == "ACTIVE" and .["OS-EXT-STS:power_state"] == 1 and .progress == 0' \
  "$T/last.body" >/dev/null || fail "after the hard reboot: $(cat "$T/last.body")"
act "$tok" '{"os-stop": null}'; expect_status 202
act "$tok" '{"os-start": null}'; expect_status 202
act "$tok" '{"reboot": {"type": "SOFT"}}'; expect_status 202
act "$tok" '{"reboot": {"type": "WARM"}}'; expect_fault 400 badRequest
act "$tok" '{"os-stop": 1}'; expect_fault 400 badRequest
act "$reader" '{"os-stop": null}'; expect_fault 403 forbidden "os_compute_api:servers:stop"
api "$tok" GET "/v2.1/servers/$SID/os-instance-actions" >/dev/null
jq -e '[.instanceActions[].action] | sort == ["create","reboot","reboot","start","stop","stop"]' \
  "$T/last.body" >/dev/null || fail "actions: $(cat "$T/last.body")"
rid=$(jq -r '[.instanceActions[] | select(.action == "stop")][0].request_id' "$T/last.body")
api "$adm" GET "/v2.1/servers/$SID/os-instance-actions/$rid" >/dev/null
jq -e '.instanceAction.events[0] | .event == "compute_stop_instance" and .result == "Success"' \
  "$T/last.body" >/dev/null || fail "stop events: $(cat "$T/last.body")"
act "$adm" '{"lock": null}'; expect_status 202
act "$tok" '{"os-stop": null}'; expect_fault 409 conflictingRequest "is locked"
