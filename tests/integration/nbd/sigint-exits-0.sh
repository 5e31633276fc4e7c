#!/usr/bin/env bash
# SIGINT (Ctrl-C) stops the daemon the same way as SIGTERM: exit status 0,
# and data written before is in the backing file.
. "$(dirname "$0")/../lib.sh"
vs_require qemu-io
vs_init
vs_sparse_file "$VS_TMP/disk.img" 8M
vs_start --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img" \
         --export nbd,node=vol0,name=vol0,writable=on
qemu-io -f raw -c 'write -P 0x3c 0 8192' "$(vs_uri vol0)" >/dev/null || vs_fail "write failed"
vs_stop INT || vs_fail "SIGINT: exit status $VS_EXIT, expected 0"
out=$(qemu-io -f raw -c 'read -P 0x3c 0 8192' "$VS_TMP/disk.img")
echo "$out" | grep -q 'Pattern verification failed' && vs_fail "write missing after SIGINT"
echo ok
