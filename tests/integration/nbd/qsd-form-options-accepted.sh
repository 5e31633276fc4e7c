#!/usr/bin/env bash
# The daemon accepts qemu-storage-daemon's spelling of every option
# (driver=file, addr.type=unix, type=nbd,id=,node-name=) and serves the
# export it describes, so qsd command lines can be reused unchanged.
. "$(dirname "$0")/../lib.sh"
vs_require nbdinfo
vs_init
vs_find_bin
bin=$VS_BIN
vs_sparse_file "$VS_TMP/disk.img" 2M
"$bin" --blockdev "driver=file,node-name=vol0,filename=$VS_TMP/disk.img" \
       --nbd-server "addr.type=unix,addr.path=$VS_TMP/q.sock" \
       --export "type=nbd,id=exp0,node-name=vol0,name=qexp,writable=on" \
       --pidfile "$VS_TMP/q.pid" >"$VS_TMP/daemon-q.log" 2>&1 &
VS_PID=$!; VS_PIDS+=("$VS_PID")
for _ in $(seq 300); do [ -s "$VS_TMP/q.pid" ] && break; kill -0 $VS_PID || break; sleep 0.1; done
[ -s "$VS_TMP/q.pid" ] || vs_fail "daemon did not start with qsd-form options: $(cat "$VS_TMP/daemon-q.log")"
VS_SOCK="$VS_TMP/q.sock"
[ "$(nbdinfo --size "$(vs_uri qexp)")" = 2097152 ] || vs_fail "export qexp not served"
nbdinfo --json "$(vs_uri qexp)" | grep -q '"is_read_only": false' || vs_fail "writable=on not honoured"
vs_stop || vs_fail "exit status $VS_EXIT on SIGTERM"
echo ok
