#!/usr/bin/env bash
# qemu-io writes patterns (aligned and unaligned) through the export, reads
# them back through it, and the backing file holds them after the daemon
# stops.
. "$(dirname "$0")/../lib.sh"
vs_require qemu-io
vs_init
vs_sparse_file "$VS_TMP/disk.img" 16M
vs_start --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img" \
         --export nbd,node=vol0,name=vol0,writable=on
uri=$(vs_uri vol0)
qemu-io -f raw -c 'write -P 0xab 4096 64k' -c 'write -P 0x5a 70001 3333' \
        -c 'write -P 0x11 16773120 4096' "$uri" >"$VS_TMP/w.out" || vs_fail "qemu-io write failed"
out=$(qemu-io -f raw -c 'read -P 0xab 4096 64k' -c 'read -P 0x5a 70001 3333' \
        -c 'read -P 0 73334 1000' -c 'read -P 0x11 16773120 4096' -c 'read -P 0 0 4096' "$uri") \
  || vs_fail "qemu-io read failed: $out"
echo "$out" | grep -q 'Pattern verification failed' && vs_fail "read back wrong data: $out"
vs_stop || vs_fail "daemon exited $VS_EXIT on SIGTERM"
out=$(qemu-io -f raw -c 'read -P 0xab 4096 64k' -c 'read -P 0x5a 70001 3333' \
        -c 'read -P 0x11 16773120 4096' "$VS_TMP/disk.img")
echo "$out" | grep -q 'Pattern verification failed' && vs_fail "backing file lacks the writes: $out"
echo ok
