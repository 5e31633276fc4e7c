#!/usr/bin/env bash
# qemu-io, a client with x509 credentials (endpoint=client), writes
# patterns at several offsets and sizes, up to 4 MiB and unaligned, through
# a TLS export and reads them back with pattern checks, then reads the
# backing file directly: over a unix socket (tls-hostname=localhost, which
# QEMU needs to check the server's certificate there) and over TCP
# (the hostname is server.host, matched by the certificate's IP SAN).
. "$(dirname "$0")/../lib.sh"
vs_require qemu-io
vs_init
pki="$VS_TMP/pki"
vs_tls_certs "$pki"
tlsobj="tls-creds-x509,id=t,dir=$pki,endpoint=client"

writes=(-c 'write -P 0xab 0 4k' -c 'write -P 0x5a 70001 3333' -c 'write -P 0x11 1M 4M'
        -c 'write -P 0x22 8388607 65537' -c 'write -P 0x33 16773120 4096')
reads=(-c 'read -P 0xab 0 4k' -c 'read -P 0x5a 70001 3333' -c 'read -P 0 73334 1000'
       -c 'read -P 0x11 1M 4M' -c 'read -P 0x22 8388607 65537' -c 'read -P 0 5M 1M'
       -c 'read -P 0x33 16773120 4096')

round_trip() { # LABEL IMAGE-OPTS DISK
  local out
  out=$(qemu-io --object "$tlsobj" --image-opts "${writes[@]}" "$2" 2>&1) \
    || vs_fail "$1: qemu-io write failed: $out"
  echo "$out" | grep -q 'wrote 4194304/4194304 bytes' || vs_fail "$1: 4M write not done: $out"
  out=$(qemu-io --object "$tlsobj" --image-opts "${reads[@]}" "$2" 2>&1) \
    || vs_fail "$1: qemu-io read failed: $out"
  echo "$out" | grep -q 'Pattern verification failed' && vs_fail "$1: read back wrong data: $out"
  [ "$(echo "$out" | grep -c '^read ')" = 7 ] || vs_fail "$1: not every read done: $out"
  out=$(qemu-io -f raw "${reads[@]}" "$3" 2>&1)
  echo "$out" | grep -q 'Pattern verification failed' && vs_fail "$1: backing file lacks the writes: $out"
  [ "$(echo "$out" | grep -c '^read ')" = 7 ] || vs_fail "$1: reading the backing file failed: $out"
}

vs_sparse_file "$VS_TMP/unix.img" 16M
vs_start --tls "tls-creds-x509,id=tls0,dir=$pki,endpoint=server" \
         --blockdev file,node-name=vol0,filename="$VS_TMP/unix.img" \
         --export nbd,node=vol0,name=vol0,writable=on
round_trip unix \
  "driver=nbd,server.type=unix,server.path=$VS_SOCK,export=vol0,tls-creds=t,tls-hostname=localhost" \
  "$VS_TMP/unix.img"

vs_sparse_file "$VS_TMP/tcp.img" 16M
vs_start --tcp --tls "tls-creds-x509,id=tls0,dir=$pki,endpoint=server" \
         --blockdev file,node-name=vol0,filename="$VS_TMP/tcp.img" \
         --export nbd,node=vol0,name=vol0,writable=on
round_trip tcp \
  "driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=$VS_PORT,export=vol0,tls-creds=t" \
  "$VS_TMP/tcp.img"
echo ok
