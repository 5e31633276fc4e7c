#!/usr/bin/env bash
# The host's volswapd is SIGSTOPped while the mirror copies: the worker's
# next QMP command times out, and the swap rolls back while the host does
# not answer, so the mirror job and the new volume's node are still there
# when the daemon runs again (SIGCONT). volswap-api then cancels the job
# and closes the node: the host serves the attachment's export on the old
# volume's node and nothing the registry does not know, and the old volume
# holds its data and takes new writes.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
export VOLSWAP_TEST_HOST_DAEMON=volswapd
swap_setup
slow_swap_started mirroring
kill -STOP "$HOST_PID"
trap 'rc=$?; kill -CONT "$HOST_PID" 2>/dev/null; (exit $rc); cleanup' EXIT
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "not rolled back: $(cat "$T/last.body")"
kill -CONT "$HOST_PID"
expect_host_matches_registry
file_check "$(volume_path "$OLD")" 0x5a 4
expect_rolled_back
echo ok
