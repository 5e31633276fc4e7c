#!/usr/bin/env bash
# Cinder's attachments API (from 3.27) shows each attachment of the project
# with its connection_info; before 3.27 the resource does not exist (404);
# attachments of another project's volumes are not visible.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
attach "$tok" "$SID" "$VID"; expect_status 200
api "$tok" GET "/v3/$PID_DEMO/attachments" >/dev/null; expect_fault 404 itemNotFound
api "$tok" GET "/v3/$PID_DEMO/attachments" "" -H 'OpenStack-API-Version: volume 3.27' >/dev/null
expect_status 200
aid=$(jq -r '.attachments[0].id' "$T/last.body")
jq -e ".attachments == [{\"id\": \"$aid\", \"status\": \"attached\", \"instance\": \"$SID\", \"volume_id\": \"$VID\"}]" "$T/last.body" >/dev/null || fail "list $(cat "$T/last.body")"
api "$tok" GET "/v3/$PID_DEMO/attachments/detail" "" -H 'OpenStack-API-Version: volume 3.27' >/dev/null
jq -e '.attachments[0].connection_info.driver_volume_type == "nbd" and .attachments[0].attach_mode == "rw"' "$T/last.body" >/dev/null || fail detail
api "$tok" GET "/v3/$PID_DEMO/attachments/$aid" "" -H 'OpenStack-API-Version: volume 3.27' >/dev/null
jq -e ".attachment.connection_info.data.export_name == \"$SID-vdb\"" "$T/last.body" >/dev/null || fail show
api "$tok" GET "/v3/$PID_DEMO/attachments/nope" "" -H 'OpenStack-API-Version: volume 3.27' >/dev/null
expect_fault 404 itemNotFound "VolumeAttachment nope could not be found."
bob=$(api_token bob other)
bpid=$(project_id other bob)
api "$bob" GET "/v3/$bpid/attachments/$aid" "" -H 'OpenStack-API-Version: volume 3.27' >/dev/null
expect_fault 404 itemNotFound
api "$bob" GET "/v3/$bpid/attachments" "" -H 'OpenStack-API-Version: volume 3.27' >/dev/null
jq -e '.attachments == []' "$T/last.body" >/dev/null || fail "bob sees alice's attachments"
