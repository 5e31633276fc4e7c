#!/usr/bin/env bash
# POST /servers registers a consumer on a host (202, Location, ACTIVE at
# once); list, detail, show and the name filter (a regex, as Nova's) see it;
# missing servers are 404 with Nova's message; a bad host or body is 400.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
api "$tok" POST /v2.1/servers '{"server":{"name":"web-1"}}' >/dev/null; expect_status 202
sid=$(jq -r .server.id "$T/last.body")
[ "$(header Location)" = "$URL/v2.1/servers/$sid" ] || fail Location
api "$tok" POST /v2.1/servers '{"server":{"name":"db-1","availability_zone":"nova:host1"}}' >/dev/null
expect_status 202
api "$tok" GET /v2.1/servers >/dev/null; expect_status 200
jq -e '[.servers[].name] | sort == ["db-1","web-1"]' "$T/last.body" >/dev/null || fail list
api "$tok" GET "/v2.1/servers?name=^web" >/dev/null
jq -e '[.servers[].name] == ["web-1"]' "$T/last.body" >/dev/null || fail "name filter"
api "$tok" GET "/v2.1/servers?name=(" >/dev/null; expect_fault 400 badRequest
api "$tok" GET /v2.1/servers/detail "" -H 'OpenStack-API-Version: compute 2.9' >/dev/null
jq -e '.servers | length == 2 and all(.status == "ACTIVE" and .locked == false and (.hostId | length) == 56)' "$T/last.body" >/dev/null || fail detail
api "$tok" GET /v2.1/servers/$sid >/dev/null; expect_status 200
jq -e ".server.id == \"$sid\" and .server.name == \"web-1\" and (.server | has(\"locked\") | not) and (.server | has(\"OS-EXT-SRV-ATTR:host\") | not)" "$T/last.body" >/dev/null || fail show
adm=$(api_token admin)
api "$adm" GET /v2.1/servers/$sid >/dev/null
jq -e '.server["OS-EXT-SRV-ATTR:host"] == "host1"' "$T/last.body" >/dev/null || fail "admin host attribute"
api "$tok" GET /v2.1/servers/00000000-0000-4000-8000-000000000000 >/dev/null
expect_fault 404 itemNotFound "Instance 00000000-0000-4000-8000-000000000000 could not be found."
api "$tok" POST /v2.1/servers '{"server":{"name":"x","availability_zone":"nova:nohost"}}' >/dev/null
expect_fault 400 badRequest "Compute host nohost could not be found."
api "$tok" POST /v2.1/servers '{"server":{"name":"x","host":"host1"}}' >/dev/null
expect_fault 400 badRequest "('host' was unexpected)"
api "$tok" POST /v2.1/servers '{"server":{"name":"x","host":"host1"}}' -H 'OpenStack-API-Version: compute 2.74' >/dev/null
expect_fault 403 forbidden
api "$adm" POST /v2.1/servers '{"server":{"name":"x","host":"host1"}}' -H 'OpenStack-API-Version: compute 2.74' >/dev/null
expect_status 202
api "$tok" POST /v2.1/servers '{"server":{}}' >/dev/null
expect_fault 400 badRequest "'name' is a required property"
api "$tok" POST /v2.1/servers '{"server":{"name":7}}' >/dev/null; expect_fault 400 badRequest
