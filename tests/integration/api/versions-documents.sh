#!/usr/bin/env bash
# GET /, /v2.1 and /v3 answer without a token, with Nova's min/max
# microversions and Keystone's v3 document.
. "$(dirname "$0")/lib.sh"
api_setup
api "" GET / >/dev/null; expect_status 200
[ "$(jq -r '.versions[] | select(.id=="v2.1") | .min_version' "$T/last.body")" = 2.1 ] || fail "min"
max=$(jq -r '.versions[] | select(.id=="v2.1") | .version' "$T/last.body")
[ "${max%%.*}" = 2 ] && [ "${max#2.}" -ge 89 ] || fail "max version $max < 2.89"
api "" GET /v2.1 >/dev/null; expect_status 200
[ "$(jq -r .version.status "$T/last.body")" = CURRENT ] || fail "v2.1 status"
[ "$(jq -r .version.links[0].href "$T/last.body")" = "$URL/v2.1/" ] || fail "self link"
api "" GET /v2.1/ >/dev/null; expect_status 200
api "" GET /v3 >/dev/null; expect_status 200
[ "$(jq -r .version.id "$T/last.body")" = v3.14 ] || fail "keystone id"
[ "$(jq -r .version.status "$T/last.body")" = stable ] || fail "keystone status"
api "" GET /nope >/dev/null; expect_fault 404 itemNotFound
api "" PATCH /v2.1/servers >/dev/null; expect_fault 405 badMethod
