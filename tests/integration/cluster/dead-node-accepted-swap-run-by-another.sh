#!/usr/bin/env bash
# A node died right after answering 202 to a swap (states marked, the record
# "accepted" under its lease, nothing done on the host): the window is too
# short to hit with a signal, so the test writes that state into the shared
# registry as a node that no longer runs ("node-gone", its lease lapsed).
# A live node takes the swap over and runs it from the start: the server
# ends on the new volume with its data.
. "$VOLSWAP_SRC/tests/integration/cluster/lib.sh"
cluster_setup 2
attached_pair 1 4
PLANT_AFTER="UPDATE swaps SET owner='node-gone', epoch=1, lease_expires=0 WHERE id='req-crashed';" \
  plant_accepted_swap
[ "$(wait_settled req-crashed)" = done ] || fail "the swap was not run to its end"
owner=$(reg_sql "SELECT owner FROM swaps WHERE id='req-crashed'")
case "$owner" in node1|node2) ;; *) fail "run by '$owner'" ;; esac
on "${owner#node}"
expect_planted_swap_completed
echo ok
