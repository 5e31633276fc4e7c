#!/usr/bin/env bash
# With the default verify-peer, a TLS client that presents no certificate
# (its directory holds only the CA) is refused, and the daemon goes on
# serving a client that does present one. A second daemon whose
# credentials have verify-peer=off accepts the client without a
# certificate.
. "$(dirname "$0")/../lib.sh"
vs_require nbdinfo
vs_init
pki="$VS_TMP/pki"
vs_tls_certs "$pki"
mkdir "$VS_TMP/ca-only"
cp "$pki/ca-cert.pem" "$VS_TMP/ca-only/"
# No user's certificates from ~/.pki or ~/.config/pki into this test.
export HOME="$VS_TMP/home"
vs_sparse_file "$VS_TMP/disk.img" 4M

vs_start --tls "tls-creds-x509,id=tls0,dir=$pki,endpoint=server" \
         --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img" \
         --export nbd,node=vol0,name=vol0
sock=$VS_SOCK
if nbdinfo --size "nbds+unix:///vol0?socket=$sock&tls-certificates=$VS_TMP/ca-only" \
     >"$VS_TMP/out" 2>&1; then
  vs_fail "a client without a certificate was accepted: $(cat "$VS_TMP/out")"
fi
vs_log "refused as expected: $(tr '\n' ' ' <"$VS_TMP/out")"
kill -0 "$VS_PID" || vs_fail "daemon died after refusing a client without a certificate"
size=$(nbdinfo --size "nbds+unix:///vol0?socket=$sock&tls-certificates=$pki") \
  || vs_fail "a client with a certificate was refused afterwards"
[ "$size" = 4194304 ] || vs_fail "size $size, expected 4194304"

vs_start --tls "tls-creds-x509,id=tls0,dir=$pki,endpoint=server,verify-peer=off" \
         --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img",read-only=on \
         --export nbd,node=vol0,name=vol0
nbdinfo "nbds+unix:///vol0?socket=$VS_SOCK&tls-certificates=$VS_TMP/ca-only" >"$VS_TMP/out" 2>&1 \
  || vs_fail "verify-peer=off: a client without a certificate was refused: $(cat "$VS_TMP/out")"
grep -q 'with TLS' "$VS_TMP/out" || vs_fail "nbdinfo does not report TLS: $(cat "$VS_TMP/out")"
echo ok
