#!/usr/bin/env bash
# The node driving a swap loses its database (its connections go through a
# proxy the test kills) while the mirror copies. It cannot renew its lease,
# so it stops driving the swap -- it says so in its log before the lease
# lapses -- and another node takes the swap over and, the host still
# running the mirror job, carries it on to the pivot. When the cut node
# reaches the database again it leaves the swap alone: nothing is driven
# twice, the server is on the new volume with its data.
. "$VOLSWAP_SRC/tests/integration/cluster/lib.sh"
export VOLSWAP_SWAP_SPEED=$((512 << 10))
host_start
write_config
mkdir -p "$T/pgproxy"
start_proxy() {
  /usr/bin/python3 "$VOLSWAP_SRC/tests/integration/cluster/unix-proxy.py" \
    "$T/pgproxy/.s.PGSQL.5432" "$VOLSWAP_TEST_PG_DIR/.s.PGSQL.5432" &
  PROXY_PID=$!
  for _ in $(seq 100); do [ -S "$T/pgproxy/.s.PGSQL.5432" ] && return 0; sleep 0.05; done
  fail "the proxy did not start"
}
start_proxy
NODE_DB[1]=$(echo "$REGISTRY" | sed "s|host=[^ ]*|host=$T/pgproxy|")
NODE_DB[2]=$REGISTRY
node_start 1
node_start 2
on 1
PID_DEMO=$(project_id demo)
attached_pair 1 8
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
REQ=$(header x-openstack-request-id)
wait_phase "$SID" "$OLD" mirroring
kill -9 "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=
rm -f "$T/pgproxy/.s.PGSQL.5432"
[ "$(wait_settled "$REQ")" = done ] || fail "not finished"
[ "$(reg_sql "SELECT owner FROM swaps WHERE id='$REQ'")" = node2 ] || fail "not node2's"
grep -q "$REQ: this node lost the swap's lease" "$T/api-1.log" || fail "node 1 did not stop driving"
grep -q "$REQ: adopting the host's mirror job" "$T/api-2.log" || fail "node 2 did not adopt the job"
grep -qE "$REQ: (rolling back|.* done)" "$T/api-1.log" && fail "node 1 drove the swap's end too"
on 2
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(export_node "$SID")" = "$(reg_sql "SELECT node_name FROM attachments WHERE server_id='$SID'")" ] \
  || fail "registry and host disagree"
[ "$(qmp_cmd '{"execute":"query-jobs"}' | jq '.return | length')" = 0 ] || fail "the job was left running"
file_check "$(volume_path "$NEW")" 0x5a 8
# the cut node reaches the database again and leaves the swap alone
start_proxy
on 1
for _ in $(seq 100); do api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID" >/dev/null; [ "$STATUS" = 200 ] && break; sleep 0.1; done
expect_status 200
sleep 2
[ "$(swap_phase_of "$REQ")" = done ] && [ "$(reg_sql "SELECT owner FROM swaps WHERE id='$REQ'")" = node2 ] \
  || fail "the cut node touched the swap again"
grep -qE "$REQ: (rolling back|.* done)" "$T/api-1.log" && fail "node 1 drove the swap after coming back"
echo ok
