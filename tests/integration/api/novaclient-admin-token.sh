#!/usr/bin/env bash
# The unmodified Debian novaclient with --os-auth-type admin_token and
# --os-endpoint pointing at our compute endpoint: attach, list attachments,
# list instance actions and detach, with no Keystone login at all.
. "$(dirname "$0")/lib.sh"
need_novaclient
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
unset OS_USERNAME OS_PASSWORD
# novaclient's shell insists on an auth URL and a project name even for
# admin_token; neither is used (checked below: no login happens)
export OS_PROJECT_NAME=demo
logins=$(grep -c 'POST /v3/auth/tokens' "$T/api.log")
at=(--os-auth-type admin_token --os-token "$ADMIN_TOKEN" --os-endpoint "$URL/v2.1")
nova "${at[@]}" volume-attach "$SID" "$VID" >"$T/out" || fail "volume-attach: $(cat "$T/nova.err")"
grep -E "^\| serverId +\| $SID" "$T/out" >/dev/null || fail "attach output: $(cat "$T/out")"
nova "${at[@]}" volume-attachments srv >"$T/out" || fail "volume-attachments: $(cat "$T/nova.err")"
grep -E "\| /dev/vdb +\| $SID \| $VID " "$T/out" >/dev/null || fail "attachments: $(cat "$T/out")"
nova "${at[@]}" instance-action-list srv >"$T/out" || fail "instance-action-list: $(cat "$T/nova.err")"
grep -q "| attach_volume " "$T/out" || fail "actions: $(cat "$T/out")"
nova "${at[@]}" volume-detach srv "$VID" || fail "volume-detach: $(cat "$T/nova.err")"
nova "${at[@]}" volume-attachments srv >"$T/out"
if grep -q "$VID" "$T/out"; then fail "still attached"; fi
# a wrong admin token is refused
if nova --os-auth-type admin_token --os-token wrong-token-123 --os-endpoint "$URL/v2.1" volume-attachments "$SID" >/dev/null; then
  fail "wrong token accepted"
fi
grep -q "HTTP 401" "$T/nova.err" || fail "401: $(cat "$T/nova.err")"
[ "$(grep -c 'POST /v3/auth/tokens' "$T/api.log")" = "$logins" ] || fail "admin_token runs logged in"
