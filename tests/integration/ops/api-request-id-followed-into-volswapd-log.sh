#!/usr/bin/env bash
# The X-Openstack-Request-Id that volswap-api answers with (req-<uuid>, as
# Nova does) follows the request into volswapd's log: the QMP commands an
# attach sends carry it in their id, and a swap's commands (the PUT's
# request id) carry it in their id and as the mirror's job-id.
export VOLSWAP_TEST_HOST_DAEMON=volswapd
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
swap_setup
OLD=$(new_volume "$ADMIN_TOKEN" 1)
NEW=$(new_volume "$ADMIN_TOKEN" 1)
SID=$(new_server "$ADMIN_TOKEN")
attach "$ADMIN_TOKEN" "$SID" "$OLD"; expect_status 200
attach_id=$(header x-openstack-request-id)
case "$attach_id" in req-????????-????-????-????-????????????) ;; *) fail "attach request id '$attach_id'" ;; esac
grep -q "QMP: [a-z-]*.* (id \"$attach_id-[0-9]*\")" "$T/host.log" ||
  fail "the attach's request id $attach_id is not in volswapd's log: $(tail -n 20 "$T/host.log")"
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
swap_id=$(header x-openstack-request-id)
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
grep -q "QMP: [a-z-]*mirror job-id=$swap_id .*(id \"$swap_id-[0-9]*\")" "$T/host.log" ||
  fail "the swap's request id $swap_id is not on its mirror in volswapd's log: $(tail -n 20 "$T/host.log")"
echo ok
