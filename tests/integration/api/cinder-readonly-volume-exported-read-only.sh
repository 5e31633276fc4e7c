#!/usr/bin/env bash
# Cinder's os-update_readonly_flag: the flag shows as metadata.readonly
# ("True"/"False", absent until set), is refused while the volume is in
# use, and a read-only volume attached to a server is exported read-only:
# a client reads through the export but its write fails, and the volume's
# file is unchanged. Cleared again, the next attachment is writable.
. "$(dirname "$0")/lib.sh"
/usr/bin/python3 -c "import nbd" 2>/dev/null || skip "python3-libnbd not installed"
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
act() { api "$tok" POST "/v3/$PID_DEMO/volumes/$VID/action" "$1" >/dev/null; }
show() { api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null; jq -c "$1" "$T/last.body"; }
[ "$(show '.volume.metadata | has("readonly")')" = false ] || fail "readonly shown before it was set"
act '{"os-update_readonly_flag": {"readonly": "maybe"}}'; expect_fault 400 badRequest
act '{"os-update_readonly_flag": {}}'; expect_fault 400 badRequest
act '{"os-update_readonly_flag": {"readonly": true}}'; expect_status 202
[ "$(show .volume.metadata.readonly)" = '"True"' ] || fail "readonly $(cat "$T/last.body")"
attach "$tok" "$SID" "$VID"; expect_status 200
uri=$(export_uri "$tok" "$SID" "$VID")
ci=$(jq -c .attachment.connection_info "$T/last.body")
jq -e '.access_mode == "ro" and .data.access_mode == "ro"' <<<"$ci" >/dev/null || fail "connection_info $ci"
jq -e '.attachment.attach_mode == "ro"' "$T/last.body" >/dev/null || fail "attach_mode $(cat "$T/last.body")"
[ "$(show .volume.metadata.attached_mode)" = '"ro"' ] || fail "attached_mode $(cat "$T/last.body")"
/usr/bin/python3 - "$uri" <<'PY' || fail "the read-only export took a write"
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
assert h.is_read_only(), "export not read-only"
h.pread(512, 0)
try:
    h.pwrite(b"x" * 512, 0)
except nbd.Error:
    sys.exit(0)
sys.exit(1)
PY
cmp -s -n 512 "$T/pool/volume-$VID" /dev/zero || fail "the volume's file changed"
act '{"os-update_readonly_flag": {"readonly": false}}'
expect_fault 400 badRequest "Invalid volume: Volume $VID status must be available to update readonly flag, but current status is: in-use."
api "$tok" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null; expect_status 202
act '{"os-update_readonly_flag": {"readonly": false}}'; expect_status 202
[ "$(show .volume.metadata.readonly)" = '"False"' ] || fail "readonly $(cat "$T/last.body")"
attach "$tok" "$SID" "$VID"; expect_status 200
uri=$(export_uri "$tok" "$SID" "$VID")
/usr/bin/python3 -m nbd -u "$uri" -c 'h.pwrite(b"volswap!" * 64, 0); h.flush()'
head -c 8 "$T/pool/volume-$VID" | grep -q 'volswap!' || fail "write through the writable export did not land"
