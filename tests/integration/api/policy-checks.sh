#!/usr/bin/env bash
# Nova's and Cinder's default policies: a reader may list and show but not
# attach, detach, create servers or volumes (403 with Nova's message); a
# member of another project cannot see this project's servers or volumes
# (404, as Nova's project-scoped lookup) nor use its volume endpoint (403);
# admin may do all of it; instance action events are admin-only details.
. "$(dirname "$0")/lib.sh"
api_setup
alice=$(api_token alice)
reader=$(api_token reader)
bob=$(api_token bob other)
adm=$(api_token admin)
make_volume_and_server "$alice"
api "$reader" GET "/v2.1/servers/$SID/os-volume_attachments" >/dev/null; expect_status 200
api "$reader" GET "/v2.1/servers/$SID" >/dev/null; expect_status 200
api "$reader" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null; expect_status 200
attach "$reader" "$SID" "$VID"
expect_fault 403 forbidden "Policy doesn't allow os_compute_api:os-volumes-attachments:create to be performed."
api "$reader" POST /v2.1/servers '{"server":{"name":"r"}}' >/dev/null
expect_fault 403 forbidden "Policy doesn't allow os_compute_api:servers:create to be performed."
api "$reader" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1}}' >/dev/null
expect_fault 403 forbidden "Policy doesn't allow volume:create to be performed."
api "$reader" DELETE "/v3/$PID_DEMO/volumes/$VID" >/dev/null
expect_fault 403 forbidden "Policy doesn't allow volume:delete to be performed."
attach "$alice" "$SID" "$VID"; expect_status 200
api "$reader" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null
expect_fault 403 forbidden "Policy doesn't allow os_compute_api:os-volumes-attachments:delete to be performed."
# another project: not found, and its own volume endpoint only
api "$bob" GET "/v2.1/servers/$SID" >/dev/null; expect_fault 404 itemNotFound
api "$bob" GET "/v2.1/servers/$SID/os-volume_attachments" >/dev/null; expect_fault 404 itemNotFound
api "$bob" GET /v2.1/servers >/dev/null
jq -e '.servers == []' "$T/last.body" >/dev/null || fail "bob sees alice's servers"
api "$bob" GET "/v3/$PID_DEMO/volumes" >/dev/null
expect_fault 403 forbidden "Policy doesn't allow volume:get_all to be performed."
bob_pid=$(project_id other bob)
api "$bob" GET "/v3/$bob_pid/volumes/$VID" >/dev/null; expect_fault 404 itemNotFound
bsid=$(api "$bob" POST /v2.1/servers '{"server":{"name":"b"}}' | jq -r .server.id)
vid2=$(api "$alice" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1}}' | jq -r .volume.id)
attach "$bob" "$bsid" "$vid2"
expect_fault 404 itemNotFound "Volume $vid2 could not be found."
# admin everywhere
api "$adm" GET "/v2.1/servers/$bsid" >/dev/null; expect_status 200
api "$adm" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null; expect_status 202
