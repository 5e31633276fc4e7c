#!/usr/bin/env bash
# migration_status goes through Cinder's values during os-migrate_volume:
# "migrating" while the (rate-limited) mirror copies, "success" at the end.
# Meanwhile the status is "detaching" (Nova's swap holds the volume, as in
# Cinder's generic migration), and "in-use" again afterwards.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
swap_setup
VID=$(new_volume "$ADMIN_TOKEN" 1); SID=$(new_server "$ADMIN_TOKEN")
attach "$ADMIN_TOKEN" "$SID" "$VID"; expect_status 200
nbd_fill "$(export_uri "$ADMIN_TOKEN" "$SID" "$VID")" 0x4d 4
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$VID/action" '{"os-migrate_volume":{"host":"pool2"}}' >/dev/null
expect_status 202
wait_phase "$SID" "$VID" mirroring
[ "$(volume_field "$VID" migration_status)" = migrating ] || fail "during the mirror: $(volume_field "$VID" migration_status)"
[ "$(volume_field "$VID" status)" = detaching ] || fail "status during the mirror: $(volume_field "$VID" status)"
[ "$(wait_swap "$SID" "$VID")" = completed ] || fail "migration: $(cat "$T/last.body")"
[ "$(volume_field "$VID" migration_status)" = success ] || fail "after: $(volume_field "$VID" migration_status)"
[ "$(volume_field "$VID" status)" = in-use ] || fail "status after: $(volume_field "$VID" status)"
echo ok
