#!/usr/bin/env bash
# A fixed admin token from the config acts as admin in the admin project:
# it sees every project's servers with all_tenants and passes admin-only
# policies; a member token may not use all_tenants.
. "$(dirname "$0")/lib.sh"
api_setup
bob=$(api_token bob other)
api "$bob" POST /v2.1/servers '{"server":{"name":"bobs"}}' >/dev/null; expect_status 202
api "$ADMIN_TOKEN" GET "/v2.1/servers?all_tenants=1" >/dev/null; expect_status 200
jq -e '[.servers[].name] == ["bobs"]' "$T/last.body" >/dev/null || fail "admin all_tenants: $(cat "$T/last.body")"
api "$ADMIN_TOKEN" GET /v2.1/servers >/dev/null; expect_status 200
jq -e '.servers == []' "$T/last.body" >/dev/null || fail "admin project filter"
api "$bob" GET "/v2.1/servers?all_tenants=1" >/dev/null
expect_fault 403 forbidden "Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed."
# the admin token validates like a Keystone token and names its project
api "$ADMIN_TOKEN" GET /v3/auth/tokens "" -H "X-Subject-Token: $ADMIN_TOKEN" >/dev/null
expect_status 200
jq -e '.token.project.name == "demo" and ([.token.roles[].name] | index("admin"))' "$T/last.body" >/dev/null || fail "admin token body"
