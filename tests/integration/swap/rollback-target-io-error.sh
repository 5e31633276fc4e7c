#!/usr/bin/env bash
# The new volume is a block device (a loop device from a block pool) whose
# backing store runs out under the mirror: the device fails the writes with
# an I/O error. The job ends with the error, the swap rolls back, and the
# consumer's old volume never saw it.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
mkdir -p "$T/back"
mount -t tmpfs -o size=4M tmpfs "$T/back" 2>/dev/null || skip "cannot mount a tmpfs here"
truncate -s 1G "$T/back/dev.img"
LOOP=$(losetup -f --show "$T/back/dev.img" 2>/dev/null) || { umount "$T/back"; skip "no loop device"; }
trap 'losetup -d "$LOOP" 2>/dev/null; umount "$T/back" 2>/dev/null || true; cleanup' EXIT
export VOLSWAP_TEST_BLOCK_DEVICE=$LOOP
swap_setup
attached_pair 1 16 1 blockpool
[ "$(volume_path "$NEW")" = "$LOOP" ] || fail "the new volume is not the loop device: $(volume_path "$NEW")"
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "not rolled back: $(cat "$T/last.body")"
progress "$SID" "$OLD" | jq -e '.error | test("Input/output error")' >/dev/null \
  || fail "no error recorded: $(progress "$SID" "$OLD")"
file_check "$(volume_path "$OLD")" 0x5a 16
expect_rolled_back
echo ok
