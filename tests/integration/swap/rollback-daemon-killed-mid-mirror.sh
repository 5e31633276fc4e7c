#!/usr/bin/env bash
# The host daemon dies (SIGKILL) while the mirror copies (rate-limited so
# it is still copying): the worker sees the QMP session end, rolls the
# volume states back and records the Error event; the registry keeps the
# server on the old volume, whose file holds every byte written.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
swap_setup
attached_pair 1 8
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
wait_phase "$SID" "$OLD" mirroring
host_kill
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "not rolled back: $(cat "$T/last.body")"
progress "$SID" "$OLD" | jq -e '.error | test("lost")' >/dev/null || fail "error: $(progress "$SID" "$OLD")"
expect_rolled_back
file_check "$(volume_path "$OLD")" 0x5a 8
echo ok
