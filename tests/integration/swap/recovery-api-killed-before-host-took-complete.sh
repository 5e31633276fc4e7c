#!/usr/bin/env bash
# volswap-api dies after it recorded the completing phase but before the
# host read block-job-complete: the mirror job is still ready. On a
# qemu-storage-daemon host the export then names the mirror's filter node
# (neither volume's), so the export alone cannot tell whether the pivot
# happened; the restarted API sees the job still ready, cancels it (no
# pivot) and rolls back, instead of leaving the swap unfinished for ever.
# (Found by bench/soak --qsd.)
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
swap_setup
attached_pair 1 8
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
wait_phase "$SID" "$OLD" mirroring
kill -9 "$API_PID"; wait "$API_PID" 2>/dev/null || true; API_PID=
JOB=$(qmp_cmd '{"execute":"query-jobs"}' | jq -r '.return[0].id')
[ -n "$JOB" ] && [ "$JOB" != null ] || fail "no mirror job on the host"
qmp_cmd "{\"execute\":\"block-job-set-speed\",\"arguments\":{\"device\":\"$JOB\",\"speed\":0}}" >/dev/null
for _ in $(seq 200); do
  [ "$(qmp_cmd '{"execute":"query-jobs"}' | jq -r '.return[0].status')" = ready ] && break
  sleep 0.1
done
[ "$(qmp_cmd '{"execute":"query-jobs"}' | jq -r '.return[0].status')" = ready ] || fail "the job never got ready"
# the API's last word before it died: block-job-complete is next
reg_sql "UPDATE swaps SET phase='completing' WHERE id='$JOB'"
api_start
P=$(progress "$SID" "$OLD")
[ "$(echo "$P" | jq -r .state)" = rolled-back ] || fail "after restart: $P"
expect_rolled_back
[ "$(qmp_cmd '{"execute":"query-jobs"}' | jq '.return | length')" = 0 ] || fail "the job was left on the host"
echo ok
