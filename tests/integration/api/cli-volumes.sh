#!/usr/bin/env bash
# The volswap CLI with OS_* password settings: volume-create, volume-list,
# volume-show, volume-delete as tables and --json; an API error is one line
# on stderr and exit status 1; a usage error is exit status 2.
. "$(dirname "$0")/lib.sh"
api_setup
password_env alice demo
V=$CLI_BIN
vid=$("$V" --json volume-create --name data 2 | jq -r .volume.id)
[ ${#vid} -eq 36 ] || fail "create --json"
"$V" volume-create --name second 1 >"$T/out"
grep -E "^\| name +\| second +\|$" "$T/out" >/dev/null || fail "create table: $(cat "$T/out")"
"$V" volume-list >"$T/out"
grep -E "^\| $vid \| data +\| available \| 2 +\| pool1 \|$" "$T/out" >/dev/null || fail "list: $(cat "$T/out")"
[ "$("$V" --json volume-list | jq '.volumes | length')" = 2 ] || fail "list --json"
"$V" volume-show "$vid" >"$T/out"
grep -E "^\| size +\| 2 +\|$" "$T/out" >/dev/null || fail "show: $(cat "$T/out")"
"$V" volume-delete "$vid"
set +e
"$V" volume-show "$vid" >"$T/out" 2>"$T/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "show of deleted volume exit $rc"
[ "$(wc -l <"$T/err")" = 1 ] || fail "error is not one line: $(cat "$T/err")"
grep -q "^ERROR (itemNotFound): Volume $vid could not be found. (HTTP 404)$" "$T/err" || fail "error: $(cat "$T/err")"
set +e
"$V" volume-create >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "usage error exit $rc"
"$V" volume-frob >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "unknown command exit $rc"
OS_PASSWORD=wrong "$V" volume-list >/dev/null 2>"$T/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "bad password exit $rc"
grep -q "HTTP 401" "$T/err" || fail "bad password: $(cat "$T/err")"
