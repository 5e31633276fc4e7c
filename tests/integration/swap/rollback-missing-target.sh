#!/usr/bin/env bash
# The new volume's storage is gone when the worker opens it: the swap rolls
# back (roll_detaching, unreserve), the error is in the progress record, the
# server stays on the old volume and keeps writing there.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
swap_setup
attached_pair 1 2
rm -f "$(volume_path "$NEW")"
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "not rolled back: $(cat "$T/last.body")"
progress "$SID" "$OLD" | jq -e '.error | test("blockdev-add|drive-mirror|No such file|Could not open")' >/dev/null \
  || fail "no error recorded: $(progress "$SID" "$OLD")"
expect_rolled_back
echo ok
