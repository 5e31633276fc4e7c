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
gdb -p "$API_PID" -batch -nx -ex 'set pagination off' -ex 'break swap_launch' \
  -ex 'echo READY\n' -ex continue -ex 'echo HIT\n' -ex kill >"$T/gdb.out" 2>&1 &
GDB_PID=$!
for _ in $(seq 600); do grep -q READY "$T/gdb.out" && break; sleep 0.05; done
grep -q READY "$T/gdb.out" || fail "gdb did not attach: $(cat "$T/gdb.out")"
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW" || true
wait "$GDB_PID" || true
grep -q HIT "$T/gdb.out" || fail "the accept never reached the launch: $(cat "$T/gdb.out")"
wait "$API_PID" 2>/dev/null || true
API_PID=
[ "$(reg_sql "SELECT phase FROM swaps")" = accepted ] || fail "record: $(reg_sql "SELECT id, phase FROM swaps")"
api_start
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "recovered swap: $(cat "$T/last.body")"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(volume_field "$OLD" status)" = available ] && [ "$(volume_field "$NEW" status)" = in-use ] \
  || fail "states: $(volume_field "$OLD" status) / $(volume_field "$NEW" status)"
file_check "$(volume_path "$NEW")" 0x5a 4
echo ok
