#!/usr/bin/env bash
# POST /servers takes Nova's accessIPv4, accessIPv6 and adminPass: the
# addresses are checked (400 for one that is not of its family) and shown
# by the server's views, "" when not given; the password is taken and not
# shown back (there is no guest to set it in, as Nova with
# enable_instance_password off).
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
api "$tok" POST /v2.1/servers '{"server":{"name":"a","accessIPv6":"2001:2001::3","adminPass":"s3cret"}}' >/dev/null
expect_status 202
jq -e '.server | has("adminPass") | not' "$T/last.body" >/dev/null || fail "adminPass shown: $(cat "$T/last.body")"
SID=$(jq -r .server.id "$T/last.body")
api "$tok" GET "/v2.1/servers/$SID" >/dev/null; expect_status 200
jq -e '.server | .accessIPv6 == "2001:2001::3" and .accessIPv4 == ""' "$T/last.body" >/dev/null \
  || fail "show: $(cat "$T/last.body")"
api "$tok" POST /v2.1/servers '{"server":{"name":"b","accessIPv4":"192.0.2.7","accessIPv6":"::babe:202:202"}}' >/dev/null
expect_status 202
api "$tok" GET /v2.1/servers/detail >/dev/null; expect_status 200
jq -e '[.servers[] | select(.name == "b")][0] | .accessIPv4 == "192.0.2.7" and .accessIPv6 == "::babe:202:202"' \
  "$T/last.body" >/dev/null || fail "detail: $(cat "$T/last.body")"
api "$tok" POST /v2.1/servers '{"server":{"name":"c","accessIPv4":"2001:db8::1"}}' >/dev/null
expect_fault 400 badRequest "Invalid input for field/attribute accessIPv4"
api "$tok" POST /v2.1/servers '{"server":{"name":"c","accessIPv6":"192.0.2.1"}}' >/dev/null
expect_fault 400 badRequest "Invalid input for field/attribute accessIPv6"
api "$tok" POST /v2.1/servers '{"server":{"name":"c","adminPass":5}}' >/dev/null
expect_fault 400 badRequest
