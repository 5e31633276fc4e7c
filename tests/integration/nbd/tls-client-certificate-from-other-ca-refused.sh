#!/usr/bin/env bash
# A TLS client presenting a certificate issued by another CA (it trusts our
# CA, so the server's certificate is fine for it) is refused by a server
# with the default verify-peer, and the daemon goes on serving a client
# whose certificate our CA issued.
. "$(dirname "$0")/../lib.sh"
vs_require nbdinfo
vs_init
pki="$VS_TMP/pki"
vs_tls_certs "$pki"
vs_tls_certs "$VS_TMP/other"
mkdir "$VS_TMP/mixed"
cp "$pki/ca-cert.pem" "$VS_TMP/mixed/"
cp "$VS_TMP/other/client-cert.pem" "$VS_TMP/other/client-key.pem" "$VS_TMP/mixed/"
cmp -s "$pki/ca-cert.pem" "$VS_TMP/other/ca-cert.pem" && vs_fail "gen-tls-certs.sh made the same CA twice"
export HOME="$VS_TMP/home"
vs_sparse_file "$VS_TMP/disk.img" 4M
vs_start --tls "tls-creds-x509,id=tls0,dir=$pki,endpoint=server" \
         --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img" \
         --export nbd,node=vol0,name=vol0,writable=on
for _ in 1 2; do
  if nbdinfo --size "nbds+unix:///vol0?socket=$VS_SOCK&tls-certificates=$VS_TMP/mixed" \
       >"$VS_TMP/out" 2>&1; then
    vs_fail "a client certificate from another CA was accepted: $(cat "$VS_TMP/out")"
  fi
  vs_log "refused as expected: $(tr '\n' ' ' <"$VS_TMP/out")"
  kill -0 "$VS_PID" || vs_fail "daemon died after refusing a certificate from another CA"
  nbdinfo "nbds+unix:///vol0?socket=$VS_SOCK&tls-certificates=$pki" >"$VS_TMP/out" 2>&1 \
    || vs_fail "a client with our CA's certificate was refused afterwards: $(cat "$VS_TMP/out")"
  grep -q 'with TLS' "$VS_TMP/out" || vs_fail "nbdinfo does not report TLS: $(cat "$VS_TMP/out")"
done
echo ok
