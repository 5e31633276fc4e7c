#!/usr/bin/env bash
# Nova's server-metadata API: metadata given at create is shown by the
# server; GET all and one, POST merges, PUT replaces, PUT KEY sets one item
# (400 when the body names another key or several), DELETE KEY is 204 then
# 404 "Metadata item was not found". Bad keys are 400, a reader may read
# but not write (403), a locked server refuses its owner (409), and more
# than 128 items is Nova's 403.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
api "$tok" POST /v2.1/servers '{"server":{"name":"srv","metadata":{"role":"db"}}}' >/dev/null
expect_status 202
SID=$(jq -r .server.id "$T/last.body")
M=/v2.1/servers/$SID/metadata
api "$tok" GET "/v2.1/servers/$SID" >/dev/null
jq -e '.server.metadata == {"role": "db"}' "$T/last.body" >/dev/null || fail "show: $(cat "$T/last.body")"
api "$tok" POST "$M" '{"metadata":{"tier":"gold","zone:a":"x y"}}' >/dev/null; expect_status 200
jq -e '.metadata == {"role":"db","tier":"gold","zone:a":"x y"}' "$T/last.body" >/dev/null \
  || fail "merge: $(cat "$T/last.body")"
api "$tok" GET "$M/tier" >/dev/null; expect_status 200
jq -e '. == {"meta":{"tier":"gold"}}' "$T/last.body" >/dev/null || fail "show item: $(cat "$T/last.body")"
api "$tok" PUT "$M/tier" '{"meta":{"tier":"silver"}}' >/dev/null; expect_status 200
jq -e '. == {"meta":{"tier":"silver"}}' "$T/last.body" >/dev/null || fail "put item: $(cat "$T/last.body")"
api "$tok" PUT "$M/tier" '{"meta":{"other":"v"}}' >/dev/null
expect_fault 400 badRequest "Request body and URI mismatch"
api "$tok" PUT "$M/tier" '{"meta":{"tier":"a","b":"c"}}' >/dev/null
expect_fault 400 badRequest "Request body contains too many items"
api "$tok" PUT "$M" '{"metadata":{"only":"this"}}' >/dev/null; expect_status 200
jq -e '.metadata == {"only":"this"}' "$T/last.body" >/dev/null || fail "replace: $(cat "$T/last.body")"
api "$tok" GET "$M" >/dev/null; expect_status 200
jq -e '.metadata == {"only":"this"}' "$T/last.body" >/dev/null || fail "after replace: $(cat "$T/last.body")"
api "$tok" DELETE "$M/only" >/dev/null; expect_status 204
[ ! -s "$T/last.body" ] || fail "204 with a body"
api "$tok" DELETE "$M/only" >/dev/null
expect_fault 404 itemNotFound "Metadata item was not found"
api "$tok" GET "$M/only" >/dev/null
expect_fault 404 itemNotFound "Metadata item was not found"
api "$tok" POST "$M" '{"metadata":{"bad/key":"v"}}' >/dev/null
expect_fault 400 badRequest "Additional properties are not allowed ('bad/key' was unexpected)"
api "$tok" POST "$M" '{"metadata":{"k":5}}' >/dev/null
expect_fault 400 badRequest "is not of type 'string'"
reader=$(api_token reader)
api "$reader" GET "$M" >/dev/null; expect_status 200
api "$reader" POST "$M" '{"metadata":{"a":"b"}}' >/dev/null
expect_fault 403 forbidden "Policy doesn't allow os_compute_api:server-metadata:create to be performed."
api "$tok" POST "/v2.1/servers/$SID/action" '{"lock": null}' >/dev/null; expect_status 202
api "$tok" POST "$M" '{"metadata":{"a":"b"}}' >/dev/null
expect_fault 409 conflictingRequest "Instance $SID is locked"
api "$tok" POST "/v2.1/servers/$SID/action" '{"unlock": null}' >/dev/null; expect_status 202
many=$(jq -cn '[range(129)] | map({key: "k\(.)", value: "v"}) | from_entries | {metadata: .}')
api "$tok" PUT "$M" "$many" >/dev/null
expect_fault 403 forbidden "Maximum number of metadata items exceeds 128"
api "$tok" GET "$M" >/dev/null
jq -e '.metadata == {}' "$T/last.body" >/dev/null || fail "a refused replace changed items: $(cat "$T/last.body")"
echo ok
