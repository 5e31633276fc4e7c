#!/usr/bin/env bash
# The node driving a swap is SIGKILLed while the mirror copies, and the
# mirror job is then cancelled on the host before the lease lapses. With no
# job to adopt, the node that takes the swap over rolls it back: the new
# volume closed, the states rolled back, the data on the old volume, which
# the export still writes into.
. "$VOLSWAP_SRC/tests/integration/cluster/lib.sh"
cluster_swap_mirroring 2 8
node_kill 1
qmp_cmd "{\"execute\":\"block-job-cancel\",\"arguments\":{\"device\":\"$REQ\",\"force\":true}}" | jq -e .return >/dev/null \
  || fail "cancel"
for _ in $(seq 100); do
  [ "$(qmp_cmd '{"execute":"query-jobs"}' | jq '.return | length')" = 0 ] && break; sleep 0.05
done
[ "$(swap_phase_of "$REQ")" = mirroring ] || fail "settled before the lease lapsed: $(swap_phase_of "$REQ")"
[ "$(wait_settled "$REQ")" = rolled-back ] || fail "not rolled back"
[ "$(reg_sql "SELECT owner FROM swaps WHERE id='$REQ'")" = node2 ] || fail "not node2's"
grep -q "$REQ: adopting" "$T/api-2.log" && fail "node 2 adopted a job that was gone"
on 2
expect_rolled_back
NEWNODE=$(reg_sql "SELECT new_node FROM swaps WHERE id='$REQ'")
qmp_cmd '{"execute":"query-named-block-nodes"}' | jq -e ".return | map(select(.[\"node-name\"]==\"$NEWNODE\")) | length == 0" >/dev/null \
  || fail "new node still open"
qemu-io -f raw -r "$(volume_path "$OLD")" -c "read -P 0x5a 1M 7M" | grep -q 'Pattern verification failed' \
  && fail "the old volume lost its data"
echo ok
