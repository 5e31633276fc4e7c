#!/usr/bin/env bash
# Cinder's os-attach and os-detach record an attachment without touching
# the host: os-attach marks an available volume in-use with an attachment
# to the instance at the mountpoint (no NBD export appears), os-detach
# removes it and the volume is available again. Refusals: no instance_uuid,
# an unknown instance, a bad mode, rw on a read-only volume, a mountpoint in
# use, detaching through Cinder a
# disk that Nova's attach exported on the host, and swapping a volume that
# os-attach recorded (nothing on the host to mirror). Detaching a volume
# that nothing is attached to is done already (202), as in Cinder.
. "$(dirname "$0")/lib.sh"
command -v nbdinfo >/dev/null || skip "nbdinfo not installed"
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
act() { api "$tok" POST "/v3/$PID_DEMO/volumes/$1/action" "$2" >/dev/null; }
act "$VID" '{"os-attach": {"mountpoint": "/dev/vdc"}}'; expect_fault 400 badRequest
act "$VID" '{"os-attach": {"instance_uuid": "00000000-0000-4000-8000-000000000000", "mountpoint": "/dev/vdc"}}'
expect_fault 404 itemNotFound
act "$VID" "{\"os-attach\": {\"instance_uuid\": \"$SID\", \"mountpoint\": \"/dev/vdc\", \"mode\": \"xx\"}}"
expect_fault 400 badRequest
act "$VID" '{"os-detach": {}}'; expect_status 202  # nothing attached: done, as Cinder
[ "$(attach_status "$VID")" = detached ] || fail "attach_status after a detach of nothing"
act "$VID" "{\"os-attach\": {\"instance_uuid\": \"$SID\", \"mountpoint\": \"/dev/vdc\"}}"; expect_status 202
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e ".volume | .status == \"in-use\" and .attachments[0].server_id == \"$SID\" and .attachments[0].device == \"/dev/vdc\" and .attachments[0].id == \"$VID\" and .metadata.attached_mode == \"rw\"" "$T/last.body" >/dev/null || fail "view $(cat "$T/last.body")"
[ "$(attach_status "$VID")" = attached ] || fail "attach_status"
nbdinfo --list "nbd+unix://?socket=$T/nbd.sock" 2>/dev/null | grep -q 'export=' && fail "os-attach made an export"
# a second volume may not take the same mountpoint
api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume": {"size": 1}}' >/dev/null
V2=$(jq -r .volume.id "$T/last.body")
act "$V2" "{\"os-attach\": {\"instance_uuid\": \"$SID\", \"mountpoint\": \"/dev/vdc\"}}"; expect_fault 400 badRequest
act "$VID" '{"os-detach": {"attachment_id": "00000000-0000-4000-8000-000000000000"}}'; expect_fault 404 itemNotFound
act "$VID" '{"os-detach": {}}'; expect_status 202
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume | .status == "available" and .attachments == [] and (.metadata | has("attached_mode") | not)' "$T/last.body" >/dev/null || fail "after detach $(cat "$T/last.body")"
[ "$(attach_status "$VID")" = detached ] || fail "attach_status after detach"
# a read-only volume takes mode ro only
act "$V2" '{"os-update_readonly_flag": {"readonly": true}}'; expect_status 202
act "$V2" "{\"os-attach\": {\"instance_uuid\": \"$SID\", \"mountpoint\": \"/dev/vdd\"}}"
expect_fault 400 badRequest "Invalid attaching mode 'rw' for volume $V2."
act "$V2" "{\"os-attach\": {\"instance_uuid\": \"$SID\", \"mountpoint\": \"/dev/vdd\", \"mode\": \"ro\"}}"; expect_status 202
api "$tok" GET "/v3/$PID_DEMO/volumes/$V2" >/dev/null
jq -e '.volume.metadata.attached_mode == "ro"' "$T/last.body" >/dev/null || fail "ro $(cat "$T/last.body")"
act "$V2" 'null' ; expect_fault 400 badRequest
act "$V2" '{"os-detach": null}'; expect_status 202
# Nova's attachment has a host export: Cinder's os-detach leaves it to Nova
attach "$tok" "$SID" "$VID"; expect_status 200
act "$VID" '{"os-detach": {}}'; expect_fault 400 badRequest
[ "$(attach_status "$VID")" = attached ] || fail "refused detach changed the volume"
api "$tok" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null; expect_status 202
# nothing on the host to swap or migrate under
act "$VID" "{\"os-attach\": {\"instance_uuid\": \"$SID\", \"mountpoint\": \"/dev/vdf\"}}"; expect_status 202
api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume": {"size": 1}}' >/dev/null
V3=$(jq -r .volume.id "$T/last.body")
adm=$(api_token admin)
api "$adm" PUT "/v2.1/servers/$SID/os-volume_attachments/$VID" "{\"volumeAttachment\": {\"volumeId\": \"$V3\"}}" >/dev/null
expect_fault 400 badRequest "no host export to swap"
act "$VID" '{"os-detach": {}}'; expect_status 202
# the server's delete takes an os-attach attachment with it
act "$VID" "{\"os-attach\": {\"instance_uuid\": \"$SID\", \"mountpoint\": \"/dev/vde\"}}"; expect_status 202
api "$tok" DELETE "/v2.1/servers/$SID" >/dev/null; expect_status 204
[ "$(attach_status "$VID")" = detached ] || fail "server delete left the attachment"
