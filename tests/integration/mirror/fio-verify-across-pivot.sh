#!/usr/bin/env bash
# fio (its nbd engine) writes with crc32c verification to an exported
# volume while the volume is mirrored and pivoted: fio sees no error and
# every block it reads back — before or after the switch — verifies.
set -euo pipefail
. "$(dirname "$0")/../lib.sh" 2>/dev/null || true
runner="$VOLSWAP_BUILD/src/jobs/mirror-run"
[ -x "$runner" ] || { echo "mirror-run not built"; exit 77; }
command -v fio >/dev/null || { echo "fio not installed"; exit 77; }
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
truncate -s 64M "$tmp/src.img" "$tmp/tgt.img"
"$runner" "$tmp/src.img" "$tmp/tgt.img" --export "$tmp/nbd.sock" --go "$tmp/go" \
    --stop "$tmp/stop" --complete-after 100 >"$tmp/out" &
pid=$!
for _ in $(seq 500); do [ -S "$tmp/nbd.sock" ] && break; sleep 0.01; done
[ -S "$tmp/nbd.sock" ] || { echo "no export socket"; exit 1; }
fio --name=verify --ioengine=nbd --uri="nbd+unix:///src?socket=$tmp/nbd.sock" \
    --rw=randwrite --bs=4k --iodepth=16 --size=32M --loops=6 \
    --verify=crc32c --verify_fatal=1 --output="$tmp/fio.log" &
fio_pid=$!
sleep 0.2   # let fio get going; only ordering, nothing is asserted on time
touch "$tmp/go"
wait "$fio_pid" || { cat "$tmp/fio.log"; echo "fio failed"; exit 1; }
touch "$tmp/stop"
wait "$pid"; pid=
grep -q '^done' "$tmp/out" || { cat "$tmp/out"; echo "mirror did not complete"; exit 1; }
grep -q '^pivoted tgt' "$tmp/out" || { cat "$tmp/out"; echo "export not switched"; exit 1; }
grep -q 'err= 0' "$tmp/fio.log" || { cat "$tmp/fio.log"; echo "fio reported errors"; exit 1; }
echo ok
