#!/usr/bin/env bash
# Bad command lines: an unknown option, and an unknown parameter inside
# --blockdev and inside --export. Each exits with status 1, writes exactly
# one line on stderr, and that line names the offending option/parameter.
. "$(dirname "$0")/../lib.sh"
vs_init
vs_find_bin
bin=$VS_BIN
vs_sparse_file "$VS_TMP/disk.img" 1M
if [ "$(vs_impl)" = qsd ]; then
  bd="driver=file,node-name=vol0,filename=$VS_TMP/disk.img"
  srv="addr.type=unix,addr.path=$VS_TMP/s.sock"
  exp="type=nbd,id=e0,node-name=vol0"
else
  bd="file,node-name=vol0,filename=$VS_TMP/disk.img"
  srv="unix:$VS_TMP/s.sock"
  exp="nbd,node=vol0"
fi
check() {  # check WORD ARGS...: run, require exit 1 and one stderr line naming WORD
  local word=$1 rc=0 lines; shift
  timeout 20 "$bin" "$@" >"$VS_TMP/out" 2>"$VS_TMP/err" </dev/null || rc=$?
  lines=$(wc -l <"$VS_TMP/err")
  [ $rc = 1 ] || vs_fail "$*: exit status $rc, expected 1 (stderr: $(cat "$VS_TMP/err"))"
  [ "$lines" = 1 ] || vs_fail "$*: $lines lines on stderr, expected 1: $(cat "$VS_TMP/err")"
  grep -q -- "$word" "$VS_TMP/err" || vs_fail "$*: message does not name '$word': $(cat "$VS_TMP/err")"
  echo "ok: $(cat "$VS_TMP/err")"
}
check no-such-option --no-such-option
check bogus-param --blockdev "$bd,bogus-param=1"
check frobnicate --blockdev "$bd" --nbd-server "$srv" --export "$exp,frobnicate=on"
