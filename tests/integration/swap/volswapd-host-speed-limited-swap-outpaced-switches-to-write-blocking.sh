#!/usr/bin/env bash
# With a speed limit (VOLSWAP_SWAP_SPEED, 4 MiB/s here) a consumer writing
# flat out over 16 MiB keeps a background mirror from READY: the bytes
# left stop going down. The worker finds a window (1 s here) outpaced,
# switches the job to write-blocking with block-job-change, and the swap
# completes, with the data written before the swap on the new volume.
# Without the switch it never would: the READY timeout (60 s here) would
# roll it back.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_TEST_HOST_DAEMON=volswapd VOLSWAP_SWAP_SPEED=$((4 << 20))
export VOLSWAP_SWAP_CONVERGE_WINDOW=1 VOLSWAP_SWAP_READY_TIMEOUT=60
swap_setup
attached_pair 1 8
fio --name=load --ioengine=nbd --uri="$URI" --rw=randwrite --bs=4k --iodepth=16 \
  --offset=16M --size=16M --time_based --runtime=120 >"$T/fio.log" 2>&1 &
FIO=$!
trap 'kill "$FIO" 2>/dev/null || true; cleanup' EXIT
sleep 0.5
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
modes=
for _ in $(seq 1200); do
  p=$(progress "$SID" "$OLD")
  [ "$(jq -r .state <<<"$p")" = running ] || break
  modes="$modes $(jq -r .copy_mode <<<"$p")"
  sleep 0.05
done
[ "$(jq -r .state <<<"$p")" = completed ] || fail "swap: $p"
grep -q "outpaced at 4194304 bytes/s .*switched to write-blocking" "$T/api.log" \
  || fail "no switch in the log: $(grep -i outpaced "$T/api.log")"
case "$modes" in *background*write-blocking*) ;; *) fail "progress copy_mode went: $modes" ;; esac
kill "$FIO"; wait "$FIO" 2>/dev/null || true
file_check "$(volume_path "$NEW")" 0x5a 8
echo ok
