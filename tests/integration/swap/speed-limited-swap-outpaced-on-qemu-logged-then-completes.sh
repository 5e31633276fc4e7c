#!/usr/bin/env bash
# The same outpaced, speed-limited swap with qemu-storage-daemon (QEMU 7.2)
# as the host daemon, which has no block-job-change: the worker says in
# its log that the mirror cannot be switched, asks only once, and the
# swap completes when the consumer calms down (fio stops after 4 s).
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_TEST_HOST_DAEMON=qsd VOLSWAP_SWAP_SPEED=$((4 << 20))
export VOLSWAP_SWAP_CONVERGE_WINDOW=1 VOLSWAP_SWAP_READY_TIMEOUT=60
swap_setup
attached_pair 1 8
fio_flat_out "$URI" 4
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
[ "$(grep -c "cannot be switched to write-blocking.*CommandNotFound" "$T/api.log")" = 1 ] \
  || fail "expected one 'cannot be switched' line: $(grep -i outpaced "$T/api.log")"
wait "$FIO_PID" 2>/dev/null || true
file_check "$(volume_path "$NEW")" 0x5a 8
echo ok
