#!/usr/bin/env bash
# fio's nbd engine writes random 4k blocks at queue depth 16 and then large
# sequential blocks at depth 8 with crc32c checksums, and verifies every
# block it wrote when it reads them back.
. "$(dirname "$0")/../lib.sh"
vs_require fio
fio --enghelp=nbd >/dev/null 2>&1 || vs_skip "fio has no nbd engine"
vs_init
vs_sparse_file "$VS_TMP/disk.img" 32M
vs_start --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img" \
         --export nbd,node=vol0,name=vol0,writable=on
for job in "randwrite 4k 16" "write 1M 8" "randwrite 64k 4"; do
  # shellcheck disable=SC2086 # split "rw bs depth" on purpose
  set -- $job
  fio --name="verify-$1-$2" --ioengine=nbd --uri="$(vs_uri vol0)" --rw="$1" --bs="$2" \
      --iodepth="$3" --size=32M --verify=crc32c --do_verify=1 --verify_fatal=1 \
      --randrepeat=1 --verify_state_save=0 --output="$VS_TMP/fio.out" \
    || { cat "$VS_TMP/fio.out"; vs_fail "fio $job: verification or I/O failed"; }
  grep -q 'err= 0' "$VS_TMP/fio.out" || { cat "$VS_TMP/fio.out"; vs_fail "fio $job reported an error"; }
done
echo ok
