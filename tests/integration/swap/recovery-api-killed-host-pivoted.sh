#!/usr/bin/env bash
# volswap-api is killed mid-mirror, and the job then completes on the host
# without it (READY, block-job-complete by hand): the export serves the new
# node. The restarted API sees that and finishes the swap instead of rolling
# back -- the registry follows what the daemon serves (Nova bug 2112187 is
# the opposite): attachment on the new volume, old available, old node
# closed, Success event, and the consumer's writes land in the new file.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
swap_setup
attached_pair 1 8
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
REQ=$(header x-openstack-request-id)
wait_phase "$SID" "$OLD" mirroring
kill -9 "$API_PID"; wait "$API_PID" 2>/dev/null || true; API_PID=
R=$(qmp_cmd "{\"execute\":\"block-job-set-speed\",\"arguments\":{\"device\":\"$REQ\",\"speed\":0}}")
echo "$R" | jq -e .return >/dev/null || fail "set-speed: $R; jobs: $(qmp_cmd '{"execute":"query-jobs"}')"
for _ in $(seq 200); do
  [ "$(qmp_cmd '{"execute":"query-jobs"}' | jq -r '.return[0].status')" = ready ] && break; sleep 0.05
done
qmp_cmd "{\"execute\":\"block-job-complete\",\"arguments\":{\"device\":\"$REQ\"}}" | jq -e .return >/dev/null \
  || fail "complete"
for _ in $(seq 200); do
  [ "$(qmp_cmd '{"execute":"query-jobs"}' | jq '.return | length')" = 0 ] && break; sleep 0.05
done
api_start
P=$(progress "$SID" "$NEW")
[ "$(echo "$P" | jq -r .state)" = completed ] || fail "after restart: $P"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(volume_field "$OLD" status)" = available ] || fail "old volume is $(volume_field "$OLD" status)"
[ "$(volume_field "$NEW" status)" = in-use ] || fail "new volume is $(volume_field "$NEW" status)"
[ "$(export_node "$SID")" = "$(reg_sql "SELECT node_name FROM attachments WHERE server_id='$SID'")" ] \
  || fail "registry and host disagree"
OLDNODE=$(reg_sql "SELECT old_node FROM swaps")
qmp_cmd '{"execute":"query-named-block-nodes"}' | jq -e ".return | map(select(.[\"node-name\"]==\"$OLDNODE\")) | length == 0" >/dev/null \
  || fail "old node still open"
file_check "$(volume_path "$NEW")" 0x5a 8
nbd_fill "$URI" 0x66 1
file_check "$(volume_path "$NEW")" 0x66 1
api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID/os-instance-actions/$REQ" >/dev/null
[ "$(jq -r '.instanceAction.events[] | select(.event=="compute_swap_volume") | .result' "$T/last.body")" = Success ] \
  || fail "event: $(cat "$T/last.body")"
echo ok
