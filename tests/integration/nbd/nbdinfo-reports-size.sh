#!/usr/bin/env bash
# nbdinfo sees the export's exact size: the backing file's size in bytes,
# chosen as a multiple of 512 that is not a multiple of 4096 so a server
# rounding to its block size would be caught.
. "$(dirname "$0")/../lib.sh"
vs_require nbdinfo
vs_init
size=$(( 64 * 1024 * 1024 + 3 * 512 ))
vs_sparse_file "$VS_TMP/disk.img" "$size"
vs_start --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img" \
         --export nbd,node=vol0,name=vol0
got=$(nbdinfo --size "$(vs_uri vol0)")
[ "$got" = "$size" ] || vs_fail "nbdinfo --size: expected $size, got '$got'"
echo "export size $got"
