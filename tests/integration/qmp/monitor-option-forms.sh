#!/usr/bin/env bash
# --monitor PATH and qemu-storage-daemon's --chardev/--monitor chardev=ID
# both open a monitor; unsupported chardev forms exit 1 with one line.
. "$(dirname "$0")/../lib.sh"
vs_init
[ "$(vs_impl)" = volswapd ] || vs_skip "volswapd's option parsing"
bin=$(vs_daemon_bin)
greet() {
  /usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(30); d=s.recv(4096); sys.exit(0 if d.startswith(b"{\"QMP\"") and d.endswith(b"\r\n") else 1)' "$1"
}
vs_start --monitor "$VS_TMP/a.sock" --chardev "socket,path=$VS_TMP/b.sock,server=on,wait=off,id=mon" --monitor chardev=mon,mode=control
greet "$VS_TMP/a.sock" || vs_fail "no greeting on --monitor PATH"
greet "$VS_TMP/b.sock" || vs_fail "no greeting on --monitor chardev=ID"
vs_stop
for bad in "--chardev socket,path=$VS_TMP/c.sock,server=off,id=x --monitor chardev=x" \
           "--chardev stdio,id=x --monitor chardev=x" \
           "--monitor chardev=nosuch" \
           "--chardev socket,path=$VS_TMP/c.sock,server=on,wait=off,id=x --monitor chardev=x,pretty=on"; do
  set +e
  # shellcheck disable=SC2086
  "$bin" $bad >"$VS_TMP/out" 2>&1
  rc=$?
  set -e
  [ $rc -eq 1 ] || vs_fail "'$bad': exit $rc, want 1"
  [ "$(wc -l <"$VS_TMP/out")" -eq 1 ] || vs_fail "'$bad': $(cat "$VS_TMP/out")"
done
