#!/usr/bin/env bash
# nbdcopy copies a file with data and holes into the export and back out
# (multi-connection, many requests in flight): both copies, and the backing
# file, are byte-identical to the source.
. "$(dirname "$0")/../lib.sh"
vs_require nbdcopy
vs_init
vs_random_file "$VS_TMP/src.img" 12M 3
truncate -s 32M "$VS_TMP/src.img"
vs_random_file "$VS_TMP/tail.bin" 1M 4
dd if="$VS_TMP/tail.bin" of="$VS_TMP/src.img" bs=1M seek=31 conv=notrunc status=none
vs_sparse_file "$VS_TMP/disk.img" 32M
vs_start --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img" \
         --export nbd,node=vol0,name=vol0,writable=on
nbdcopy "$VS_TMP/src.img" "$(vs_uri vol0)" || vs_fail "nbdcopy into the export failed"
nbdcopy "$(vs_uri vol0)" "$VS_TMP/out.img" || vs_fail "nbdcopy out of the export failed"
vs_same_content "$VS_TMP/src.img" "$VS_TMP/out.img"
vs_stop || vs_fail "daemon exited $VS_EXIT on SIGTERM"
vs_same_content "$VS_TMP/src.img" "$VS_TMP/disk.img"
echo ok
