#!/usr/bin/env bash
# Cinder's scheduler-stats/get_pools: one "host@volswap#pool" per configured
# pool (admin only: a member gets 403); ?detail=true adds capabilities
# with the pool's capacity and what volumes take in it; ?name= filters.
# The unmodified cinderclient's `cinder get-pools --detail` reads it.
. "$(dirname "$0")/lib.sh"
api_setup
PID_DEMO=$(project_id demo)
adm=$(api_token admin)
api "$adm" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":3,"volume_type":"pool2"}}' >/dev/null
expect_status 202
api "$adm" GET "/v3/$PID_DEMO/scheduler-stats/get_pools" >/dev/null; expect_status 200
jq -e '.pools == [{"name":"host1@volswap#pool1"},{"name":"host1@volswap#pool2"}]' "$T/last.body" \
  >/dev/null || fail "pools: $(cat "$T/last.body")"
api "$adm" GET "/v3/$PID_DEMO/scheduler-stats/get_pools?detail=true&name=host1@volswap%23pool2" >/dev/null
expect_status 200
jq -e '.pools | length == 1 and .[0].capabilities.pool_name == "pool2" and
  .[0].capabilities.allocated_capacity_gb == 3 and .[0].capabilities.total_capacity_gb > 0 and
  .[0].capabilities.free_capacity_gb <= .[0].capabilities.total_capacity_gb and
  .[0].capabilities.thin_provisioning_support == true and
  .[0].capabilities.storage_protocol == "nbd"' "$T/last.body" >/dev/null \
  || fail "detail: $(cat "$T/last.body")"
api "$(api_token alice)" GET "/v3/$PID_DEMO/scheduler-stats/get_pools" >/dev/null
expect_fault 403 forbidden "Policy doesn't allow scheduler_extension:scheduler_stats:get_pools to be performed."
if /usr/bin/python3 -c 'import cinderclient' 2>/dev/null; then
  password_env admin demo
  /usr/bin/python3 -m cinderclient.shell get-pools --detail >"$T/out" 2>"$T/err" \
    || fail "cinder get-pools: $(cat "$T/err")"
  grep -E '^\| name +\| host1@volswap#pool2 +\|' "$T/out" >/dev/null || fail "cinder: $(cat "$T/out")"
  grep -E '^\| allocated_capacity_gb +\| 3 +\|' "$T/out" >/dev/null || fail "cinder: $(cat "$T/out")"
fi
echo ok
