#!/usr/bin/env bash
# A client that does not use TLS (nbd+unix://) is refused by a server that
# requires it: nbdinfo fails, and with --size (which does not fall back to
# listing) libnbd reports that the server requires TLS; nbdinfo --list
# fails too. The daemon goes on serving a TLS client.
. "$(dirname "$0")/../lib.sh"
vs_require nbdinfo
vs_init
pki="$VS_TMP/pki"
vs_tls_certs "$pki"
export HOME="$VS_TMP/home"
vs_sparse_file "$VS_TMP/disk.img" 4M
vs_start --tls "tls-creds-x509,id=tls0,dir=$pki,endpoint=server" \
         --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img" \
         --export nbd,node=vol0,name=vol0,writable=on
plain="nbd+unix:///vol0?socket=$VS_SOCK"
for args in "" "--size" "--list"; do
  # shellcheck disable=SC2086 # no args, or one
  if nbdinfo $args "$plain" >"$VS_TMP/out" 2>"$VS_TMP/err"; then
    vs_fail "nbdinfo $args without TLS was served: $(cat "$VS_TMP/out")"
  fi
  vs_log "nbdinfo $args refused: $(tr '\n' ' ' <"$VS_TMP/err")"
  kill -0 "$VS_PID" || vs_fail "daemon died refusing a plaintext client"
done
nbdinfo --size "$plain" >"$VS_TMP/out" 2>"$VS_TMP/err" || true
grep -q 'server requires TLS encryption first' "$VS_TMP/err" \
  || vs_fail "nbdinfo --size does not say the server requires TLS: $(cat "$VS_TMP/err")"
nbdinfo "nbds+unix:///vol0?socket=$VS_SOCK&tls-certificates=$pki" >"$VS_TMP/out" 2>&1 \
  || vs_fail "a TLS client was refused afterwards: $(cat "$VS_TMP/out")"
grep -q 'with TLS' "$VS_TMP/out" || vs_fail "nbdinfo does not report TLS: $(cat "$VS_TMP/out")"
echo ok
