#!/usr/bin/env bash
# The servers name filter is a regular expression from any reader, and no
# pattern may cost more than a bounded amount: a backtracking pattern with
# backreferences and a huge counted repetition are refused with 400, the
# nested-star pattern that spins a backtracking engine is answered at once
# against a name that nearly matches it, and the API keeps serving.
. "$(dirname "$0")/lib.sh"
api_setup
alice=$(api_token alice)
reader=$(api_token reader)
long=$(printf 'a%.0s' $(seq 60))
api "$alice" POST /v2.1/servers "{\"server\":{\"name\":\"$long\"}}" >/dev/null; expect_status 202
api "$alice" POST /v2.1/servers '{"server":{"name":"web-1"}}' >/dev/null; expect_status 202
q() { jq -rn --arg v "$1" '$v|@uri'; }
# a backtracking engine never returns from this one (curl gives up first)
api "$reader" GET "/v2.1/servers/detail?name=$(q '((a*)*)*\2\1b')" "" -m 20 >/dev/null
expect_fault 400 badRequest "backreferences"
api "$reader" GET "/v2.1/servers/detail?name=$(q '(.*){1,32000}[bc]')" "" -m 20 >/dev/null
expect_fault 400 badRequest "repeat count too large"
api "$reader" GET "/v2.1/servers/detail?name=$(q '((a*)*)*c')" "" -m 20 >/dev/null
expect_status 200
[ "$(jq '.servers | length' "$T/last.body")" = 0 ] || fail "nothing should match: $(cat "$T/last.body")"
api "$reader" GET "/v2.1/servers?name=$(q '^(db|web)-[0-9]+$')" "" -m 20 >/dev/null
expect_status 200
[ "$(jq -r '[.servers[].name] | join(",")' "$T/last.body")" = web-1 ] || fail "$(cat "$T/last.body")"
api "$reader" GET /v2.1 "" -m 20 >/dev/null; expect_status 200
echo PASS
