#!/usr/bin/env bash
# The qemu driver: volswap-api is killed while QEMU's drive-mirror copies.
# The restarted API asks QEMU (query-block-exports: the export still serves
# the old node), cancels the job and rolls back; the guest's device stays
# on the old node.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
qemu_setup
OLD=$(new_volume "$ADMIN_TOKEN" 1); NEW=$(new_volume "$ADMIN_TOKEN" 1)
SID=$(new_server "$ADMIN_TOKEN")
qemu_start "$OLD"
attach "$ADMIN_TOKEN" "$SID" "$OLD"; expect_status 200
URI=$(export_uri "$ADMIN_TOKEN" "$SID" "$OLD")
nbd_fill "$URI" 0x5a 8
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
wait_phase "$SID" "$OLD" mirroring
kill -9 "$API_PID"; wait "$API_PID" 2>/dev/null || true; API_PID=
JOBS=$(QMP_SOCK=$T/qmp2.sock qmp_cmd '{"execute":"query-jobs"}')
[ "$(echo "$JOBS" | jq '.return | length')" = 1 ] || fail "the mirror should still run in QEMU: $JOBS"
api_start
[ "$(progress "$SID" "$OLD" | jq -r .state)" = rolled-back ] || fail "after restart: $(progress "$SID" "$OLD")"
[ "$(QMP_SOCK=$T/qmp2.sock qmp_cmd '{"execute":"query-jobs"}' | jq '.return | length')" = 0 ] || fail "job left in QEMU"
DEVNODE=$(QMP_SOCK=$T/qmp2.sock qmp_cmd '{"execute":"query-block"}' | jq -r '.return[0].inserted["node-name"]')
[ "$DEVNODE" = "$QEMU_NODE" ] || fail "the device moved to $DEVNODE"
expect_rolled_back
echo ok
