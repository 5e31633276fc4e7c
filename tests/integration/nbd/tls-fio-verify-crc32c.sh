#!/usr/bin/env bash
# fio's nbd engine over TLS (nbds+unix; the server's credentials have
# verify-peer=off, so a client without a certificate is accepted: fio's
# engine takes no tls-certificates in its URI) writes random 4k blocks at
# queue depth 16, sequential 1M blocks at depth 8 and random 64k blocks at
# depth 4 with crc32c checksums, and verifies every block it wrote when it
# reads them back.
. "$(dirname "$0")/../lib.sh"
vs_require fio
fio --enghelp=nbd >/dev/null 2>&1 || vs_skip "fio has no nbd engine"
vs_init
pki="$VS_TMP/pki"
vs_tls_certs "$pki"
# libnbd looks for client certificates under $HOME: none here.
export HOME="$VS_TMP/home"
vs_sparse_file "$VS_TMP/disk.img" 32M
vs_start --tls "tls-creds-x509,id=tls0,dir=$pki,endpoint=server,verify-peer=off" \
         --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img" \
         --export nbd,node=vol0,name=vol0,writable=on
uri="nbds+unix:///vol0?socket=$VS_SOCK"
for job in "randwrite 4k 16" "write 1M 8" "randwrite 64k 4"; do
  # shellcheck disable=SC2086 # split "rw bs depth" on purpose
  set -- $job
  fio --name="verify-$1-$2" --ioengine=nbd --uri="$uri" --rw="$1" --bs="$2" \
      --iodepth="$3" --size=32M --verify=crc32c --do_verify=1 --verify_fatal=1 \
      --randrepeat=1 --verify_state_save=0 --output="$VS_TMP/fio.out" \
    || { cat "$VS_TMP/fio.out"; vs_fail "fio $job: verification or I/O failed"; }
  grep -q 'err= 0' "$VS_TMP/fio.out" || { cat "$VS_TMP/fio.out"; vs_fail "fio $job reported an error"; }
done
# The writes really went through the server to the file: it is not all zero.
cmp -s "$VS_TMP/disk.img" <(head -c 32M /dev/zero) && vs_fail "backing file is still all zero"
echo ok
