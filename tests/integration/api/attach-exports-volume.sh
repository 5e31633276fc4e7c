#!/usr/bin/env bash
# Attach opens the volume on the host and exports it over NBD as the
# server's disk: nbdinfo sees the export named in the attachment's
# connection_info, with the volume's size, and what a client writes through
# it lands in the volume's file. The volume is in-use/attached and the Cinder
# view lists the attachment.
. "$(dirname "$0")/lib.sh"
command -v nbdinfo >/dev/null || skip "nbdinfo not installed"
/usr/bin/python3 -c "import nbd" 2>/dev/null || skip "python3-libnbd not installed"
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
attach "$tok" "$SID" "$VID"; expect_status 200
uri=$(export_uri "$tok" "$SID" "$VID")
case $uri in "nbd+unix:///$SID-vdb?socket=$T/nbd.sock") ;; *) fail "uri $uri" ;; esac
ci=$(jq -c .attachment.connection_info "$T/last.body")
jq -e ".driver_volume_type == \"nbd\" and .serial == \"$VID\" and .data.export_name == \"$SID-vdb\" and .data.socket == \"$T/nbd.sock\"" <<<"$ci" >/dev/null || fail "connection_info $ci"
[ "$(nbdinfo --size "$uri")" = 1073741824 ] || fail "export size"
nbdinfo --list "nbd+unix://?socket=$T/nbd.sock" | grep -q "export=\"$SID-vdb\"" || fail "export not listed"
/usr/bin/python3 -m nbd -u "$uri" -c 'h.pwrite(b"volswap!" * 64, 1048576); h.flush()'
dd if="$T/pool/volume-$VID" bs=512 skip=2048 count=1 status=none | grep -q 'volswap!volswap!' || fail "write did not reach the volume file"
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e ".volume | .status == \"in-use\" and .attachments[0].server_id == \"$SID\" and .attachments[0].device == \"/dev/vdb\"" "$T/last.body" >/dev/null || fail "volume view $(cat "$T/last.body")"
[ "$(attach_status "$VID")" = attached ] || fail "attach_status $(attach_status "$VID")"
api "$tok" GET "/v2.1/servers/$SID" "" -H 'OpenStack-API-Version: compute 2.3' >/dev/null
jq -e ".server[\"os-extended-volumes:volumes_attached\"] == [{\"id\": \"$VID\", \"delete_on_termination\": false}]" "$T/last.body" >/dev/null || fail "server volumes_attached"
