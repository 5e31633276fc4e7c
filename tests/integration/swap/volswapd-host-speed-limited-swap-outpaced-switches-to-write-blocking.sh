#!/usr/bin/env bash
# With a speed limit (VOLSWAP_SWAP_SPEED, 4 MiB/s here) a consumer writing
# flat out over 16 MiB keeps a background mirror from READY: the bytes
# left stop going down. The worker finds a window (1 s here) outpaced,
# switches the job to write-blocking with block-job-change, and the swap
# completes, with the data written before the swap on the new volume; the
# CLI's progress lines (volume-update --wait) say write-blocking from then on.
# Without the switch it never would: the READY timeout (60 s here) would
# roll it back.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_TEST_HOST_DAEMON=volswapd VOLSWAP_SWAP_SPEED=$((4 << 20))
export VOLSWAP_SWAP_CONVERGE_WINDOW=1 VOLSWAP_SWAP_READY_TIMEOUT=60
swap_setup
need_swap_cli
attached_pair 1 8
fio_flat_out "$URI" 120
(
  unset OS_AUTH_URL OS_USERNAME OS_PASSWORD OS_PROJECT_NAME
  export OS_AUTH_TYPE=admin_token OS_TOKEN=$ADMIN_TOKEN OS_ENDPOINT=$URL/v2.1
  "$CLI_BIN" volume-update --wait "$SID" "$OLD" "$NEW" >"$T/out" 2>"$T/err"
) || fail "volume-update: $(cat "$T/err")"
[ "$(progress "$SID" "$OLD" | jq -r .state)" = completed ] || fail "swap: $(progress "$SID" "$OLD")"
grep -q "outpaced at 4194304 bytes/s .*switched to write-blocking" "$T/api.log" \
  || fail "no switch in the log: $(grep -i outpaced "$T/api.log")"
grep -q "mirroring *write-blocking" "$T/err" && grep -q "mirroring *$" "$T/err" \
  || fail "the progress lines do not show the switch: $(tail -3 "$T/err")"
kill "$FIO_PID"; wait "$FIO_PID" 2>/dev/null || true
file_check "$(volume_path "$NEW")" 0x5a 8
echo ok
