#!/usr/bin/env bash
# A full swap under load through the volswapd driver: fio writes 4k random
# blocks through the NBD export (with --verify) while the mirror runs and
# pivots; fio's own read-back through the export verifies, and so does a
# verify-only pass straight on the new volume's file: every write the
# consumer made is on the new volume. Host daemon: VOLSWAP_TEST_HOST_DAEMON
# (qemu-storage-daemon by default, our volswapd when set to volswapd).
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
VOLSWAP_TEST_DRIVER=volswapd
swap_setup
attached_pair 1 0
fio_start "$URI" 32
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
kill -0 "$FIO_PID" 2>/dev/null || echo "note: fio ended before the swap did"
fio_wait
fio_verify_file "$(volume_path "$NEW")" 32
progress "$SID" "$NEW"
echo ok
