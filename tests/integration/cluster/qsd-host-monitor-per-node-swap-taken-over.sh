#!/usr/bin/env bash
# A qemu-storage-daemon host, whose monitors serve one client each, shared by
# two nodes: it has a monitor per node and each node's configuration names
# its own. While node 1 holds its monitor for a running swap, node 2
# attaches another server's volume on the same host through its own; node 1
# is then SIGKILLed and node 2 takes the swap over through its monitor and
# rolls it back: the job cancelled, the new volume closed, the data on the
# old volume, which the export still writes into.
VOLSWAP_TEST_HOST_DAEMON=qsd HOST_MONITORS=2
. "$VOLSWAP_SRC/tests/integration/cluster/lib.sh"
CLUSTER_JQ=".hosts[0].qmp = (\"$T/qmp-\" + (\$node | ltrimstr(\"node\")) + \".sock\")"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
cluster_setup 2
jq -e ".hosts[0].qmp == \"$T/qmp-2.sock\"" "$T/api-2.json" >/dev/null || fail "node 2's monitor"
attached_pair 1 8
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
REQ=$(header x-openstack-request-id)
wait_phase "$SID" "$OLD" mirroring
on 2
V2=$(new_volume "$ADMIN_TOKEN" 1); S2=$(new_server "$ADMIN_TOKEN" other)
attach "$ADMIN_TOKEN" "$S2" "$V2"
expect_status 200
node_kill 1
[ "$(wait_settled "$REQ")" = rolled-back ] || fail "not rolled back"
[ "$(reg_sql "SELECT owner FROM swaps WHERE id='$REQ'")" = node2 ] || fail "not node2's"
expect_rolled_back
[ "$(qmp_cmd '{"execute":"query-jobs"}' | jq '.return | length')" = 0 ] || fail "the job was left running"
qemu-io -f raw -r "$(volume_path "$OLD")" -c "read -P 0x5a 1M 7M" | grep -q 'Pattern verification failed' \
  && fail "the old volume lost its data"
echo ok
