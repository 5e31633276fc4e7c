#!/usr/bin/env bash
# max_swaps bounds the swaps running at once. With host1's bound at 1, a
# second server's swap while the first (rate-limited) one copies is
# refused 429 overLimit, as Nova answers a rate limit, and touches no
# volume state; with host1 unbounded and pool1's bound at 1, it is refused
# 409, a conflict with the swap already using the pool. A swap into pool2
# (not bounded, but pool1 holds its old volume) is refused as well; once
# the first swap is over, the refused one is accepted. The first swap is
# held (held_speed) until the test has seen the refusals; the second
# server's volumes hold no data, so nothing holds its swap.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$(held_speed) HOST_MONITORS=1
host_start
bounded_api() {  # bounded_api JQ-FILTER: restarts volswap-api with that change to the config
  [ -z "$API_PID" ] || api_stop
  write_config
  jq "$1" "$T/api.json" >"$T/api.json.new" && mv "$T/api.json.new" "$T/api.json"
  api_start
  need_swap_api
  PID_DEMO=$(project_id demo)
}
second_pair() {
  OLD2=$(new_volume "$ADMIN_TOKEN" 1); NEW2=$(new_volume "$ADMIN_TOKEN" 1)
  SID2=$(new_server "$ADMIN_TOKEN" srv2)
  attach "$ADMIN_TOKEN" "$SID2" "$OLD2"; expect_status 200
}
bounded_api '.hosts[0].max_swaps = 1'
slow_swap_started mirroring
second_pair
swap_put "$ADMIN_TOKEN" "$SID2" "$OLD2" "$NEW2"
expect_status 429
jq -e '.overLimit.message | test("host1.*max_swaps")' "$T/last.body" >/dev/null || fail "body: $(cat "$T/last.body")"
[ "$(volume_field "$OLD2" status)" = in-use ] && [ "$(volume_field "$NEW2" status)" = available ] ||
  fail "a refused swap changed the volumes: $(volume_field "$OLD2" status) / $(volume_field "$NEW2" status)"
swap_unhold
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "first swap: $(cat "$T/last.body")"
swap_put "$ADMIN_TOKEN" "$SID2" "$OLD2" "$NEW2"
expect_status 202
[ "$(wait_swap "$SID2" "$OLD2")" = completed ] || fail "second swap: $(cat "$T/last.body")"

bounded_api '.hosts[0].pools[0].max_swaps = 1'
slow_swap_started mirroring
second_pair
swap_put "$ADMIN_TOKEN" "$SID2" "$OLD2" "$NEW2"
expect_status 409
jq -e '.conflictingRequest.message | test("pool1.*max_swaps")' "$T/last.body" >/dev/null || fail "body: $(cat "$T/last.body")"
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$OLD2/action" '{"os-migrate_volume": {"host": "pool2"}}' >/dev/null
expect_status 409
[ "$(volume_field "$OLD2" migration_status)" != migrating ] || fail "a refused migration started"
swap_unhold
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "first swap: $(cat "$T/last.body")"
swap_put "$ADMIN_TOKEN" "$SID2" "$OLD2" "$NEW2"
expect_status 202
[ "$(wait_swap "$SID2" "$OLD2")" = completed ] || fail "second swap: $(cat "$T/last.body")"
echo ok
