#!/usr/bin/env bash
# A delete cut short by a crash leaves the server in task_state "deleting"
# (simulated: volswap-api is SIGKILLed and the mark written into the
# registry). After the restart the server refuses an attach with Nova's
# 409, shows the task state, and a new DELETE finishes the job: 204 and
# its disk detached on the host.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
attach "$tok" "$SID" "$VID"; expect_status 200
api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1}}' >/dev/null; expect_status 202
other=$(jq -r .volume.id "$T/last.body")
kill -9 "$API_PID"; wait "$API_PID" 2>/dev/null || true; API_PID=
reg_sql "UPDATE servers SET task_state='deleting' WHERE id='$SID'"
api_start
tok=$(api_token alice)
api "$tok" GET "/v2.1/servers/$SID" >/dev/null; expect_status 200
jq -e '.server["OS-EXT-STS:task_state"] == "deleting"' "$T/last.body" >/dev/null \
  || fail "task state: $(cat "$T/last.body")"
attach "$tok" "$SID" "$other"
expect_fault 409 conflictingRequest "Cannot 'attach_volume' instance $SID while it is in task_state deleting"
api "$tok" DELETE "/v2.1/servers/$SID" >/dev/null; expect_status 204
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume.status == "available"' "$T/last.body" >/dev/null || fail "volume: $(cat "$T/last.body")"
"$CLI_BIN" --json qmp --socket "$T/qmp.sock" query-block-exports | jq -e '. == []' >/dev/null \
  || fail "export left on the host"
echo ok
