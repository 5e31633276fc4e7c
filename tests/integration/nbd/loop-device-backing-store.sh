#!/usr/bin/env bash
# A host block device (a loop device over a file) as the backing store:
# the export has the device's size, data written through NBD reaches the
# device, and nbdcopy reads back what was written.
. "$(dirname "$0")/../lib.sh"
vs_require losetup nbdcopy qemu-io
[ "$(id -u)" = 0 ] || vs_skip "losetup needs root"
vs_init
vs_sparse_file "$VS_TMP/backing.img" 16M
loop=$(losetup -f --show "$VS_TMP/backing.img" 2>/dev/null) || vs_skip "losetup cannot attach a loop device here"
trap 'losetup -d "$loop" 2>/dev/null || true; vs_cleanup' EXIT
[ -b "$loop" ] || vs_fail "$loop is not a block device"
vs_random_file "$VS_TMP/data.bin" 4M 9
vs_start --blockdev file,node-name=dev0,filename="$loop" \
         --export nbd,node=dev0,name=dev0,writable=on
size=$(nbdinfo --size "$(vs_uri dev0)")
[ "$size" = $((16 * 1024 * 1024)) ] || vs_fail "export size $size, expected 16M"
nbdcopy "$VS_TMP/data.bin" "$(vs_uri dev0)" || vs_fail "nbdcopy into the device failed"
qemu-io -f raw -c 'write -P 0x77 12582912 4096' "$(vs_uri dev0)" >/dev/null || vs_fail "qemu-io write failed"
vs_stop || vs_fail "daemon exited $VS_EXIT on SIGTERM"
cmp -n $((4 * 1024 * 1024)) "$VS_TMP/data.bin" "$loop" || vs_fail "device does not hold the nbdcopy data"
out=$(qemu-io -f raw -c 'read -P 0x77 12582912 4096' "$VS_TMP/backing.img")
echo "$out" | grep -q 'Pattern verification failed' && vs_fail "device lacks the qemu-io write"
echo ok
