#!/usr/bin/env bash
# POST /v3/auth/tokens with a password scoped to a project: 201, the token in
# X-Subject-Token, expires_at, implied roles and a catalog with compute and
# volumev3; the token validates (GET) and stops working once revoked (DELETE).
. "$(dirname "$0")/lib.sh"
api_setup
body='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","domain":{"name":"Default"},"password":"alicepw"}}},"scope":{"project":{"name":"demo","domain":{"name":"Default"}}}}}'
api "" POST /v3/auth/tokens "$body" >/dev/null; expect_status 201
tok=$(header X-Subject-Token)
[ ${#tok} -eq 64 ] || fail "token '$tok'"
jq -e '.token.expires_at | test("^[0-9-]+T[0-9:.]+Z$")' "$T/last.body" >/dev/null || fail expires_at
jq -e '[.token.roles[].name] | sort == ["member","reader"]' "$T/last.body" >/dev/null || fail roles
jq -e '.token.project.name == "demo"' "$T/last.body" >/dev/null || fail project
pid=$(jq -r .token.project.id "$T/last.body")
[ "$(jq -r '.token.catalog[] | select(.type=="identity") | .endpoints[0].url' "$T/last.body")" = "$URL/identity/v3" ] || fail "identity endpoint"
[ "$(jq -r '.token.catalog[] | select(.type=="compute") | .endpoints[] | select(.interface=="public") | .url' "$T/last.body")" = "$URL/compute/v2.1" ] || fail "compute endpoint"
[ "$(jq -r '.token.catalog[] | select(.type=="volumev3") | .endpoints[] | select(.interface=="public") | .url' "$T/last.body")" = "$URL/volume/v3/$pid" ] || fail "volumev3 endpoint"
# validate and revoke
api "$tok" GET /v3/auth/tokens "" -H "X-Subject-Token: $tok" >/dev/null; expect_status 200
api "$tok" GET /v2.1/servers >/dev/null; expect_status 200
api "$tok" DELETE /v3/auth/tokens "" -H "X-Subject-Token: $tok" >/dev/null; expect_status 204
api "$tok" GET /v2.1/servers >/dev/null; expect_status 401
# wrong password and unknown user look the same: 401 with Keystone's body
bad=${body/alicepw/nope}
api "" POST /v3/auth/tokens "$bad" >/dev/null; expect_status 401
[ "$(jq -r .error.code "$T/last.body")" = 401 ] || fail "keystone error body"
api "" POST /v3/auth/tokens "${body/alice/mallory}" >/dev/null; expect_status 401
# a project the user has no role on
api "" POST /v3/auth/tokens "${body/\"demo\"/\"other\"}" >/dev/null; expect_status 401
# malformed auth bodies are 400
api "" POST /v3/auth/tokens '{"auth":{"identity":{"methods":"password"}}}' >/dev/null; expect_status 400
api "" POST /v3/auth/tokens '{"auth":{"identity":{}, "colour": 1}}' >/dev/null; expect_status 400
api "" POST /v3/auth/tokens 'not json' >/dev/null; expect_status 400
