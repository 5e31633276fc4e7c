#!/usr/bin/env bash
# The unmodified Debian cinderclient (`cinder`, password auth through our
# Keystone catalog) sets, shows and unsets volume metadata.
. "$(dirname "$0")/lib.sh"
/usr/bin/python3 -c 'import cinderclient' 2>/dev/null || skip "python3-cinderclient not installed"
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
password_env alice demo
cinder() { /usr/bin/python3 -m cinderclient.shell "$@" 2>"$T/cinder.err"; }
cinder metadata "$VID" set owner=ops backup/policy=daily || fail "set: $(cat "$T/cinder.err")"
cinder metadata-show "$VID" >"$T/out" || fail "metadata-show: $(cat "$T/cinder.err")"
grep -E '^\| owner +\| ops +\|' "$T/out" >/dev/null || fail "show: $(cat "$T/out")"
grep -E '^\| backup/policy +\| daily +\|' "$T/out" >/dev/null || fail "show: $(cat "$T/out")"
cinder metadata "$VID" unset owner || fail "unset: $(cat "$T/cinder.err")"
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID/metadata" >/dev/null
jq -e '.metadata == {"backup/policy":"daily"}' "$T/last.body" >/dev/null \
  || fail "after unset: $(cat "$T/last.body")"
echo ok
