#!/usr/bin/env bash
# volswap-api samples a swap while it runs and keeps the series with its
# record; `volswap swap-report SWAP_ID --svg FILE` draws it: an SVG (valid
# XML) with the bytes copied and dirty over time, the READY and pivot
# markers with the pivot's pause, and the consumer's latency, sampled from
# volswapd while fio writes through the swap. Without --svg the command
# prints the swap's figures; another project's member gets 404.
export VOLSWAP_TEST_HOST_DAEMON=volswapd
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
command -v fio >/dev/null || skip "fio not installed"
# Slow enough for the worker to sample the consumer a good many times
# (the copy of 32 MiB at 8 MiB/s), whatever the machine's load.
export VOLSWAP_SWAP_SPEED=$((8 << 20))
swap_setup
attached_pair 1 32
# The consumer writes from before the swap until after it (bounded).
fio --name=consumer --ioengine=nbd --uri="$URI" --rw=randwrite --bs=4k --iodepth=4 --size=16M \
  --time_based --runtime=120 --rate_iops=500 >"$T/fio.log" 2>&1 &
FIO=$!
writing=
for _ in $(seq 300); do
  [ -n "$(qmp_cmd '{"execute":"query-blockstats"}' | jq '.return[] | select(.stats.wr_operations > 0)')" ] &&
    { writing=1; break; }
  sleep 0.1
done
[ -n "$writing" ] || fail "the consumer did not start writing: $(cat "$T/fio.log")"
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
swap_id=$(header x-openstack-request-id)
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
kill "$FIO" 2>/dev/null; wait "$FIO" 2>/dev/null || true
password_env admin demo
"$CLI_BIN" swap-report "$swap_id" --svg "$T/report.svg" || fail "swap-report --svg failed"
/usr/bin/python3 - "$T/report.svg" "$swap_id" <<'PY' || fail "the SVG does not show the swap"
import sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
def one(tag, cls):
    found = [e for e in root.iter("{http://www.w3.org/2000/svg}" + tag) if e.get("class") == cls]
    assert found, "no %s.%s" % (tag, cls)
    return found[0]
for cls in ("copied", "dirty", "consumer-latency"):
    pts = one("polyline", cls).get("points").split()
    assert len(pts) >= 2, "%s has %d points" % (cls, len(pts))
one("line", "ready")
one("line", "pivot")
one("rect", "pivot-pause")
texts = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
for want in ("READY", "pivot (", sys.argv[2], "bytes copied", "bytes dirty", "latency"):
    assert want in texts, "no text %r" % want
# The dirty line ends at zero: its last point is on the plot's floor.
last = one("polyline", "dirty").get("points").split()[-1]
floor = max(float(p.split(",")[1]) for p in one("polyline", "dirty").get("points").split())
assert float(last.split(",")[1]) == floor, "dirty does not end at 0: %s" % last
PY
"$CLI_BIN" swap-report "$swap_id" >"$T/table" || fail "swap-report without --svg failed"
grep -qE '^\| samples +\| [1-9][0-9]* +\|$' "$T/table" || fail "figures: $(cat "$T/table")"
grep -qE '^\| state +\| completed +\|$' "$T/table" || fail "figures: $(cat "$T/table")"
api "$(api_token bob other)" GET "/v2.1/os-volume-swaps/$swap_id/report" >/dev/null
expect_status 404
echo ok
