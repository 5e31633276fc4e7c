#!/usr/bin/env bash
# The node driving a swap is SIGKILLed while the mirror copies. Its lease
# lapses, another node takes the swap over and settles it from its recorded
# phase as recovery does (before the pivot: the job cancelled, the new
# volume closed, the states rolled back), without waiting for the dead node
# to come back. The data stays on the old volume, which the export still
# writes into. Prints how long the takeover took (a benchmark's figure, not
# asserted).
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
[ "$(wait_settled "$ID")" = rolled-back ] || fail "not rolled back"
echo "takeover and settle: $(( ($(date +%s%N) - t0) / 1000000 )) ms (lease ${CLUSTER_LEASE} s)"
owner=$(reg_sql "SELECT owner FROM swaps WHERE id='$ID'")
case "$owner" in node2|node3) ;; *) fail "settled by '$owner'" ;; esac
[ "$(reg_sql "SELECT epoch FROM swaps WHERE id='$ID'")" = 2 ] || fail "epoch: $(reg_sql "SELECT epoch FROM swaps WHERE id='$ID'")"
on "${owner#node}"
expect_rolled_back
[ "$(qmp_cmd '{"execute":"query-jobs"}' | jq '.return | length')" = 0 ] || fail "the job was left running"
# expect_rolled_back wrote 0x77 over the first MiB; the rest is as it was
qemu-io -f raw -r "$(volume_path "$OLD")" -c "read -P 0x5a 1M 7M" | grep -q 'Pattern verification failed' \
  && fail "the old volume lost its data"
# the killed node comes back and leaves the settled swap alone
node_start 1
sleep 2
[ "$(swap_phase_of "$ID")" = rolled-back ] && [ "$(reg_sql "SELECT owner FROM swaps WHERE id='$ID'")" = "$owner" ] \
  || fail "the restarted node touched the swap"
echo ok
