#!/usr/bin/env bash
# volswap-api stopped cleanly (SIGTERM) while a mirror copies: it exits 0
# without waiting for the mirror (and, in the sanitizer build, without a
# leak), leaving the swap's record in its phase; the next start settles it
# against the host like after a crash: rolled back, job cancelled.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
swap_setup
attached_pair 1 8
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
wait_phase "$SID" "$OLD" mirroring
kill -TERM "$API_PID"
wait "$API_PID" || fail "volswap-api exited with status $? on SIGTERM"
API_PID=
sanitizer_check || exit 1
[ "$(reg_sql "SELECT phase FROM swaps")" = mirroring ] || fail "phase: $(reg_sql "SELECT phase FROM swaps")"
api_start
[ "$(progress "$SID" "$OLD" | jq -r .state)" = rolled-back ] || fail "after restart: $(progress "$SID" "$OLD")"
expect_rolled_back
[ "$(qmp_cmd '{"execute":"query-jobs"}' | jq '.return | length')" = 0 ] || fail "the job was left running"
echo ok
