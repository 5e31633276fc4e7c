#!/usr/bin/env bash
# `volswap server-delete NAME` deletes the server found by name, its disk
# goes back to available, and a second delete by that name fails with a
# one-line error and a non-zero status.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
attach "$tok" "$SID" "$VID"; expect_status 200
export OS_AUTH_TYPE=admin_token OS_TOKEN=$ADMIN_TOKEN OS_ENDPOINT=$URL/v2.1
"$CLI_BIN" server-delete srv >"$T/out" 2>"$T/err" || fail "server-delete: $(cat "$T/err")"
"$CLI_BIN" --json server-list | jq -e --arg s "$SID" '[.servers[].id] | index($s) == null' >/dev/null \
  || fail "still listed"
"$CLI_BIN" --json volume-show "$VID" | jq -e '.volume.status == "available"' >/dev/null \
  || fail "volume not available"
if "$CLI_BIN" server-delete srv >"$T/out" 2>"$T/err"; then fail "second delete succeeded"; fi
[ "$(wc -l <"$T/err")" = 1 ] || fail "error is not one line: $(cat "$T/err")"
echo ok
