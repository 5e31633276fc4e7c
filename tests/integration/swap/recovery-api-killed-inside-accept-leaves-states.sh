#!/usr/bin/env bash
# volswap-api is SIGKILLed in the middle of accepting a swap: gdb stops it
# where the swap record is written, after the volume states changed in
# the same transaction, and kills it there. The transaction never
# committed, so after a restart nothing is stranded: the old volume is
# in-use and the new one available, no swap record and no swap_volume
# action exist, the host serves the attachment as before, and the same
# swap is accepted again and completes. (The soak once found the states
# marked and no record, when the two were written apart.)
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
command -v gdb >/dev/null || skip "gdb not installed"
swap_setup
attached_pair 1 4
api_killed_in swap_store_insert "the swap record" swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
[ "$STATUS" != 202 ] || fail "the swap was answered 202 though the API died before its record"
api_start
[ "$(volume_field "$OLD" status)" = in-use ] || fail "old volume left $(volume_field "$OLD" status)"
[ "$(volume_field "$NEW" status)" = available ] || fail "new volume left $(volume_field "$NEW" status)"
[ "$(reg_sql "SELECT count(*) FROM swaps")" = 0 ] || fail "a swap record was kept: $(reg_sql "SELECT id, phase FROM swaps")"
[ "$(reg_sql "SELECT count(*) FROM instance_actions WHERE action='swap_volume'")" = 0 ] \
  || fail "a swap_volume action was kept"
expect_host_matches_registry
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "the swap after the restart: $(cat "$T/last.body")"
file_check "$(volume_path "$NEW")" 0x5a 4
echo ok
