#!/usr/bin/env bash
# Keystone's /v3/domains, read-only: an admin lists the domains the
# configured projects live in (default is Default, with name and enabled
# filters); a member shows the domain of its project; another domain is
# 404 and a member's list 403, as Keystone's default policy.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
adm=$(api_token admin)
api "$adm" GET /v3/domains >/dev/null; expect_status 200
jq -e '[.domains[] | [.id, .name, .enabled]] == [["default", "Default", true]] and .links.self != null' \
  "$T/last.body" >/dev/null || fail "list: $(cat "$T/last.body")"
api "$adm" GET "/v3/domains?name=Other" >/dev/null; expect_status 200
jq -e '.domains == []' "$T/last.body" >/dev/null || fail "name filter: $(cat "$T/last.body")"
api "$tok" GET /identity/v3/domains/default >/dev/null; expect_status 200
jq -e '.domain | .id == "default" and .name == "Default" and .enabled == true' "$T/last.body" \
  >/dev/null || fail "show: $(cat "$T/last.body")"
api "$tok" GET /v3/domains >/dev/null
[ "$STATUS" = 403 ] || fail "member list: $STATUS"
api "$tok" GET /v3/domains/elsewhere >/dev/null
[ "$STATUS" = 404 ] || fail "unknown domain: $STATUS"
