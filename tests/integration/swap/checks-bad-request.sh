#!/usr/bin/env bash
# PUT's 400s, with Nova's messages: a new volume that does not exist (named
# in the body), one already attached, one smaller than the old, an old
# volume attached to another server, a volumeId that is no uuid, and fields
# other than volumeId before microversion 2.85. Nothing changes state.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
swap_setup
OLD=$(new_volume "$ADMIN_TOKEN" 2); SMALL=$(new_volume "$ADMIN_TOKEN" 1)
OTHER=$(new_volume "$ADMIN_TOKEN" 2)
SID=$(new_server "$ADMIN_TOKEN"); SID2=$(new_server "$ADMIN_TOKEN" srv2)
attach "$ADMIN_TOKEN" "$SID" "$OLD"; expect_status 200
attach "$ADMIN_TOKEN" "$SID2" "$OTHER"; expect_status 200
NOSUCH=11111111-2222-3333-4444-555555555555
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NOSUCH"
expect_fault 400 badRequest "Volume $NOSUCH could not be found."
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$OTHER"
expect_fault 400 badRequest "Invalid volume: New volume must be detached in order to swap."
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$SMALL"
expect_fault 400 badRequest "New volume must be the same size or larger."
swap_put "$ADMIN_TOKEN" "$SID" "$OTHER" "$SMALL"
expect_fault 400 badRequest "Invalid volume: Old volume is attached to a different instance."
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "not-a-uuid"
expect_fault 400 badRequest "is not a 'uuid'"
api "$ADMIN_TOKEN" PUT "/v2.1/servers/$SID/os-volume_attachments/$OLD" \
  "{\"volumeAttachment\":{\"volumeId\":\"$SMALL\",\"delete_on_termination\":true}}" \
  -H "OpenStack-API-Version: compute 2.84" >/dev/null
expect_fault 400 badRequest "('delete_on_termination' was unexpected)"
api "$ADMIN_TOKEN" PUT "/v2.1/servers/$SID/os-volume_attachments/$OLD" '{"volumeAttachment":{}}' >/dev/null
expect_fault 400 badRequest
[ "$(volume_field "$OLD" status)" = in-use ] || fail "old volume is $(volume_field "$OLD" status)"
[ "$(volume_field "$SMALL" status)" = available ] || fail "small volume is $(volume_field "$SMALL" status)"
[ "$(volume_field "$OTHER" status)" = in-use ] || fail "other volume changed"
echo ok
