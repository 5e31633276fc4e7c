#!/usr/bin/env bash
# The new volume lives in a pool that fills up (a 4 MiB tmpfs) while 16 MiB
# are mirrored: the target's ENOSPC ends the job with an error, the swap
# rolls back, and the consumer's volume never saw the error.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
mkdir -p "$T/pool2"
mount -t tmpfs -o size=4M tmpfs "$T/pool2" 2>/dev/null || skip "cannot mount a tmpfs here"
cleanup_mount() { umount "$T/pool2" 2>/dev/null || true; }
trap 'cleanup_mount; cleanup' EXIT
swap_setup
attached_pair 1 16 1 pool2
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "not rolled back: $(cat "$T/last.body")"
progress "$SID" "$OLD" | jq -e '.error | test("No space|ended before READY")' >/dev/null \
  || fail "no ENOSPC recorded: $(progress "$SID" "$OLD")"
file_check "$(volume_path "$OLD")" 0x5a 16
expect_rolled_back
echo ok
