#!/usr/bin/env bash
# A token grants what its user holds now, not what it held at login: after
# the configuration changes and volswap-api restarts, a removed user's old
# token is 401, a disabled user's old token is 401 (and the user cannot log
# in), and a demoted admin's old token is 403 where the admin role was
# needed, while an unchanged user's token keeps working.
. "$(dirname "$0")/lib.sh"
api_setup
adm=$(api_token admin)
alice=$(api_token alice)
nova_tok=$(api_token nova)
reader=$(api_token reader)
api "$adm" GET "/v2.1/servers?all_tenants=1" >/dev/null; expect_status 200
api "$alice" GET /v2.1/servers >/dev/null; expect_status 200
api "$nova_tok" GET /v2.1/servers >/dev/null; expect_status 200
# admin becomes a member, alice goes, nova is disabled; reader is untouched
jq '.users |= (map(select(.name != "alice"))
      | map(if .name == "admin" then .roles = {"demo": ["member"]} else . end)
      | map(if .name == "nova" then .enabled = false else . end))' "$T/api.json" >"$T/api.new"
mv "$T/api.new" "$T/api.json"
api_restart
api "$adm" GET "/v2.1/servers?all_tenants=1" >/dev/null; expect_status 403
api "$adm" GET /v2.1/servers >/dev/null; expect_status 200
api "$alice" GET /v2.1/servers >/dev/null; expect_status 401
api "$nova_tok" GET /v2.1/servers >/dev/null; expect_status 401
[ -z "$(api_token nova)" ] || fail "a disabled user logged in"
api "$reader" GET /v2.1/servers >/dev/null; expect_status 200
echo PASS
