#!/usr/bin/env bash
# When the host daemon is unreachable, attach fails with a 500 fault naming
# the QMP error, and everything is rolled back: the volume is available
# again, no attachment is recorded, and the attach_volume action carries an
# Error event. Once the daemon is back, the same attach succeeds.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
kill "$HOST_PID"; wait "$HOST_PID" 2>/dev/null || true; HOST_PID=
rm -f "$T/qmp.sock" "$T/nbd.sock"
attach "$tok" "$SID" "$VID"
expect_fault 500 computeFault "not reachable over QMP"
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume.status == "available"' "$T/last.body" >/dev/null || fail "volume not rolled back"
[ "$(attach_status "$VID")" = detached ] || fail "attach_status $(attach_status "$VID")"
api "$tok" GET "/v2.1/servers/$SID/os-volume_attachments" >/dev/null
jq -e '.volumeAttachments == []' "$T/last.body" >/dev/null || fail "attachment recorded"
adm=$(api_token admin)
rid=$(api "$adm" GET "/v2.1/servers/$SID/os-instance-actions" | jq -r '.instanceActions[] | select(.action=="attach_volume") | .request_id')
api "$adm" GET "/v2.1/servers/$SID/os-instance-actions/$rid" >/dev/null
jq -e '.instanceAction.message == "Error" and .instanceAction.events[0].result == "Error" and (.instanceAction.events[0].traceback | test("QMP"))' "$T/last.body" >/dev/null || fail "action $(cat "$T/last.body")"
host_start
attach "$tok" "$SID" "$VID"; expect_status 200
