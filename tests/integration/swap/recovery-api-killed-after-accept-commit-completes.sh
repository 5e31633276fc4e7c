#!/usr/bin/env bash
# volswap-api is SIGKILLed right after a swap's acceptance committed
# (states, action and the record in phase "accepted") and before its
# worker started: gdb stops it where the worker is launched and kills it
# there. The restarted API finds the record and runs the swap from the
# start; it completes and the server ends on the new volume with its data.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
command -v gdb >/dev/null || skip "gdb not installed"
swap_setup
attached_pair 1 4
api_killed_in swap_launch "the launch" swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
[ "$(reg_sql "SELECT phase FROM swaps")" = accepted ] || fail "record: $(reg_sql "SELECT id, phase FROM swaps")"
api_start
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "recovered swap: $(cat "$T/last.body")"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(volume_field "$OLD" status)" = available ] && [ "$(volume_field "$NEW" status)" = in-use ] \
  || fail "states: $(volume_field "$OLD" status) / $(volume_field "$NEW" status)"
file_check "$(volume_path "$NEW")" 0x5a 4
echo ok
