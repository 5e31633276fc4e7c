#!/usr/bin/env bash
# The monitor chardev's TLS options are refused as qemu-storage-daemon
# refuses them, with the same message, exit status 1 and one line:
# tls-creds on a unix socket, tls-authz without tls-creds, credentials
# that do not exist, client-endpoint credentials, an object that is not
# credentials. When qsd is installed its message is compared too.
. "$(dirname "$0")/../lib.sh"
vs_init
[ "$(vs_impl)" = volswapd ] || vs_skip "runs volswapd and qsd itself"
bin=$(vs_daemon_bin)
vs_tls_certs "$VS_TMP/pki"
pki=$VS_TMP/pki
tcp="socket,id=m,host=127.0.0.1,port=1,server=on,wait=off"
cases=(
  "--object tls-creds-x509,id=t0,dir=$pki,endpoint=server|--chardev|socket,id=m,path=$VS_TMP/m.sock,server=on,wait=off,tls-creds=t0|'tls_creds' option is incompatible with 'unix' address type"
  "|--chardev|$tcp,tls-authz=az|'tls_authz' option requires 'tls_creds' option"
  "|--chardev|$tcp,tls-creds=nosuch|No TLS credentials with id 'nosuch'"
  "--object tls-creds-x509,id=t0,dir=$pki,endpoint=client|--chardev|$tcp,tls-creds=t0|Expected TLS credentials for a server endpoint"
  "--object authz-simple,id=t0,identity=x|--chardev|$tcp,tls-creds=t0|Object with id 't0' is not TLS credentials"
)
run() { # BIN OBJECT CHARDEV -> prints "rc|output"
  local out rc
  set +e
  # shellcheck disable=SC2086
  out=$("$1" $2 --chardev "$3" --monitor chardev=m 2>&1)
  rc=$?
  set -e
  echo "$rc|$out"
}
for c in "${cases[@]}"; do
  IFS='|' read -r obj _ chardev want <<<"$c"
  got=$(run "$bin" "$obj" "$chardev")
  [ "${got%%|*}" = 1 ] || vs_fail "--chardev $chardev: exit ${got%%|*}, want 1"
  msg=${got#*|}
  [ "$(printf '%s\n' "$msg" | wc -l)" -eq 1 ] || vs_fail "--chardev $chardev: $msg"
  case "$msg" in
    *"$want") ;;
    *) vs_fail "--chardev $chardev: '$msg', want '... $want'" ;;
  esac
  if command -v qemu-storage-daemon >/dev/null; then
    ref=$(run qemu-storage-daemon "$obj" "$chardev")
    case "${ref#*|}" in
      *"$want") ;;
      *) vs_fail "qemu-storage-daemon says '${ref#*|}' for --chardev $chardev (test out of date?)" ;;
    esac
  fi
done
