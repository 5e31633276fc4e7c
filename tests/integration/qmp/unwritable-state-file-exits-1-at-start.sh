#!/usr/bin/env bash
# --state in a directory that does not exist (or cannot be written) stops
# volswapd at start with exit status 1 and one line naming the path, rather
# than failing later when a client changes something.
. "$(dirname "$0")/../lib.sh"
vs_init
[ "$(vs_impl)" = volswapd ] || vs_skip "--state is volswapd's"
bin=$(vs_daemon_bin)
set +e
"$bin" --state "$VS_TMP/no/such/dir/state.json" --monitor "$VS_TMP/qmp.sock" >"$VS_TMP/out" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || vs_fail "exit status $rc, want 1"
grep -q "no/such/dir/state.json" "$VS_TMP/out" || vs_fail "path not named: $(cat "$VS_TMP/out")"
[ "$(wc -l <"$VS_TMP/out")" -eq 1 ] || vs_fail "more than one line: $(cat "$VS_TMP/out")"
