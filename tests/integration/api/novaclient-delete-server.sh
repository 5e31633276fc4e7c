#!/usr/bin/env bash
# The unmodified Debian novaclient deletes a server by name (`nova delete`,
# password auth): it reports the request accepted, the server leaves
# `nova list`, and its attached volume is available again.
. "$(dirname "$0")/lib.sh"
need_novaclient
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
attach "$tok" "$SID" "$VID"; expect_status 200
password_env alice demo
nova delete srv >"$T/out" || fail "nova delete: $(cat "$T/nova.err")"
grep -q "Request to delete server srv has been accepted" "$T/out" || fail "output: $(cat "$T/out")"
nova list >"$T/out" || fail "nova list: $(cat "$T/nova.err")"
if grep -q "$SID" "$T/out"; then fail "deleted server still listed: $(cat "$T/out")"; fi
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume | .status == "available" and .attachments == []' "$T/last.body" >/dev/null \
  || fail "volume: $(cat "$T/last.body")"
[ "$(attach_status "$VID")" = detached ] || fail "attach_status $(attach_status "$VID")"
echo ok
