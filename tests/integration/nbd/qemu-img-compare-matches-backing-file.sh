#!/usr/bin/env bash
# qemu-img compare finds the export identical to its backing file (random
# data with holes), and finds it different from a file that differs in one
# byte, so the comparison is not vacuous.
. "$(dirname "$0")/../lib.sh"
vs_require qemu-img
vs_init
vs_random_file "$VS_TMP/disk.img" 8M 7
# Punch holes so compare also walks zero ranges.
truncate -s 24M "$VS_TMP/disk.img"
vs_start --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img",read-only=on \
         --export nbd,node=vol0,name=vol0
qemu-img compare -f raw -F raw "$VS_TMP/disk.img" "$(vs_uri vol0)" \
  || vs_fail "qemu-img compare: export differs from its backing file"
cp "$VS_TMP/disk.img" "$VS_TMP/other.img"
printf '\xff' | dd of="$VS_TMP/other.img" bs=1 seek=$((20 * 1024 * 1024 + 5)) conv=notrunc status=none
rc=0; qemu-img compare -q -f raw -F raw "$VS_TMP/other.img" "$(vs_uri vol0)" || rc=$?
[ $rc = 1 ] || vs_fail "qemu-img compare against a different file: exit $rc, expected 1"
