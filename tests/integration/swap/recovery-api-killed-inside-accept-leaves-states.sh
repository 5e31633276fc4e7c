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
gdb -p "$API_PID" -batch -nx -ex 'set pagination off' -ex 'break swap_store_insert' \
  -ex 'echo READY\n' -ex continue -ex 'echo HIT\n' -ex kill >"$T/gdb.out" 2>&1 &
GDB_PID=$!
for _ in $(seq 600); do grep -q READY "$T/gdb.out" && break; sleep 0.05; done
grep -q READY "$T/gdb.out" || fail "gdb did not attach: $(cat "$T/gdb.out")"
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW" || true
wait "$GDB_PID" || true
grep -q HIT "$T/gdb.out" || fail "the accept never reached the swap record: $(cat "$T/gdb.out")"
wait "$API_PID" 2>/dev/null || true
API_PID=
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
