#!/usr/bin/env bash
# While a swap runs on a server, a second swap on that server -- of the same
# volume or of another one -- gets 409 and changes nothing; the first one
# completes, after which a new swap is accepted again.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
swap_setup
attached_pair 1 4
V3=$(new_volume "$ADMIN_TOKEN" 1); V4=$(new_volume "$ADMIN_TOKEN" 1)
attach "$ADMIN_TOKEN" "$SID" "$V4"; expect_status 200
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$V3"
[ "$STATUS" = 409 ] || { progress "$SID" "$OLD" >&2; cat "$T/api.log" >&2; }
expect_fault 409 conflictingRequest "Cannot 'swap_volume' instance $SID"
swap_put "$ADMIN_TOKEN" "$SID" "$V4" "$V3"
expect_fault 409 conflictingRequest "another volume swap is in progress"
[ "$(volume_field "$V3" status)" = available ] && [ "$(volume_field "$V4" status)" = in-use ] \
  || fail "a refused swap changed states"
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "first swap: $(cat "$T/last.body")"
swap_put "$ADMIN_TOKEN" "$SID" "$NEW" "$V3"
expect_status 202
[ "$(wait_swap "$SID" "$NEW")" = completed ] || fail "later swap: $(cat "$T/last.body")"
file_check "$(volume_path "$V3")" 0x5a 4
echo ok
