#!/usr/bin/env bash
# A server with PSK credentials (tls-creds-psk, keys.psk with the user
# alice): a client with alice's key connects over TLS; a client with alice
# and another key is refused, and so is an unknown user; the daemon goes
# on serving the right client afterwards.
. "$(dirname "$0")/../lib.sh"
vs_require nbdinfo
vs_init
pki="$VS_TMP/pki"
vs_tls_certs "$pki"
export HOME="$VS_TMP/home"
mkdir "$VS_TMP/wrong" "$VS_TMP/bob"
echo "alice:$(openssl rand -hex 32)" >"$VS_TMP/wrong/keys.psk"
echo "bob:$(cut -d: -f2 "$pki/psk/keys.psk")" >"$VS_TMP/bob/keys.psk"
chmod 600 "$VS_TMP/wrong/keys.psk" "$VS_TMP/bob/keys.psk"
vs_sparse_file "$VS_TMP/disk.img" 4M
vs_start --tls "tls-creds-psk,id=tls0,dir=$pki/psk,endpoint=server" \
         --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img" \
         --export nbd,node=vol0,name=vol0,writable=on
good="nbds+unix://alice@/vol0?socket=$VS_SOCK&tls-psk-file=$pki/psk/keys.psk"

nbdinfo "$good" >"$VS_TMP/out" 2>&1 || vs_fail "alice with her key was refused: $(cat "$VS_TMP/out")"
grep -q 'with TLS' "$VS_TMP/out" || vs_fail "nbdinfo does not report TLS: $(cat "$VS_TMP/out")"
grep -q 'size: 4194304' "$VS_TMP/out" || vs_fail "wrong size: $(cat "$VS_TMP/out")"

for bad in "alice@/vol0?socket=$VS_SOCK&tls-psk-file=$VS_TMP/wrong/keys.psk" \
           "bob@/vol0?socket=$VS_SOCK&tls-psk-file=$VS_TMP/bob/keys.psk"; do
  if nbdinfo --size "nbds+unix://$bad" >"$VS_TMP/out" 2>&1; then
    vs_fail "nbds+unix://$bad was accepted: $(cat "$VS_TMP/out")"
  fi
  vs_log "refused as expected: $(tr '\n' ' ' <"$VS_TMP/out")"
  kill -0 "$VS_PID" || vs_fail "daemon died refusing a wrong key"
  [ "$(nbdinfo --size "$good")" = 4194304 ] || vs_fail "the right key was refused afterwards"
done
echo ok
