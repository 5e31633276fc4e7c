#!/usr/bin/env bash
# GET and DELETE /v3/auth/tokens on another user's token are Keystone's
# identity:validate_token and identity:revoke_token: a member gets 403 and
# the token keeps working; the token's owner and an admin may validate it,
# and the owner may revoke it.
. "$(dirname "$0")/lib.sh"
api_setup
alice=$(api_token alice)
reader=$(api_token reader)
adm=$(api_token admin)
api "$alice" GET /v3/auth/tokens "" -H "X-Subject-Token: $reader" >/dev/null
expect_status 403
[ "$(jq -r .error.code "$T/last.body")" = 403 ] || fail "not a Keystone error body: $(cat "$T/last.body")"
api "$alice" DELETE /v3/auth/tokens "" -H "X-Subject-Token: $reader" >/dev/null
expect_status 403
api "$reader" GET /v2.1/servers >/dev/null; expect_status 200
api "$reader" GET /v3/auth/tokens "" -H "X-Subject-Token: $reader" >/dev/null; expect_status 200
api "$adm" GET /v3/auth/tokens "" -H "X-Subject-Token: $reader" >/dev/null; expect_status 200
[ "$(jq -r .token.user.name "$T/last.body")" = reader ] || fail "wrong token body"
api "$reader" DELETE /v3/auth/tokens "" -H "X-Subject-Token: $reader" >/dev/null; expect_status 204
api "$reader" GET /v2.1/servers >/dev/null; expect_status 401
echo PASS
