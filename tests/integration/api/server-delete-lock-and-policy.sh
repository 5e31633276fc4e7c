#!/usr/bin/env bash
# Deleting a server follows Nova's rules: a reader gets 403 with the
# servers:delete policy message, another project's member 404, the owner
# of a locked server 409 "is locked" (the disk stays attached and served),
# and an admin deletes the locked server.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
attach "$tok" "$SID" "$VID"; expect_status 200
reader=$(api_token reader)
api "$reader" DELETE "/v2.1/servers/$SID" >/dev/null
expect_fault 403 forbidden "Policy doesn't allow os_compute_api:servers:delete to be performed."
bob=$(api_token bob other)
api "$bob" DELETE "/v2.1/servers/$SID" >/dev/null
expect_fault 404 itemNotFound "Instance $SID could not be found."
api "$tok" POST "/v2.1/servers/$SID/action" '{"lock": null}' >/dev/null; expect_status 202
api "$tok" DELETE "/v2.1/servers/$SID" >/dev/null
expect_fault 409 conflictingRequest "Instance $SID is locked"
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume.status == "in-use"' "$T/last.body" >/dev/null || fail "refused delete detached"
"$CLI_BIN" --json qmp --socket "$T/qmp.sock" query-block-exports | jq -e 'length == 1' >/dev/null \
  || fail "refused delete removed the export"
api "$(api_token admin)" DELETE "/v2.1/servers/$SID" >/dev/null; expect_status 204
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume.status == "available"' "$T/last.body" >/dev/null || fail "volume after admin delete"
echo ok
