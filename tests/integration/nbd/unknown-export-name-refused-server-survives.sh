#!/usr/bin/env bash
# A client asking for an export that does not exist is refused (nbdinfo
# fails), and the daemon keeps serving the export that does exist.
. "$(dirname "$0")/../lib.sh"
vs_require nbdinfo
vs_init
vs_sparse_file "$VS_TMP/disk.img" 4M
vs_start --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img" \
         --export nbd,node=vol0,name=vol0
if nbdinfo "$(vs_uri no-such-export)" >"$VS_TMP/out" 2>&1; then
  vs_fail "nbdinfo on a missing export succeeded: $(cat "$VS_TMP/out")"
fi
kill -0 "$VS_PID" || vs_fail "daemon died after an unknown export name"
[ "$(nbdinfo --size "$(vs_uri vol0)")" = 4194304 ] || vs_fail "existing export not served afterwards"
echo ok
