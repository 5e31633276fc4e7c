#!/usr/bin/env bash
# The unmodified Debian cinderclient (password auth through our Keystone
# catalog) runs a volume's life: create with a name and metadata, list,
# show, extend, delete. A create from a snapshot (volswap keeps none) is
# Cinder's 404 for an unknown snapshot, and creates nothing.
. "$(dirname "$0")/lib.sh"
/usr/bin/python3 -c 'import cinderclient' 2>/dev/null || skip "python3-cinderclient not installed"
pyclients_start           # the clients import while the daemons start
api_setup
password_env alice demo
cinder() { pyclient cinder "$@"; }
cinder create --name v1 --metadata owner=ops 1 >"$T/out" || fail "create: $(cat "$T/cinder.err")"
vid=$(awk -F'|' '$2 ~ /^ id / {gsub(/ /, "", $3); print $3}' "$T/out")
[ -n "$vid" ] || fail "no id in: $(cat "$T/out")"
cinder list >"$T/out" || fail "list: $(cat "$T/cinder.err")"
grep -E "^\| $vid \| available +\| v1 +\| 1 +\|" "$T/out" >/dev/null || fail "list: $(cat "$T/out")"
cinder show v1 >"$T/out" || fail "show: $(cat "$T/cinder.err")"
grep -E "^\| metadata +\| owner : ops" "$T/out" >/dev/null || fail "show: $(cat "$T/out")"
cinder extend v1 2 || fail "extend: $(cat "$T/cinder.err")"
cinder show v1 >"$T/out"
grep -E "^\| size +\| 2 +\|" "$T/out" >/dev/null || fail "after extend: $(cat "$T/out")"
if cinder create --snapshot-id 11111111-2222-4333-8444-555555555555 --name v2 1 >"$T/out"; then
  fail "a create from a snapshot succeeded"
fi
grep -q "Snapshot 11111111-2222-4333-8444-555555555555 could not be found" "$T/cinder.err" \
  || fail "refusal: $(cat "$T/cinder.err")"
cinder delete v1 >"$T/out" || fail "delete: $(cat "$T/cinder.err")"
cinder list >"$T/out"
if grep -qE "$vid|v2" "$T/out"; then fail "left after delete: $(cat "$T/out")"; fi
echo ok
