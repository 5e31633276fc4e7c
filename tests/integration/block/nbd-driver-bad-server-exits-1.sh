#!/usr/bin/env bash
# An `nbd` node whose server does not exist is a start-up error naming the
# option, exit status 1.
. "$(dirname "$0")/../lib.sh"
vs_init
[ "$(vs_impl)" = volswapd ] || vs_skip "volswapd's nbd driver only"
rc=0
out=$("$(vs_daemon_bin)" --blockdev "nbd,node-name=r0,server.type=unix,server.path=$VS_TMP/none.sock" 2>&1) || rc=$?
[ $rc -eq 1 ] || vs_fail "exit status $rc, expected 1"
[ "$(echo "$out" | wc -l)" -eq 1 ] || vs_fail "expected one line, got: $out"
echo "$out" | grep -q -- '--blockdev' || vs_fail "message does not name the option: $out"
echo ok
