#!/usr/bin/env bash
# The unmodified Debian novaclient, logging in with a password at our
# Keystone (OS_AUTH_URL), negotiating the newest common microversion, runs
# volume-attach, volume-attachments, instance-action-list and volume-detach,
# finding the server by name; what it prints matches the registry.
. "$(dirname "$0")/lib.sh"
need_novaclient
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
password_env alice demo
nova volume-attach srv "$VID" >"$T/out" || fail "volume-attach: $(cat "$T/nova.err")"
grep -E "^\| volumeId +\| $VID" "$T/out" >/dev/null || fail "attach output: $(cat "$T/out")"
grep -E "^\| device +\| /dev/vdb" "$T/out" >/dev/null || fail "device"
nova volume-attachments srv >"$T/out" || fail "volume-attachments: $(cat "$T/nova.err")"
grep -q "ATTACHMENT ID" "$T/out" || fail "novaclient did not negotiate >= 2.89: $(cat "$T/out")"
aid=$(api "$tok" GET "/v2.1/servers/$SID/os-volume_attachments" "" -H 'OpenStack-API-Version: compute 2.89' | jq -r '.volumeAttachments[0].attachment_id')
grep -E "\| /dev/vdb +\| $SID \| $VID \| $aid " "$T/out" >/dev/null || fail "attachments output: $(cat "$T/out")"
nova instance-action-list srv >"$T/out" || fail "instance-action-list: $(cat "$T/nova.err")"
grep -q "| attach_volume " "$T/out" && grep -q "| create " "$T/out" || fail "actions: $(cat "$T/out")"
nova volume-detach srv "$VID" || fail "volume-detach: $(cat "$T/nova.err")"
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume.status == "available"' "$T/last.body" >/dev/null || fail "not detached"
nova instance-action-list "$SID" >"$T/out" || fail "instance-action-list by id"
grep -q "| detach_volume " "$T/out" || fail "detach action: $(cat "$T/out")"
# an error from the API reaches the user as novaclient's message and exit 1
if nova volume-detach srv "$VID" >"$T/out"; then fail "second detach succeeded"; fi
grep -q "is not attached to volume $VID (HTTP 404)" "$T/nova.err" || fail "error: $(cat "$T/nova.err")"
# a reader is refused with Nova's policy message
password_env reader demo
if nova volume-attach srv "$VID" >"$T/out"; then fail "reader attached"; fi
grep -q "Policy doesn't allow os_compute_api:os-volumes-attachments:create to be performed. (HTTP 403)" "$T/nova.err" || fail "403: $(cat "$T/nova.err")"
