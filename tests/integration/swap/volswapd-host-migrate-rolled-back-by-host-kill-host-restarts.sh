#!/usr/bin/env bash
# os-migrate_volume of an attached volume; the host's volswapd (with a state
# file) is SIGKILLed while the mirror copies. The migration rolls back and
# the destination's file is removed, though the dead daemon's state file
# still names its node: volswapd restarts all the same (the node is left
# out), and serves the volume with its data. (Found by bench/soak.)
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
export VOLSWAP_TEST_HOST_DAEMON=volswapd VOLSWAPD_STATE=$T/state.json
swap_setup
VID=$(new_volume "$ADMIN_TOKEN" 1); SID=$(new_server "$ADMIN_TOKEN")
attach "$ADMIN_TOKEN" "$SID" "$VID"; expect_status 200
URI=$(export_uri "$ADMIN_TOKEN" "$SID" "$VID")
nbd_fill "$URI" 0x4d 8
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$VID/action" '{"os-migrate_volume":{"host":"pool2"}}' >/dev/null
expect_status 202
wait_phase "$SID" "$VID" mirroring
host_kill
[ "$(wait_swap "$SID" "$VID")" = rolled-back ] || fail "not rolled back: $(cat "$T/last.body")"
[ -z "$(ls "$T/pool2")" ] || fail "the destination's file was left: $(ls "$T/pool2")"
rm -f "$T/qmp.sock" "$T/nbd.sock"
host_start   # fails the test if volswapd does not start
nbd_fill "$URI" 0x4e 1
file_check "$(volume_path "$VID")" 0x4e 1
qemu-io -f raw -r "$(volume_path "$VID")" -c "read -P 0x4d 1M 7M" | grep -q 'Pattern verification failed' \
  && fail "the data written before the migration is not on the volume"
echo ok
