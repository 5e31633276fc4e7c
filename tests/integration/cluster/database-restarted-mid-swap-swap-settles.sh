#!/usr/bin/env bash
# PostgreSQL is stopped while a swap copies and started again a little
# later than the lease: the node driving the swap cannot renew it, so it
# stops driving; requests meanwhile get 503, none half applied. Once the
# database is back, a node takes the swap over and settles it from its
# recorded phase, and the registry and the host agree; a second swap then
# runs to its end with the data on its new volume.
. "$VOLSWAP_SRC/tests/integration/cluster/lib.sh"
cluster_swap_mirroring 2 8
pg_bounce_bg() { pg_bounce 5; }
pg_bounce_bg & bouncer=$!
sleep 1.5
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1}}' >/dev/null
expect_status 503
wait "$bouncer" || fail "PostgreSQL did not come back"
ph=$(wait_settled "$REQ")
echo "the swap ended $ph"
owner=$(reg_sql "SELECT owner FROM swaps WHERE id='$REQ'")
on "${owner#node}"
if [ "$ph" = rolled-back ]; then
  expect_rolled_back
  CUR=$OLD
else
  [ "$(attached_volume "$SID")" = "$NEW" ] || fail "done, but the attachment names $(attached_volume "$SID")"
  CUR=$NEW
fi
[ "$(export_node "$SID")" = "$(reg_sql "SELECT node_name FROM attachments WHERE server_id='$SID'")" ] \
  || fail "registry and host disagree"
[ "$(qmp_cmd '{"execute":"query-jobs"}' | jq '.return | length')" = 0 ] || fail "a job was left running"
qemu-io -f raw -r "$(volume_path "$CUR")" -c "read -P 0x5a 1M 7M" | grep -q 'Pattern verification failed' \
  && fail "the served volume lost its data"
[ "$(reg_sql "SELECT count(*) FROM volumes WHERE project_id='$PID_DEMO'")" = 2 ] || fail "the refused create left a volume"
V3=$(new_volume "$ADMIN_TOKEN" 1)
swap_put "$ADMIN_TOKEN" "$SID" "$CUR" "$V3"
expect_status 202
[ "$(wait_settled "$(latest_swap "$SID")")" = done ] || fail "the later swap did not complete"
qemu-io -f raw -r "$(volume_path "$V3")" -c "read -P 0x5a 1M 7M" | grep -q 'Pattern verification failed' \
  && fail "the later swap lost data"
echo ok
