#!/usr/bin/env bash
# A --blockdev whose file does not exist: exit status 1 and one line on
# stderr naming the missing path; no pidfile is written.
. "$(dirname "$0")/../lib.sh"
vs_init
vs_find_bin
bin=$VS_BIN
missing="$VS_TMP/no-such-volume.img"
if [ "$(vs_impl)" = qsd ]; then
  args=(--blockdev "driver=file,node-name=vol0,filename=$missing"
        --nbd-server "addr.type=unix,addr.path=$VS_TMP/s.sock" --export "type=nbd,id=e0,node-name=vol0")
else
  args=(--blockdev "file,node-name=vol0,filename=$missing"
        --nbd-server "unix:$VS_TMP/s.sock" --export "nbd,node=vol0")
fi
rc=0
timeout 20 "$bin" "${args[@]}" --pidfile "$VS_TMP/pid" >/dev/null 2>"$VS_TMP/err" </dev/null || rc=$?
[ $rc = 1 ] || vs_fail "exit status $rc, expected 1 (stderr: $(cat "$VS_TMP/err"))"
[ "$(wc -l <"$VS_TMP/err")" = 1 ] || vs_fail "expected one line on stderr: $(cat "$VS_TMP/err")"
grep -qF "$missing" "$VS_TMP/err" || vs_fail "message does not name $missing: $(cat "$VS_TMP/err")"
[ ! -s "$VS_TMP/pid" ] || vs_fail "pidfile written although startup failed"
echo "ok: $(cat "$VS_TMP/err")"
