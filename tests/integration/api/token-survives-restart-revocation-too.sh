#!/usr/bin/env bash
# Tokens outlive a restart of volswap-api: one issued before it still
# authenticates after it (the registry holds its SHA-256, scope and
# expiry), with the same project and roles; one revoked before it
# (DELETE /v3/auth/tokens) stays revoked; and the database holds no token
# in the clear.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
gone=$(api_token alice)
api "$tok" DELETE /v3/auth/tokens "" -H "X-Subject-Token: $gone" >/dev/null; expect_status 204
api "$tok" GET /v3/auth/tokens "" -H "X-Subject-Token: $tok" | jq -S '.token | {project, roles, user, expires_at}' >"$T/before"
api_restart
api "$tok" GET /v2.1/servers >/dev/null; expect_status 200
api "$tok" GET /v3/auth/tokens "" -H "X-Subject-Token: $tok" | jq -S '.token | {project, roles, user, expires_at}' >"$T/after"
diff "$T/before" "$T/after" || fail "token scope changed across restart"
api "$gone" GET /v2.1/servers >/dev/null; expect_status 401
n=$(reg_sql "SELECT count(*) FROM tokens")
[ "$n" -ge 1 ] || fail "no token recorded"
if reg_sql "SELECT id_hash, auth FROM tokens" | grep -q -e "$tok" -e "$gone"; then
  fail "a bearer token is stored in the clear"
fi
