#!/usr/bin/env bash
# The node driving a swap is SIGKILLed while the mirror copies. The host
# still runs the mirror job, so the node that takes the swap over when the
# lease lapses adopts the job instead of rolling it back: READY,
# block-job-complete, the registry moved to the new volume. The consumer
# writes through the export while no node drives the swap; the new volume
# ends up with the data from before the swap and those writes. Prints how
# long the takeover took (a figure, not asserted).
. "$VOLSWAP_SRC/tests/integration/cluster/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
cluster_setup 3
attached_pair 1 8
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
wait_phase "$SID" "$OLD" mirroring
ID=$(latest_swap "$SID")
[ "$(reg_sql "SELECT owner FROM swaps WHERE id='$ID'")" = node1 ] || fail "the swap is not node1's"
t0=$(date +%s%N)
node_kill 1
# the consumer writes while the swap has no driver
nbd_fill "$URI" 0x66 1
for _ in $(seq 300); do
  [ "$(reg_sql "SELECT epoch FROM swaps WHERE id='$ID'")" = 2 ] && break; sleep 0.1
done
t1=$(date +%s%N)
[ "$(reg_sql "SELECT epoch FROM swaps WHERE id='$ID'")" = 2 ] || fail "not taken over"
# (that it kept the host's job rather than start over or roll back is
# read from its log below: by now the job may already have finished)
[ "$(wait_settled "$ID")" = done ] || fail "not finished: $(reg_sql "SELECT error FROM swaps WHERE id='$ID'")"
echo "takeover: $(( (t1 - t0) / 1000000 )) ms, takeover and finish: $(( ($(date +%s%N) - t0) / 1000000 )) ms (lease ${CLUSTER_LEASE} s)"
owner=$(reg_sql "SELECT owner FROM swaps WHERE id='$ID'")
case "$owner" in node2|node3) ;; *) fail "finished by '$owner'" ;; esac
grep -q "$ID: adopting the host's mirror job" "$T/api-${owner#node}.log" || fail "$owner did not adopt the job"
on "${owner#node}"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(volume_field "$OLD" status)" = available ] && [ "$(volume_field "$NEW" status)" = in-use ] \
  || fail "states: $(volume_field "$OLD" status) / $(volume_field "$NEW" status)"
[ "$(export_node "$SID")" = "$(reg_sql "SELECT node_name FROM attachments WHERE server_id='$SID'")" ] \
  || fail "registry and host disagree"
[ "$(qmp_cmd '{"execute":"query-jobs"}' | jq '.return | length')" = 0 ] || fail "the job was left on the host"
file_check "$(volume_path "$NEW")" 0x66 1
qemu-io -f raw -r "$(volume_path "$NEW")" -c "read -P 0x5a 1M 7M" | grep -q 'Pattern verification failed' \
  && fail "the new volume lacks the data from before the swap"
api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID/os-instance-actions/$ID" >/dev/null
[ "$(jq -r '[.instanceAction.events[] | select(.event=="compute_swap_volume")] | length' "$T/last.body")" = 1 ] \
  || fail "events: $(cat "$T/last.body")"
[ "$(jq -r '.instanceAction.events[] | select(.event=="compute_swap_volume") | .result' "$T/last.body")" = Success ] \
  || fail "event: $(cat "$T/last.body")"
# the killed node comes back and leaves the finished swap alone
node_start 1
sleep 2
[ "$(swap_phase_of "$ID")" = done ] && [ "$(reg_sql "SELECT owner FROM swaps WHERE id='$ID'")" = "$owner" ] \
  || fail "the restarted node touched the swap"
echo ok
