#!/usr/bin/env bash
# Every API call checks its token: none or a bogus one gets keystonemiddleware's
# 401 body and a WWW-Authenticate header naming our Keystone.
. "$(dirname "$0")/lib.sh"
api_setup
pid=$(project_id demo)
for path in /v2.1/servers /v2.1/servers/detail /v3/$pid/volumes; do
  curl -sS -D "$T/last.hdr" -o "$T/last.body" "$URL$path" -w '%{http_code}' >"$T/code"
  [ "$(cat "$T/code")" = 401 ] || fail "$path without token: $(cat "$T/code")"
  [ "$(jq -r .error.message "$T/last.body")" = "The request you have made requires authentication." ] || fail "401 body"
  header WWW-Authenticate | grep -q "Keystone uri=\"$URL/v3\"" || fail "WWW-Authenticate"
  api "bogus-token" GET "$path" >/dev/null; expect_status 401
done
