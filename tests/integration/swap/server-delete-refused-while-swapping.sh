#!/usr/bin/env bash
# While a swap of a server runs, deleting the server gets 409 and changes
# nothing: the swap completes onto the new volume. The delete is accepted
# afterwards and detaches the new volume (available, its export gone, the
# swapped data in it); a swap asked on the deleted server is 404.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
swap_setup
slow_swap_started
api "$ADMIN_TOKEN" DELETE "/v2.1/servers/$SID" >/dev/null
[ "$STATUS" = 409 ] || { progress "$SID" "$OLD" >&2; cat "$T/api.log" >&2; }
expect_fault 409 conflictingRequest "Cannot 'delete' instance $SID while a volume swap is in progress on it"
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
api "$ADMIN_TOKEN" DELETE "/v2.1/servers/$SID" >/dev/null; expect_status 204
[ "$(volume_field "$NEW" status)" = available ] || fail "new volume is $(volume_field "$NEW" status)"
[ "$(volume_field "$OLD" status)" = available ] || fail "old volume is $(volume_field "$OLD" status)"
qmp_cmd '{"execute":"query-block-exports"}' | jq -e '.return == []' >/dev/null \
  || fail "exports left: $(qmp_cmd '{"execute":"query-block-exports"}')"
V3=$(new_volume "$ADMIN_TOKEN" 1)
swap_put "$ADMIN_TOKEN" "$SID" "$NEW" "$V3"
expect_fault 404 itemNotFound "Instance $SID could not be found."
file_check "$(volume_path "$NEW")" 0x5a 4
echo ok
