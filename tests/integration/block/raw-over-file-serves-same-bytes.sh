#!/usr/bin/env bash
# qemu-storage-daemon scripts stack a raw node on a file node; the export of
# the raw node serves exactly the file's bytes.
. "$(dirname "$0")/../lib.sh"
vs_require qemu-img
vs_init
vs_random_file "$VS_TMP/disk.img" 4M 7
vs_start --blockdev driver=file,node-name=f0,filename="$VS_TMP/disk.img" \
         --blockdev driver=raw,node-name=fmt0,file=f0 \
         --export type=nbd,id=e0,node-name=fmt0,name=fmt0,writable=on
qemu-img compare -f raw -F raw "$VS_TMP/disk.img" "$(vs_uri fmt0)" >/dev/null || vs_fail "contents differ"
echo ok
