#!/usr/bin/env bash
# A hypervisor's cpu_info is a JSON document in a string before 2.28 and
# an object from 2.28 (Nova's change), in the detail list and in show,
# until 2.88 drops it.
. "$(dirname "$0")/lib.sh"
api_setup
adm=$(api_token admin)
cmv() { echo "OpenStack-API-Version: compute 2.$1"; }
api "$adm" GET /v2.1/os-hypervisors/detail "" -H "$(cmv 27)" >/dev/null; expect_status 200
jq -e '.hypervisors[0].cpu_info == "{}"' "$T/last.body" >/dev/null || fail "2.27: $(cat "$T/last.body")"
api "$adm" GET /v2.1/os-hypervisors/detail "" -H "$(cmv 28)" >/dev/null; expect_status 200
jq -e '.hypervisors[0].cpu_info == {}' "$T/last.body" >/dev/null || fail "2.28: $(cat "$T/last.body")"
api "$adm" GET /v2.1/os-hypervisors "" -H "$(cmv 53)" >/dev/null; expect_status 200
id=$(jq -r '.hypervisors[0].id' "$T/last.body")   # a UUID from 2.53
api "$adm" GET "/v2.1/os-hypervisors/$id" "" -H "$(cmv 53)" >/dev/null; expect_status 200
jq -e '.hypervisor.cpu_info == {}' "$T/last.body" >/dev/null || fail "2.53 show: $(cat "$T/last.body")"
api "$adm" GET "/v2.1/os-hypervisors/$id" "" -H "$(cmv 88)" >/dev/null; expect_status 200
jq -e '.hypervisor | has("cpu_info") | not' "$T/last.body" >/dev/null || fail "2.88: $(cat "$T/last.body")"
