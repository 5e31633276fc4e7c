#!/usr/bin/env bash
# An export declared without name= is reachable under its node's name.
. "$(dirname "$0")/../lib.sh"
vs_require nbdinfo
vs_init
vs_sparse_file "$VS_TMP/disk.img" 4M
vs_start --blockdev file,node-name=plainnode,filename="$VS_TMP/disk.img" \
         --export nbd,node=plainnode
[ "$(nbdinfo --size "$(vs_uri plainnode)")" = 4194304 ] || vs_fail "export 'plainnode' not served"
nbdinfo --list --json "$(vs_uri)" | grep -q '"export-name": "plainnode"' \
  || vs_fail "export list lacks 'plainnode'"
echo ok
