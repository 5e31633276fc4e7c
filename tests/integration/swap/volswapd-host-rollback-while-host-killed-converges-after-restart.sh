#!/usr/bin/env bash
# The host's volswapd (with a state file) is SIGKILLed while the mirror
# copies: the swap rolls back while the host is down, so the new volume's
# node stays in the dead daemon's state file. Once volswapd is restarted
# from it, volswap-api closes that node: the host serves the attachment's
# export on the old volume's node and nothing the registry does not know,
# and the old volume holds its data.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
export VOLSWAP_TEST_HOST_DAEMON=volswapd VOLSWAPD_STATE=$T/state.json
swap_setup
slow_swap_started mirroring
host_kill
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "not rolled back: $(cat "$T/last.body")"
grep -q "$(reg_sql "SELECT new_node FROM swaps")" "$T/state.json" \
  || fail "the state file does not name the new node: nothing to converge"
rm -f "$T/qmp.sock" "$T/nbd.sock"
host_start
expect_host_matches_registry
file_check "$(volume_path "$OLD")" 0x5a 4
expect_rolled_back
echo ok
