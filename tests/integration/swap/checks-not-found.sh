#!/usr/bin/env bash
# PUT's 404s, with Nova's fault bodies: unknown server, unknown old volume
# (named in the URL), and an old volume that is not attached to the server.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
swap_setup
OLD=$(new_volume "$ADMIN_TOKEN" 1); NEW=$(new_volume "$ADMIN_TOKEN" 1)
SID=$(new_server "$ADMIN_TOKEN")
NOSUCH=11111111-2222-3333-4444-555555555555
swap_put "$ADMIN_TOKEN" "$NOSUCH" "$OLD" "$NEW"
expect_fault 404 itemNotFound "Instance $NOSUCH could not be found."
swap_put "$ADMIN_TOKEN" "$SID" "$NOSUCH" "$NEW"
expect_fault 404 itemNotFound "Volume $NOSUCH could not be found."
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_fault 404 itemNotFound "The volume was either invalid or not attached to the instance."
# nothing changed
[ "$(volume_field "$OLD" status)" = available ] && [ "$(volume_field "$NEW" status)" = available ] \
  || fail "volume states changed"
echo ok
