#!/usr/bin/env bash
# Cinder's os-set_bootable: 200, the flag shows as "bootable": "true" or
# "false" in the volume's views and survives a restart; a value that is not
# a boolean is refused (400) and a reader may not set it (403).
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
act() { api "$1" POST "/v3/$PID_DEMO/volumes/$VID/action" "$2" >/dev/null; }
bootable() { api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null; jq -r .volume.bootable "$T/last.body"; }
[ "$(bootable)" = false ] || fail "new volume bootable"
act "$tok" '{"os-set_bootable": {"bootable": true}}'; expect_status 200
[ "$(bootable)" = true ] || fail "not bootable after set"
api_restart
tok=$(api_token alice)
[ "$(bootable)" = true ] || fail "bootable lost across a restart"
act "$tok" '{"os-set_bootable": {"bootable": "false"}}'; expect_status 200
[ "$(bootable)" = false ] || fail "still bootable"
act "$tok" '{"os-set_bootable": {"bootable": "sometimes"}}'; expect_fault 400 badRequest
act "$tok" '{"os-set_bootable": {}}'; expect_fault 400 badRequest
reader=$(api_token reader)
act "$reader" '{"os-set_bootable": {"bootable": true}}'
expect_fault 403 forbidden "Policy doesn't allow volume:update to be performed."
