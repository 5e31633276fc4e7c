#!/usr/bin/env bash
# When a host daemon is gone, the attach fails with a fault that says so
# but shows no path on the host (its QMP socket, its pool): those go to
# volswap-api's log only.
. "$(dirname "$0")/lib.sh"
api_setup
alice=$(api_token alice)
make_volume_and_server "$alice"
kill "$HOST_PID"; wait "$HOST_PID" 2>/dev/null || true; HOST_PID=
attach "$alice" "$SID" "$VID"
[ "$STATUS" -ge 400 ] || fail "attach to a dead host answered $STATUS"
cat "$T/last.body"; echo
if grep -q -e "$T" -e '/tmp' "$T/last.body"; then fail "a host path in the fault: $(cat "$T/last.body")"; fi
grep -q "$T/qmp.sock" "$T/api.log" || fail "the log should keep the path for the operator"
echo PASS
