#!/usr/bin/env bash
# volswap-api is killed (SIGKILL) while the mirror copies. The restarted API
# finds the swap unfinished in its store, asks the host (the export still
# serves the old node), cancels the job, closes the new node and rolls the
# volume states back before it answers: never half-swapped.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
swap_setup
attached_pair 1 8
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
wait_phase "$SID" "$OLD" mirroring
kill -9 "$API_PID"; wait "$API_PID" 2>/dev/null || true; API_PID=
JOBS=$(qmp_cmd '{"execute":"query-jobs"}')
[ "$(echo "$JOBS" | jq ".return | length")" = 1 ] || fail "the mirror should still run on the host: $JOBS"
api_start
P=$(progress "$SID" "$OLD")
[ "$(echo "$P" | jq -r .state)" = rolled-back ] || fail "after restart: $P"
expect_rolled_back
[ "$(qmp_cmd '{"execute":"query-jobs"}' | jq '.return | length')" = 0 ] || fail "the job was left running"
file_check "$(volume_path "$OLD")" 0x77 1
echo ok
