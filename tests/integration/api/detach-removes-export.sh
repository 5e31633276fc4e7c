#!/usr/bin/env bash
# Detach (202) removes the NBD export and closes the node on the host, and
# the volume is available/detached again; a second detach is 404 with Nova's
# message; the volume can then be attached again.
. "$(dirname "$0")/lib.sh"
command -v nbdinfo >/dev/null || skip "nbdinfo not installed"
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
attach "$tok" "$SID" "$VID"; expect_status 200
uri=$(export_uri "$tok" "$SID" "$VID")
nbdinfo --size "$uri" >/dev/null || fail "not exported"
api "$tok" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null; expect_status 202
[ ! -s "$T/last.body" ] || fail "202 with a body"
if nbdinfo --size "$uri" 2>/dev/null; then fail "export still served after detach"; fi
"$CLI_BIN" --json qmp --socket "$T/qmp.sock" query-block-exports | jq -e '. == []' >/dev/null || fail "export left on host"
"$CLI_BIN" --json qmp --socket "$T/qmp.sock" query-named-block-nodes | jq -e '. == []' >/dev/null || fail "node left on host"
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume | .status == "available" and .attachments == []' "$T/last.body" >/dev/null || fail "volume after detach"
[ "$(attach_status "$VID")" = detached ] || fail "attach_status $(attach_status "$VID")"
api "$tok" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null
expect_fault 404 itemNotFound "Instance $SID is not attached to volume $VID"
attach "$tok" "$SID" "$VID"; expect_status 200
nbdinfo --size "$(export_uri "$tok" "$SID" "$VID")" >/dev/null || fail "reattach not exported"
