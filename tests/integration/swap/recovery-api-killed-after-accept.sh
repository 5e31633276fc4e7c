#!/usr/bin/env bash
# volswap-api dies right after answering 202 (states marked, swap recorded
# as "accepted", nothing done on the host yet). The window is too short to
# hit with a signal, so the test builds that state in the registry while
# the API is stopped, then starts it: recovery runs the swap from the
# start and it completes -- the server ends on the new volume with its data.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
swap_setup
attached_pair 1 4
api_stop
plant_accepted_swap
api_start
expect_planted_swap_completed
echo ok
