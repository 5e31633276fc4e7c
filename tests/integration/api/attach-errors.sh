#!/usr/bin/env bash
# Attach and detach refusals with Nova's codes and messages: a bad volume id
# (400), a missing volume or server (404), a volume already in use (400), a
# device name in use or malformed (400), show/detach of a volume that is not
# attached (404).
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
api "$tok" POST "/v2.1/servers/$SID/os-volume_attachments" '{"volumeAttachment":{"volumeId":"not-a-uuid"}}' >/dev/null
expect_fault 400 badRequest "is not a 'uuid'"
api "$tok" POST "/v2.1/servers/$SID/os-volume_attachments" '{"volumeAttachment":{}}' >/dev/null
expect_fault 400 badRequest "'volumeId' is a required property"
attach "$tok" "$SID" 00000000-0000-4000-8000-000000000000
expect_fault 404 itemNotFound "Volume 00000000-0000-4000-8000-000000000000 could not be found."
attach "$tok" 00000000-0000-4000-8000-000000000001 "$VID"
expect_fault 404 itemNotFound "Instance 00000000-0000-4000-8000-000000000001 could not be found."
api "$tok" GET "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null
expect_fault 404 itemNotFound "Instance $SID is not attached to volume $VID"
api "$tok" POST "/v2.1/servers/$SID/os-volume_attachments" "{\"volumeAttachment\":{\"volumeId\":\"$VID\",\"device\":\"vdb\"}}" >/dev/null
expect_fault 400 badRequest "The supplied device path (vdb) is invalid."
api "$tok" POST "/v2.1/servers/$SID/os-volume_attachments" "{\"volumeAttachment\":{\"volumeId\":\"$VID\",\"device\":\"/dev/vdc\"}}" >/dev/null
expect_status 200
[ "$(jq -r .volumeAttachment.device "$T/last.body")" = /dev/vdc ] || fail "device"
attach "$tok" "$SID" "$VID"
expect_fault 400 badRequest "already attached"
sid2=$(api "$tok" POST /v2.1/servers '{"server":{"name":"other"}}' | jq -r .server.id)
attach "$tok" "$sid2" "$VID"
expect_fault 400 badRequest "Invalid volume: Volume status must be available to reserve, but the status is in-use."
vid2=$(api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1}}' | jq -r .volume.id)
api "$tok" POST "/v2.1/servers/$SID/os-volume_attachments" "{\"volumeAttachment\":{\"volumeId\":\"$vid2\",\"device\":\"/dev/vdc\"}}" >/dev/null
expect_fault 400 badRequest "The supplied device path (/dev/vdc) is in use."
api "$tok" DELETE "/v2.1/servers/$sid2/os-volume_attachments/$VID" >/dev/null
expect_fault 404 itemNotFound "Instance $sid2 is not attached to volume $VID"
api "$tok" DELETE "/v2.1/servers/$SID/os-volume_attachments/00000000-0000-4000-8000-000000000000" >/dev/null
expect_fault 404 itemNotFound "could not be found"
