#!/usr/bin/env bash
# From microversion 2.85 a PUT whose volumeId equals the path's only updates
# delete_on_termination: 202, no swap action, the volume stays attached;
# changing another field (device) is a 400; before 2.85 the same body is a
# swap onto an attached volume, refused with 400.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
swap_setup
VID=$(new_volume "$ADMIN_TOKEN" 1); SID=$(new_server "$ADMIN_TOKEN")
attach "$ADMIN_TOKEN" "$SID" "$VID"; expect_status 200
put() {
  api "$ADMIN_TOKEN" PUT "/v2.1/servers/$SID/os-volume_attachments/$VID" "$1" \
    -H "OpenStack-API-Version: compute $2" >/dev/null
}
put "{\"volumeAttachment\":{\"volumeId\":\"$VID\",\"delete_on_termination\":true}}" 2.85
expect_status 202
api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID/os-volume_attachments/$VID" "" \
  -H "OpenStack-API-Version: compute 2.85" >/dev/null
[ "$(jq -r .volumeAttachment.delete_on_termination "$T/last.body")" = true ] \
  || fail "delete_on_termination not updated: $(cat "$T/last.body")"
put "{\"volumeAttachment\":{\"volumeId\":\"$VID\",\"delete_on_termination\":false,\"device\":\"/dev/vdq\"}}" 2.85
expect_fault 400 badRequest
api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID/os-volume_attachments/$VID" "" \
  -H "OpenStack-API-Version: compute 2.85" >/dev/null
[ "$(jq -r .volumeAttachment.delete_on_termination "$T/last.body")" = true ] \
  || fail "a refused update changed delete_on_termination"
put "{\"volumeAttachment\":{\"volumeId\":\"$VID\"}}" 2.84
expect_fault 400 badRequest "New volume must be detached in order to swap."
api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID/os-instance-actions" >/dev/null
jq -e '[.instanceActions[] | select(.action=="swap_volume")] | length == 0' "$T/last.body" >/dev/null \
  || fail "an update recorded a swap action"
[ "$(volume_field "$VID" status)" = in-use ] || fail "volume left in-use"
echo ok
