#!/usr/bin/env bash
# Swapping is admin-or-service by default: a project member gets 403 with
# Nova's policy message (for the swap rule) and nothing changes; from 2.85 a
# member may still update delete_on_termination (the update rule).
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
swap_setup
ALICE=$(api_token alice)
OLD=$(new_volume "$ALICE" 1); NEW=$(new_volume "$ALICE" 1)
SID=$(new_server "$ALICE")
attach "$ALICE" "$SID" "$OLD"; expect_status 200
swap_put "$ALICE" "$SID" "$OLD" "$NEW"
expect_fault 403 forbidden "Policy doesn't allow os_compute_api:os-volumes-attachments:swap to be performed."
swap_put "$ALICE" "$SID" "$OLD" "$NEW" 2.85
expect_fault 403 forbidden "os-volumes-attachments:swap"
[ "$(volume_field "$OLD" status)" = in-use ] && [ "$(volume_field "$NEW" status)" = available ] \
  || fail "a forbidden swap changed volume states"
api "$ALICE" PUT "/v2.1/servers/$SID/os-volume_attachments/$OLD" \
  "{\"volumeAttachment\":{\"volumeId\":\"$OLD\",\"delete_on_termination\":true}}" \
  -H "OpenStack-API-Version: compute 2.85" >/dev/null
expect_status 202
# another project's member does not even see the server
BOB=$(api_token bob other)
swap_put "$BOB" "$SID" "$OLD" "$NEW"
expect_fault 404 itemNotFound "Instance $SID could not be found."
echo ok
