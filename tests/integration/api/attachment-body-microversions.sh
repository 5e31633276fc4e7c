#!/usr/bin/env bash
# os-volume_attachments bodies follow the microversion: tag from 2.70 (and
# accepted in POST from 2.49), delete_on_termination from 2.79, and from
# 2.89 list/show drop "id" for attachment_id and bdm_uuid.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
pid=$(project_id demo)
vid=$(api "$tok" POST /v3/$pid/volumes '{"volume":{"size":1}}' | jq -r .volume.id)
sid=$(api "$tok" POST /v2.1/servers '{"server":{"name":"s"}}' | jq -r .server.id)
att="{\"volumeAttachment\":{\"volumeId\":\"$vid\",\"tag\":\"data\",\"delete_on_termination\":true}}"
api "$tok" POST /v2.1/servers/$sid/os-volume_attachments "$att" -H 'OpenStack-API-Version: compute 2.78' >/dev/null
expect_fault 400 badRequest "'delete_on_termination' was unexpected"
api "$tok" POST /v2.1/servers/$sid/os-volume_attachments "{\"volumeAttachment\":{\"volumeId\":\"$vid\",\"tag\":\"data\"}}" -H 'OpenStack-API-Version: compute 2.48' >/dev/null
expect_fault 400 badRequest "'tag' was unexpected"
api "$tok" POST /v2.1/servers/$sid/os-volume_attachments "$att" -H 'OpenStack-API-Version: compute 2.89' >/dev/null
expect_status 200
jq -e ".volumeAttachment | .id == \"$vid\" and .tag == \"data\" and .delete_on_termination == true and .device == \"/dev/vdb\"" "$T/last.body" >/dev/null || fail "POST body: $(cat "$T/last.body")"
show() { api "$tok" GET /v2.1/servers/$sid/os-volume_attachments/$vid "" -H "OpenStack-API-Version: compute $1" >/dev/null; expect_status 200; }
show 2.69
jq -e '.volumeAttachment | has("id") and (has("tag") | not) and (has("delete_on_termination") | not)' "$T/last.body" >/dev/null || fail "2.69 body"
show 2.70
jq -e '.volumeAttachment | .tag == "data" and (has("delete_on_termination") | not)' "$T/last.body" >/dev/null || fail "2.70 body"
show 2.79
jq -e '.volumeAttachment | .delete_on_termination == true and has("id") and (has("attachment_id") | not)' "$T/last.body" >/dev/null || fail "2.79 body"
show 2.89
jq -e '.volumeAttachment | (has("id") | not) and (.attachment_id | length) == 36 and (.bdm_uuid | length) == 36' "$T/last.body" >/dev/null || fail "2.89 body"
api "$tok" GET /v2.1/servers/$sid/os-volume_attachments "" -H 'OpenStack-API-Version: compute 2.89' >/dev/null
jq -e '.volumeAttachments | length == 1 and (.[0] | has("id") | not)' "$T/last.body" >/dev/null || fail "2.89 list"
api "$tok" GET /v2.1/servers/$sid/os-volume_attachments >/dev/null
jq -e ".volumeAttachments[0] | .id == \"$vid\" and .serverId == \"$sid\" and (has(\"tag\") | not)" "$T/last.body" >/dev/null || fail "2.1 list"
