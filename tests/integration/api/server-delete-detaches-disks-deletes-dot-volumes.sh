#!/usr/bin/env bash
# DELETE /servers/{id} answers 204 with no body once the server's disks are
# detached: every export and node is gone from the host, a plain volume is
# available again, and one attached with delete_on_termination (2.79) is
# deleted with its file. The server is then 404 and out of the list, an
# admin still lists it with ?deleted=true (status DELETED), and its
# actions, the delete among them, stay readable from 2.21 (404 before).
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
adm=$(api_token admin)
make_volume_and_server "$tok"
keep=$VID
api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1}}' >/dev/null; expect_status 202
dot=$(jq -r .volume.id "$T/last.body")
dot_path=$(reg_sql "SELECT path FROM volumes WHERE id='$dot'")
[ -e "$dot_path" ] || fail "no file for the volume: $dot_path"
attach "$tok" "$SID" "$keep"; expect_status 200
api "$tok" POST "/v2.1/servers/$SID/os-volume_attachments" \
  "{\"volumeAttachment\":{\"volumeId\":\"$dot\",\"delete_on_termination\":true}}" \
  -H 'OpenStack-API-Version: compute 2.79' >/dev/null
expect_status 200
"$CLI_BIN" --json qmp --socket "$T/qmp.sock" query-block-exports | jq -e 'length == 2' >/dev/null \
  || fail "two exports expected before the delete"
api "$tok" DELETE "/v2.1/servers/$SID" >/dev/null; expect_status 204
[ ! -s "$T/last.body" ] || fail "204 with a body: $(cat "$T/last.body")"
"$CLI_BIN" --json qmp --socket "$T/qmp.sock" query-block-exports | jq -e '. == []' >/dev/null \
  || fail "exports left on the host"
"$CLI_BIN" --json qmp --socket "$T/qmp.sock" query-named-block-nodes | jq -e '. == []' >/dev/null \
  || fail "nodes left on the host"
api "$tok" GET "/v3/$PID_DEMO/volumes/$keep" >/dev/null; expect_status 200
jq -e '.volume | .status == "available" and .attachments == []' \
  "$T/last.body" >/dev/null || fail "kept volume: $(cat "$T/last.body")"
[ "$(attach_status "$keep")" = detached ] || fail "attach_status $(attach_status "$keep")"
api "$tok" GET "/v3/$PID_DEMO/volumes/$dot" >/dev/null; expect_status 404
[ ! -e "$dot_path" ] || fail "the delete_on_termination volume's file is still there"
api "$tok" GET "/v2.1/servers/$SID" >/dev/null
expect_fault 404 itemNotFound "Instance $SID could not be found."
api "$tok" GET "/v2.1/servers/detail" >/dev/null; expect_status 200
jq -e --arg s "$SID" '[.servers[].id] | index($s) == null' "$T/last.body" >/dev/null \
  || fail "deleted server listed"
api "$adm" GET "/v2.1/servers/detail?deleted=true&all_tenants=1" >/dev/null; expect_status 200
jq -e --arg s "$SID" '[.servers[] | select(.id == $s)] | length == 1 and .[0].status == "DELETED"
  and .[0]["OS-EXT-STS:vm_state"] == "deleted" and .[0]["OS-SRV-USG:terminated_at"] != null' \
  "$T/last.body" >/dev/null || fail "admin ?deleted=true: $(cat "$T/last.body")"
api "$tok" GET "/v2.1/servers/$SID/os-instance-actions" "" -H 'OpenStack-API-Version: compute 2.21' >/dev/null
expect_status 200
jq -e '[.instanceActions[].action] | index("delete") and index("attach_volume")' "$T/last.body" \
  >/dev/null || fail "actions after delete: $(cat "$T/last.body")"
req=$(jq -r '.instanceActions[] | select(.action == "delete") | .request_id' "$T/last.body")
api "$adm" GET "/v2.1/servers/$SID/os-instance-actions/$req" "" -H 'OpenStack-API-Version: compute 2.21' >/dev/null
expect_status 200
jq -e '.instanceAction.events | map(.event) == ["compute_terminate_instance"] and .[0].result == "Success"' \
  "$T/last.body" >/dev/null || fail "delete's event: $(cat "$T/last.body")"
api "$tok" GET "/v2.1/servers/$SID/os-instance-actions" >/dev/null
expect_fault 404 itemNotFound "Instance $SID could not be found."
api "$tok" DELETE "/v2.1/servers/$SID" >/dev/null
expect_fault 404 itemNotFound "Instance $SID could not be found."
# the kept volume serves another server
api "$tok" POST /v2.1/servers '{"server":{"name":"srv2"}}' >/dev/null; expect_status 202
attach "$tok" "$(jq -r .server.id "$T/last.body")" "$keep"; expect_status 200
echo ok
