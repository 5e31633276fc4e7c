#!/usr/bin/env bash
# POST /volumes takes Cinder's older spellings display_name and
# display_description (Tempest's compute tests send them); name and
# description win when a request has both.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
PID_DEMO=$(project_id demo)
api "$tok" POST "/v3/$PID_DEMO/volumes" \
  '{"volume":{"size":1,"display_name":"old-name","display_description":"old-desc"}}' >/dev/null
expect_status 202
jq -e '.volume | .name == "old-name" and .description == "old-desc"' "$T/last.body" >/dev/null \
  || fail "display_* not taken: $(cat "$T/last.body")"
VID=$(jq -r .volume.id "$T/last.body")
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" | jq -e '.volume.name == "old-name"' >/dev/null \
  || fail "show: $(cat "$T/last.body")"
api "$tok" POST "/v3/$PID_DEMO/volumes" \
  '{"volume":{"size":1,"name":"new","display_name":"old","description":"d","display_description":"od"}}' >/dev/null
expect_status 202
jq -e '.volume | .name == "new" and .description == "d"' "$T/last.body" >/dev/null \
  || fail "name should win over display_name: $(cat "$T/last.body")"
api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"display_name":7}}' >/dev/null
expect_fault 400 badRequest
