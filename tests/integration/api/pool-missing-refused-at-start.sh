#!/usr/bin/env bash
# A pool whose directory does not exist is a start-up error: volswap-api
# says which host, pool and directory, and exits 1 before it listens,
# instead of failing later with a 500.
. "$(dirname "$0")/lib.sh"
host_start
write_config
rmdir "$T/pool2"
rc=0
timeout 30 "$API_BIN" --config "$T/api.json" --port-file "$T/port" >"$T/start.log" 2>&1 || rc=$?
cat "$T/start.log"
[ $rc -eq 1 ] || fail "expected exit status 1, got $rc"
[ ! -s "$T/port" ] || fail "it listened anyway"
grep -q "host host1: pool pool2: directory $T/pool2" "$T/start.log" || fail "no clear error"
echo PASS
