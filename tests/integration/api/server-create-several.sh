#!/usr/bin/env bash
# Nova's multiple create: min_count/max_count registers max_count servers
# named NAME-1..NAME-N and answers the first; past the instances quota
# the count stops short of max_count but not of min_count (then 403 and
# the quota's message). Several at once with a boot volume are refused.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
adm=$(api_token admin)
PID_DEMO=$(project_id demo)
api "$tok" POST /v2.1/servers '{"server": {"name": "web", "min_count": 3}}' >/dev/null; expect_status 202
first=$(jq -r .server.id "$T/last.body")
api "$tok" GET '/v2.1/servers?name=^web-' >/dev/null; expect_status 200
[ "$(jq -r '[.servers[].name] | sort | join(",")' "$T/last.body")" = "web-1,web-2,web-3" ] ||
  fail "names $(cat "$T/last.body")"
api "$tok" GET "/v2.1/servers/$first" >/dev/null
[ "$(jq -r .server.name "$T/last.body")" = web-1 ] || fail "the answer is not the first server"
# five instances in all: two more fit, max_count 4 makes two, min_count 3 makes none
api "$adm" PUT "/v2.1/os-quota-sets/$PID_DEMO" '{"quota_set": {"instances": 5}}' >/dev/null; expect_status 200
api "$tok" POST /v2.1/servers '{"server": {"name": "big", "min_count": 3}}' >/dev/null; expect_status 403
api "$tok" POST /v2.1/servers '{"server": {"name": "app", "min_count": 1, "max_count": 4}}' >/dev/null
expect_status 202
api "$tok" GET '/v2.1/servers' >/dev/null
[ "$(jq '.servers | length' "$T/last.body")" = 5 ] || fail "quota: $(cat "$T/last.body")"
api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume": {"size": 1}}' >/dev/null
vid=$(jq -r .volume.id "$T/last.body")
api "$tok" POST "/v3/$PID_DEMO/volumes/$vid/action" '{"os-set_bootable":{"bootable":true}}' >/dev/null
expect_status 200
api "$tok" POST /v2.1/servers "{\"server\": {\"name\": \"b\", \"max_count\": 2, \"block_device_mapping_v2\": [{\"uuid\": \"$vid\", \"source_type\": \"volume\", \"destination_type\": \"volume\", \"boot_index\": 0}]}}" >/dev/null
expect_fault 400 badRequest "several servers"
