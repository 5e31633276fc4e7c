#!/usr/bin/env bash
# The mirror does not reach READY in time (VOLSWAP_SWAP_READY_TIMEOUT=1 s,
# rate-limited copy of 8 MiB): the worker cancels the job, closes the new
# node and rolls back; the host has neither job nor new node left.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed) VOLSWAP_SWAP_READY_TIMEOUT=1
swap_setup
attached_pair 1 8
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "not rolled back: $(cat "$T/last.body")"
progress "$SID" "$OLD" | jq -e '.error | test("READY within")' >/dev/null || fail "error: $(progress "$SID" "$OLD")"
expect_rolled_back
[ "$(qmp_cmd '{"execute":"query-jobs"}' | jq '.return | length')" = 0 ] || fail "a job is left"
NEWNODE=$(reg_sql "SELECT new_node FROM swaps")
qmp_cmd '{"execute":"query-named-block-nodes"}' | jq -e ".return | map(select(.[\"node-name\"]==\"$NEWNODE\")) | length == 0" >/dev/null \
  || fail "the new node $NEWNODE is still open"
echo ok
