#!/usr/bin/env bash
# A remote NBD export (nbdkit's memory plugin) opened as an `nbd` node and
# re-exported by volswapd: writes through volswapd land on the remote
# export, reads come back from it, and block status passes through.
. "$(dirname "$0")/../lib.sh"
vs_require nbdkit qemu-io nbdinfo
vs_init
[ "$(vs_impl)" = volswapd ] || vs_skip "volswapd's nbd driver only"
nbdkit -f -U "$VS_TMP/remote.sock" -P "$VS_TMP/nbdkit.pid" memory 16M &
VS_PIDS+=($!) # stopped (and checked) by the cleanup trap with the daemon
for _ in $(seq 100); do [ -S "$VS_TMP/remote.sock" ] && break; sleep 0.1; done
vs_start --blockdev "nbd,node-name=r0,server.type=unix,server.path=$VS_TMP/remote.sock" \
         --export nbd,node=r0,name=r0,writable=on
qemu-io -f raw -c 'write -P 0x5c 1M 3M' "$(vs_uri r0)" >/dev/null || vs_fail "write through volswapd failed"
out=$(qemu-io -f raw -c 'read -P 0x5c 1M 3M' -c 'read -P 0 0 1M' "nbd+unix:///?socket=$VS_TMP/remote.sock")
echo "$out" | grep -q 'Pattern verification failed' && vs_fail "remote export does not hold the write"
map=$(nbdinfo --map "$(vs_uri r0)")
echo "$map" | grep -Eq '^ +1048576 +3145728 +0 +data' || vs_fail "block status not passed through: $map"
vs_stop || vs_fail "volswapd exit status $VS_EXIT"
echo ok
