#!/usr/bin/env bash
# The server listens on a TCP port on 127.0.0.1: nbdinfo reads the export's
# size and qemu-io writes and reads back over TCP.
. "$(dirname "$0")/../lib.sh"
vs_require nbdinfo qemu-io
vs_init
vs_sparse_file "$VS_TMP/disk.img" 8M
vs_start --tcp --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img" \
         --export nbd,node=vol0,name=vol0,writable=on
uri=$(vs_uri vol0)
case "$uri" in nbd://127.0.0.1:*) ;; *) vs_fail "not a TCP URI: $uri" ;; esac
[ "$(nbdinfo --size "$uri")" = 8388608 ] || vs_fail "wrong size over TCP"
qemu-io -f raw -c 'write -P 0xc3 1000 70000' "$uri" >/dev/null || vs_fail "write over TCP failed"
out=$(qemu-io -f raw -c 'read -P 0xc3 1000 70000' "$uri") || vs_fail "read over TCP failed"
echo "$out" | grep -q 'Pattern verification failed' && vs_fail "read back wrong data over TCP"
echo ok
