#!/usr/bin/env bash
# The flavor's swap, as Nova shows it: "" in the flavor views before 2.75
# and 0 from 2.75; the flavor embedded in a server (2.47 on) carries swap 0
# with vcpus, ram, disk, ephemeral, original_name and extra_specs.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
nmv() { echo "OpenStack-API-Version: compute 2.$1"; }
api "$tok" GET /v2.1/flavors/volswap "" -H "$(nmv 74)" >/dev/null; expect_status 200
jq -e '.flavor.swap == ""' "$T/last.body" >/dev/null || fail "2.74 swap: $(cat "$T/last.body")"
api "$tok" GET /v2.1/flavors/detail "" -H "$(nmv 75)" >/dev/null; expect_status 200
jq -e '.flavors[0].swap == 0' "$T/last.body" >/dev/null || fail "2.75 swap: $(cat "$T/last.body")"
api "$tok" POST /v2.1/servers '{"server":{"name":"s"}}' >/dev/null; expect_status 202
SID=$(jq -r .server.id "$T/last.body")
api "$tok" GET "/v2.1/servers/$SID" "" -H "$(nmv 47)" >/dev/null; expect_status 200
jq -e '.server.flavor | keys == ["disk","ephemeral","extra_specs","original_name","ram","swap","vcpus"] and .swap == 0' \
  "$T/last.body" >/dev/null || fail "embedded flavor: $(jq -c .server.flavor "$T/last.body")"
