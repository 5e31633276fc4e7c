#!/usr/bin/env bash
# Cinder's failure states for a pool its storage host manages, when that
# host does not answer (its link cut): a create leaves the new volume in
# error (503 to the caller) and no file once the host is back; a delete
# leaves the volume in error_deleting with its file still on the host,
# and a delete again, once the host answers, removes both (the error
# volume of the failed create goes too: its file was never made).
. "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"
host_volswapd_own_pool storage1 "$NS_SUBNET.21"
host_volswapd compute1 "$NS_SUBNET.11"
hosts_api_cluster compute1 storage1
KEEP=$(cluster_volume storage1 1)

ns_link storage1 down
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"volume_type":"storage1-pool"}}' >/dev/null
expect_status 503
BAD=$(reg_sql "SELECT id FROM volumes WHERE id != '$KEEP'")
[ -n "$BAD" ] || fail "the failed create left no volume record"
[ "$(volume_field "$BAD" status)" = error ] || fail "failed create: $(volume_field "$BAD" status)"

api "$ADMIN_TOKEN" DELETE "/v3/$PID_DEMO/volumes/$KEEP" >/dev/null
[ "$STATUS" -ge 500 ] || fail "a delete on a cut host answered $STATUS"
[ "$(volume_field "$KEEP" status)" = error_deleting ] ||
  fail "delete on a cut host: $(volume_field "$KEEP" status)"

ns_link storage1 up
[ "$(host_pool_ls storage1)" = "volume-$KEEP $((1 << 30))" ] ||
  fail "storage1's pool holds: $(host_pool_ls storage1)"
# the API's gate may still hold the host for unresponsive a moment (503)
for _ in $(seq 60); do
  api "$ADMIN_TOKEN" DELETE "/v3/$PID_DEMO/volumes/$KEEP" >/dev/null
  [ "$STATUS" = 503 ] || break
  sleep 0.5
done
expect_status 202
api "$ADMIN_TOKEN" DELETE "/v3/$PID_DEMO/volumes/$BAD" >/dev/null
expect_status 202
api "$ADMIN_TOKEN" GET "/v3/$PID_DEMO/volumes/$KEEP" >/dev/null
expect_status 404
[ -z "$(host_pool_ls storage1)" ] || fail "storage1's pool holds: $(host_pool_ls storage1)"
echo ok
