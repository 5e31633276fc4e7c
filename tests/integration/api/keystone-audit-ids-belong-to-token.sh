#!/usr/bin/env bash
# A token's audit_ids and issued_at are fixed when it is issued: every
# validation (GET /v3/auth/tokens), also after a restart of volswap-api
# (the token read back from the registry), shows the same ones, and two
# tokens have different audit ids.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
other=$(api_token alice)
show() {  # the audit ids and issue time of token $1, or "" when it is not valid
  local code
  code=$(curl -sS -o "$T/show.body" -w '%{http_code}' -H "X-Auth-Token: $tok" \
    -H "X-Subject-Token: $1" "$URL/v3/auth/tokens")
  [ "$code" = 200 ] && jq -c '.token | [.audit_ids, .issued_at]' "$T/show.body"
}
first=$(show "$tok")
jq -e '.[0] | length == 1 and (.[0] | test("^[A-Za-z0-9_-]{16,}$"))' <<<"$first" >/dev/null \
  || fail "audit_ids: $first"
sleep 1.1   # a second later: an issued_at of "now" would differ
[ "$(show "$tok")" = "$first" ] || fail "validated again: $(show "$tok"), first $first"
[ "$(show "$other" | jq -c '.[0]')" != "$(jq -c '.[0]' <<<"$first")" ] || fail "two tokens share audit ids"
api_restart
[ "$(show "$tok")" = "$first" ] || fail "after restart: $(show "$tok"), first $first"
