#!/usr/bin/env bash
# The unmodified Debian novaclient sets and removes server metadata
# (`nova meta srv set`, `nova meta srv delete`, password auth), and
# `nova show` prints what is left.
. "$(dirname "$0")/lib.sh"
need_novaclient
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
password_env alice demo
nova meta srv set role=db tier=gold || fail "nova meta set: $(cat "$T/nova.err")"
api "$tok" GET "/v2.1/servers/$SID/metadata" >/dev/null
jq -e '.metadata == {"role":"db","tier":"gold"}' "$T/last.body" >/dev/null \
  || fail "after set: $(cat "$T/last.body")"
nova meta srv delete role || fail "nova meta delete: $(cat "$T/nova.err")"
nova show srv >"$T/out" || fail "nova show: $(cat "$T/nova.err")"
grep -E '^\| metadata +\| \{"tier": "gold"\}' "$T/out" >/dev/null || fail "show: $(cat "$T/out")"
echo ok
