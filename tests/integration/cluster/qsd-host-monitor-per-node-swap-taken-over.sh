#!/usr/bin/env bash
# A qemu-storage-daemon host, whose monitors serve one client each, shared by
# two nodes: it has a monitor per node and each node's configuration names
# its own. While node 1 holds its monitor for a running swap, node 2
# attaches another server's volume on the same host through its own; node 1
# is then SIGKILLed and node 2 takes the swap over through its monitor and
# carries it on (the job still runs on the host): the pivot, the old node
# closed, the data on the new volume, which the export now writes into.
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
[ "$(wait_settled "$REQ")" = done ] || fail "not finished"
[ "$(reg_sql "SELECT owner FROM swaps WHERE id='$REQ'")" = node2 ] || fail "not node2's"
grep -q "$REQ: adopting the host's mirror job" "$T/api-2.log" || fail "node 2 did not adopt the job"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(export_node "$SID")" = "$(reg_sql "SELECT node_name FROM attachments WHERE server_id='$SID'")" ] \
  || fail "registry and host disagree"
[ "$(qmp_cmd '{"execute":"query-jobs"}' | jq '.return | length')" = 0 ] || fail "the job was left running"
file_check "$(volume_path "$NEW")" 0x5a 8
nbd_fill "$URI" 0x66 1
file_check "$(volume_path "$NEW")" 0x66 1
echo ok
