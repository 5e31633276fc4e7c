#!/usr/bin/env bash
# PUT /servers/{id} changes a server's name, access addresses and (2.19)
# description, as Nova's update; the answer and every later view show
# them. A blank name, a name with white space at an end, a description
# before 2.19 or another project's server are refused; GET .../ips is empty.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
bob=$(api_token bob other)
api "$tok" POST /v2.1/servers '{"server":{"name":"old"}}' >/dev/null; expect_status 202
SID=$(jq -r .server.id "$T/last.body")
api "$tok" PUT "/v2.1/servers/$SID" '{"server":{"name":"new","accessIPv4":"1.1.1.1","accessIPv6":"::babe:202:202"}}' >/dev/null
expect_status 200
jq -e '.server | .name == "new" and .accessIPv4 == "1.1.1.1" and .accessIPv6 == "::babe:202:202"' \
  "$T/last.body" >/dev/null || fail "update answer: $(cat "$T/last.body")"
api "$tok" PUT "/v2.1/servers/$SID" '{"server":{"description":"db"}}' -H 'OpenStack-API-Version: compute 2.19' >/dev/null
expect_status 200
api "$tok" GET "/v2.1/servers/$SID" "" -H 'OpenStack-API-Version: compute 2.19' >/dev/null
jq -e '.server | .name == "new" and .description == "db" and .accessIPv4 == "1.1.1.1"' "$T/last.body" \
  >/dev/null || fail "show: $(cat "$T/last.body")"
api "$tok" GET /v2.1/servers >/dev/null
jq -e --arg s "$SID" '.servers[] | select(.id == $s) | .name == "new"' "$T/last.body" >/dev/null \
  || fail "list: $(cat "$T/last.body")"
api "$tok" PUT "/v2.1/servers/$SID" '{"server":{"description":"x"}}' >/dev/null
expect_fault 400 badRequest "'description' was unexpected"
api "$tok" PUT "/v2.1/servers/$SID" '{"server":{"name":""}}' >/dev/null; expect_fault 400 badRequest
api "$tok" PUT "/v2.1/servers/$SID" '{"server":{"name":" pad"}}' >/dev/null; expect_fault 400 badRequest
api "$tok" PUT "/v2.1/servers/$SID" '{"server":{"accessIPv4":"::1"}}' >/dev/null; expect_fault 400 badRequest
api "$tok" POST /v2.1/servers '{"server":{"name":""}}' >/dev/null; expect_fault 400 badRequest
api "$bob" PUT "/v2.1/servers/$SID" '{"server":{"name":"mine"}}' >/dev/null; expect_fault 404 itemNotFound
api "$tok" GET "/v2.1/servers/$SID/ips" >/dev/null; expect_status 200
jq -e '. == {"addresses": {}}' "$T/last.body" >/dev/null || fail "ips: $(cat "$T/last.body")"
api "$tok" GET "/v2.1/servers/$SID/ips/private" >/dev/null; expect_fault 404 itemNotFound "not a member"
