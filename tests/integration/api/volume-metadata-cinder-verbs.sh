#!/usr/bin/env bash
# Cinder's volume metadata API: metadata given at create is shown by the
# volume; GET all and one, POST merges, PUT replaces, PUT KEY sets one
# item, DELETE KEY is 200 then 404. Cinder's keys may hold '/'. Another
# project's volume is 404, a reader may read but not write, and deleting
# the volume removes its items from the registry.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
PID_DEMO=$(project_id demo)
api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"metadata":{"backup/policy":"daily"}}}' >/dev/null
expect_status 202
VID=$(jq -r .volume.id "$T/last.body")
jq -e '.volume.metadata == {"backup/policy":"daily"}' "$T/last.body" >/dev/null \
  || fail "create: $(cat "$T/last.body")"
M=/v3/$PID_DEMO/volumes/$VID/metadata
api "$tok" POST "$M" '{"metadata":{"owner":"ops"}}' >/dev/null; expect_status 200
jq -e '.metadata == {"backup/policy":"daily","owner":"ops"}' "$T/last.body" >/dev/null \
  || fail "merge: $(cat "$T/last.body")"
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume.metadata == {"backup/policy":"daily","owner":"ops"}' "$T/last.body" >/dev/null \
  || fail "show: $(cat "$T/last.body")"
api "$tok" GET "$M/owner" >/dev/null; expect_status 200
jq -e '. == {"meta":{"owner":"ops"}}' "$T/last.body" >/dev/null || fail "item: $(cat "$T/last.body")"
api "$tok" PUT "$M/owner" '{"meta":{"owner":"dev"}}' >/dev/null; expect_status 200
api "$tok" PUT "$M/owner" '{"meta":{"x":"y"}}' >/dev/null
expect_fault 400 badRequest "Request body and URI mismatch"
api "$tok" PUT "$M" '{"metadata":{"a":"1"}}' >/dev/null; expect_status 200
jq -e '.metadata == {"a":"1"}' "$T/last.body" >/dev/null || fail "replace: $(cat "$T/last.body")"
api "$tok" DELETE "$M/a" >/dev/null; expect_status 200
api "$tok" DELETE "$M/a" >/dev/null
expect_fault 404 itemNotFound "Metadata item was not found"
api "$tok" POST "$M" '{"metadata":{"no*star":"v"}}' >/dev/null
expect_fault 400 badRequest "('no*star' was unexpected)"
bob=$(api_token bob other)
api "$bob" GET "/v3/$(project_id other bob)/volumes/$VID/metadata" >/dev/null
expect_fault 404 itemNotFound "Volume $VID could not be found."
reader=$(api_token reader)
api "$reader" GET "$M" >/dev/null; expect_status 200
api "$reader" POST "$M" '{"metadata":{"a":"b"}}' >/dev/null
expect_fault 403 forbidden "Policy doesn't allow volume:create_volume_metadata to be performed."
api "$tok" POST "$M" '{"metadata":{"a":"b","c":"d"}}' >/dev/null; expect_status 200
[ "$(reg_sql "SELECT count(*) FROM metadata WHERE owner='$VID'")" = 2 ] \
  || fail "items not in the registry"
api "$tok" DELETE "/v3/$PID_DEMO/volumes/$VID" >/dev/null; expect_status 202
[ "$(reg_sql "SELECT count(*) FROM metadata WHERE owner='$VID'")" = 0 ] \
  || fail "items outlived the volume"
echo ok
