#!/usr/bin/env bash
# A delete whose host daemon is unreachable fails with a 500 naming the
# QMP error and keeps everything: the server is still there with no task
# state, its disk still attached and in-use, and the delete action carries
# an Error event. Once the host is back (it lost the node in the restart),
# the same delete succeeds and the volume is available.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
attach "$tok" "$SID" "$VID"; expect_status 200
kill "$HOST_PID"; wait "$HOST_PID" 2>/dev/null || true; HOST_PID=
rm -f "$T/qmp.sock" "$T/nbd.sock"
api "$tok" DELETE "/v2.1/servers/$SID" >/dev/null
expect_fault 500 computeFault "not reachable over QMP"
api "$tok" GET "/v2.1/servers/$SID" >/dev/null; expect_status 200
jq -e '.server.status == "ACTIVE" and .server["OS-EXT-STS:task_state"] == null' "$T/last.body" \
  >/dev/null || fail "server after the failed delete: $(cat "$T/last.body")"
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume.status == "in-use" and (.volume.attachments | length) == 1' "$T/last.body" \
  >/dev/null || fail "volume after the failed delete: $(cat "$T/last.body")"
[ "$(attach_status "$VID")" = attached ] || fail "attach_status $(attach_status "$VID")"
adm=$(api_token admin)
rid=$(api "$adm" GET "/v2.1/servers/$SID/os-instance-actions" | jq -r '.instanceActions[] | select(.action=="delete") | .request_id')
api "$adm" GET "/v2.1/servers/$SID/os-instance-actions/$rid" >/dev/null
jq -e '.instanceAction.message == "Error" and .instanceAction.events[0].event == "compute_terminate_instance"
  and .instanceAction.events[0].result == "Error"' "$T/last.body" >/dev/null \
  || fail "action: $(cat "$T/last.body")"
host_start
api "$tok" DELETE "/v2.1/servers/$SID" >/dev/null; expect_status 204
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume.status == "available"' "$T/last.body" >/dev/null || fail "volume: $(cat "$T/last.body")"
echo ok
