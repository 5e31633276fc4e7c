#!/usr/bin/env bash
# A state file that is not valid JSON, not our format, or names something
# that cannot be opened stops volswapd with exit status 1 and a message
# naming the file and the problem; nothing is served.
. "$(dirname "$0")/../lib.sh"
vs_init
[ "$(vs_impl)" = volswapd ] || vs_skip "--state is volswapd's"
bin=$(vs_daemon_bin)
st="$VS_TMP/state.json"
try() {
  local want=$1
  set +e
  "$bin" --state "$st" --monitor "$VS_TMP/qmp.sock" >"$VS_TMP/out" 2>&1
  local rc=$?
  set -e
  [ $rc -eq 1 ] || vs_fail "exit status $rc for state '$(head -c 80 "$st")', want 1"
  grep -q -- "--state" "$VS_TMP/out" || vs_fail "message does not name --state: $(cat "$VS_TMP/out")"
  grep -q -- "$want" "$VS_TMP/out" || vs_fail "message lacks '$want': $(cat "$VS_TMP/out")"
  [ "$(wc -l <"$VS_TMP/out")" -eq 1 ] || vs_fail "more than one line: $(cat "$VS_TMP/out")"
}
printf '{"volswap-state": 1, "commands": [' >"$st";              try "damaged: line"
: >"$st";                                                         try "damaged"
printf '\x00\xff garbage' >"$st";                                 try "damaged"
echo '{"volswap-state": 9, "commands": []}' >"$st";               try "volswap-state"
echo '{"volswap-state": 1, "commands": [{"execute": "quit", "arguments": {}}]}' >"$st"
try "commands\[0\]"
# (a node whose file is gone is only left out when nothing uses it:
# restart-state-unused-node-whose-file-is-gone-is-dropped.py)
echo '{"volswap-state": 1, "commands": [{"execute": "blockdev-add", "arguments": {"driver": "file", "node-name": "n0", "filename": "'"$VS_TMP"'/gone.img"}}, {"execute": "blockdev-add", "arguments": {"driver": "raw", "node-name": "r0", "file": "n0"}}]}' >"$st"
try "gone.img"
[ ! -e "$VS_TMP/qmp.sock" ] || vs_fail "monitor socket created despite the damaged state"
# A missing file is a first start, not damage.
rm -f "$st"
vs_start --state "$st"
[ -s "$st" ] || vs_fail "state file not written on first start"
