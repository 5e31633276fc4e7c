#!/usr/bin/env bash
# Cinder's admin actions os-force_delete and os-force_detach. A volume an
# operator set to creating, attaching, error or maintenance (os-reset_status)
# is force-deleted: 202, its record and its file on the pool gone; an
# attached one is refused. os-force_detach takes an attachment os-attach
# recorded off a volume in any status (here error), leaving it available
# and detached; a disk Nova's attach exported is refused (the compute API
# detaches it), and a member of the project may do neither (403).
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
adm=$(api_token admin)
make_volume_and_server "$tok"
act() { api "$1" POST "/v3/$PID_DEMO/volumes/$2/action" "$3" >/dev/null; }
for st in creating attaching error maintenance; do
  api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume": {"size": 1}}' >/dev/null; expect_status 202
  v=$(jq -r .volume.id "$T/last.body")
  [ -e "$T/pool/volume-$v" ] || fail "no file for $v"
  act "$adm" "$v" "{\"os-reset_status\": {\"status\": \"$st\"}}"; expect_status 202
  act "$tok" "$v" '{"os-force_delete": {}}'; expect_status 403
  act "$adm" "$v" '{"os-force_delete": {}}'; expect_status 202
  api "$tok" GET "/v3/$PID_DEMO/volumes/$v" >/dev/null; expect_status 404
  [ -e "$T/pool/volume-$v" ] && fail "force delete left the file of $v"
done
# os-attach's record, the volume then in error: force_detach clears both
act "$tok" "$VID" "{\"os-attach\": {\"instance_uuid\": \"$SID\", \"mountpoint\": \"/dev/vdc\"}}"; expect_status 202
act "$adm" "$VID" '{"os-force_delete": null}'; expect_fault 400 badRequest "must not be migrating, attached"
act "$adm" "$VID" '{"os-reset_status": {"status": "error"}}'; expect_status 202
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
att=$(jq -r '.volume.attachments[0].attachment_id' "$T/last.body")
act "$tok" "$VID" "{\"os-force_detach\": {\"attachment_id\": \"$att\", \"connector\": null}}"; expect_status 403
act "$adm" "$VID" '{"os-force_detach": {"attachment_id": "00000000-0000-4000-8000-000000000000"}}'
expect_fault 404 itemNotFound
act "$adm" "$VID" "{\"os-force_detach\": {\"attachment_id\": \"$att\", \"connector\": null}}"; expect_status 202
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume | .status == "available" and .attachments == []' "$T/last.body" >/dev/null ||
  fail "after force detach $(cat "$T/last.body")"
[ "$(attach_status "$VID")" = detached ] || fail "attach_status after force detach"
# Nova's attachment is the host's export: refused, nothing changed
attach "$tok" "$SID" "$VID"; expect_status 200
act "$adm" "$VID" '{"os-force_detach": {}}'; expect_fault 400 badRequest "compute API"
[ "$(attach_status "$VID")" = attached ] || fail "refused force detach changed the volume"
act "$adm" "$VID" '{"os-force_delete": {}}'; expect_fault 400 badRequest
api "$tok" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null; expect_status 202
