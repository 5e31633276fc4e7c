#!/usr/bin/env bash
# Tokens expire: with token_ttl 5 a token works at once and is refused (401)
# once its expires_at has passed; a fresh login works again.
. "$(dirname "$0")/lib.sh"
api_setup 5
tok=$(api_token alice)
api "$tok" GET /v2.1/servers >/dev/null; expect_status 200
sleep 6
api "$tok" GET /v2.1/servers >/dev/null; expect_status 401
new=$(api_token alice)
api "$new" GET /v2.1/servers >/dev/null; expect_status 200
# Keystone's validation of the old token: gone
api "$new" GET /v3/auth/tokens "" -H "X-Subject-Token: $tok" >/dev/null; expect_status 404
