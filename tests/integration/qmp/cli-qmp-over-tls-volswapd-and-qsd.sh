#!/usr/bin/env bash
# `volswap qmp --socket tcp:HOST:PORT --tls DIR` runs a command on a
# monitor that requires TLS and a client certificate: volswapd's, and
# qemu-storage-daemon's (the real peer) when it is installed. The client
# refuses a server whose certificate does not chain to its CA, and is
# refused when it presents no certificate: exit 1, ConnectionError.
. "$(dirname "$0")/../lib.sh"
vs_init
[ "$(vs_impl)" = volswapd ] || vs_skip "runs volswapd and qsd itself"
cli=$VS_BUILD/src/cli/volswap
[ -x "$cli" ] || vs_fail "volswap CLI not built"
vs_tls_certs "$VS_TMP/pki" >/dev/null
vs_tls_certs "$VS_TMP/other" >/dev/null
mkdir "$VS_TMP/ca-only"
cp "$VS_TMP/pki/ca-cert.pem" "$VS_TMP/ca-only/"
impls=(volswapd)
command -v qemu-storage-daemon >/dev/null && impls+=(qsd)
for impl in "${impls[@]}"; do
  VS_IMPL=$impl
  port=$(vs__free_port)
  vs_start --object "tls-creds-x509,id=qtls,dir=$VS_TMP/pki,endpoint=server" \
    --chardev "socket,id=qtcp,host=127.0.0.1,port=$port,server=on,wait=off,tls-creds=qtls" \
    --monitor chardev=qtcp
  addr=tcp:127.0.0.1:$port
  "$cli" --json qmp --socket "$addr" --tls "$VS_TMP/pki" query-version >"$VS_TMP/out" ||
    vs_fail "$impl: query-version over TLS failed"
  grep -q '"qemu"' "$VS_TMP/out" || vs_fail "$impl: reply $(cat "$VS_TMP/out")"
  # two commands' worth: the second connection finds the monitor free again
  "$cli" --json qmp --socket "$addr" --tls "$VS_TMP/pki" query-block-jobs | grep -qx '\[\]' ||
    vs_fail "$impl: query-block-jobs over TLS"
  set +e
  "$cli" qmp --socket "$addr" --tls "$VS_TMP/other" query-version 2>"$VS_TMP/err1"; rc1=$?
  "$cli" qmp --socket "$addr" --tls "$VS_TMP/ca-only" query-version 2>"$VS_TMP/err2"; rc2=$?
  set -e
  [ $rc1 -eq 1 ] && grep -q "ConnectionError.*certificate is refused" "$VS_TMP/err1" ||
    vs_fail "$impl: server from another CA: exit $rc1, $(cat "$VS_TMP/err1")"
  [ $rc2 -eq 1 ] && grep -q "ConnectionError" "$VS_TMP/err2" ||
    vs_fail "$impl: no client certificate: exit $rc2, $(cat "$VS_TMP/err2")"
  vs_log "$impl: $(cat "$VS_TMP/err2")"
  vs_stop
done
