#!/usr/bin/env bash
# SIGTERM with a client still connected and an unflushed write: the daemon
# exits 0, the client's connection is closed, the write is in the backing
# file, and the socket file is not left listening.
. "$(dirname "$0")/../lib.sh"
vs_require nbdinfo
vs_init
vs_sparse_file "$VS_TMP/disk.img" 8M
vs_start --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img" \
         --export nbd,node=vol0,name=vol0,writable=on
# A libnbd client keeps the connection open (no flush, no disconnect) until
# its stdin closes; it prints "written" once the write was acknowledged.
# (/usr/bin/python3, not nbdsh: nbdsh runs the python3 on PATH.)
mkfifo "$VS_TMP/ctl"
/usr/bin/python3 -c '
import sys, nbd
h = nbd.NBD()
h.connect_uri(sys.argv[1])
h.pwrite(b"\xa5" * 65536, 1048576)
print("written", flush=True)
sys.stdin.read()
' "$(vs_uri vol0)" <"$VS_TMP/ctl" >"$VS_TMP/nbdsh.out" 2>&1 &
client=$!
exec 4>"$VS_TMP/ctl"
for _ in $(seq 300); do grep -q written "$VS_TMP/nbdsh.out" && break; kill -0 $client || break; sleep 0.1; done
grep -q written "$VS_TMP/nbdsh.out" || vs_fail "client write failed: $(cat "$VS_TMP/nbdsh.out")"
vs_stop TERM || vs_fail "SIGTERM: exit status $VS_EXIT, expected 0"
exec 4>&-
wait $client || true
/usr/bin/python3 - "$VS_TMP/disk.img" <<'PY' || vs_fail "acknowledged write missing from the backing file"
import sys
with open(sys.argv[1], "rb") as f:
    f.seek(1048576)
    sys.exit(0 if f.read(65536) == b"\xa5" * 65536 else 1)
PY
if [ -S "$VS_TMP/nbd0.sock" ]; then
  nbdinfo --size "$(vs_uri vol0)" >/dev/null 2>&1 && vs_fail "socket still served after exit"
fi
echo ok
