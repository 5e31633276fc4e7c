#!/usr/bin/env bash
# The node driving a swap is SIGKILLed mid-mirror, and the job then
# completes on the host without it (READY, block-job-complete by hand) before
# its lease lapses: the export serves the new node. The node that takes the
# swap over sees that and finishes it (the registry follows what the host
# serves): attachment on the new volume, old available, old node closed,
# the data and later writes in the new file.
CLUSTER_LEASE=20
. "$VOLSWAP_SRC/tests/integration/cluster/lib.sh"
cluster_swap_mirroring 2 8
node_kill 1
R=$(qmp_cmd "{\"execute\":\"block-job-set-speed\",\"arguments\":{\"device\":\"$REQ\",\"speed\":0}}")
echo "$R" | jq -e .return >/dev/null || fail "set-speed: $R"
for _ in $(seq 200); do
  [ "$(qmp_cmd '{"execute":"query-jobs"}' | jq -r '.return[0].status')" = ready ] && break; sleep 0.05
done
qmp_cmd "{\"execute\":\"block-job-complete\",\"arguments\":{\"device\":\"$REQ\"}}" | jq -e .return >/dev/null \
  || fail "complete"
[ "$(swap_phase_of "$REQ")" = mirroring ] || fail "settled before the lease lapsed: $(swap_phase_of "$REQ")"
[ "$(wait_settled "$REQ")" = done ] || fail "not finished"
[ "$(reg_sql "SELECT owner FROM swaps WHERE id='$REQ'")" = node2 ] || fail "not node2's"
on 2
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(volume_field "$OLD" status)" = available ] && [ "$(volume_field "$NEW" status)" = in-use ] \
  || fail "states: $(volume_field "$OLD" status) / $(volume_field "$NEW" status)"
[ "$(export_node "$SID")" = "$(reg_sql "SELECT node_name FROM attachments WHERE server_id='$SID'")" ] \
  || fail "registry and host disagree"
OLDNODE=$(reg_sql "SELECT old_node FROM swaps WHERE id='$REQ'")
qmp_cmd '{"execute":"query-named-block-nodes"}' | jq -e ".return | map(select(.[\"node-name\"]==\"$OLDNODE\")) | length == 0" >/dev/null \
  || fail "old node still open"
file_check "$(volume_path "$NEW")" 0x5a 8
nbd_fill "$URI" 0x66 1
file_check "$(volume_path "$NEW")" 0x66 1
echo ok
