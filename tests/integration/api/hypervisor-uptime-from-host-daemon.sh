#!/usr/bin/env bash
# A volswapd host's hypervisor uptime is uptime(1)'s line made from what
# its daemon reports (x-volswap-query-uptime: the host's clock, how long
# the daemon has run, the load averages): through GET .../uptime until
# 2.87 and in the show from 2.88; a host whose daemon does not answer is
# Nova's 400 "unavailable", and from 2.88 its uptime is null.
export VOLSWAP_TEST_HOST_DAEMON=volswapd
. "$(dirname "$0")/lib.sh"
api_setup
adm=$(api_token admin)
cmv() { echo "OpenStack-API-Version: compute 2.$1"; }
api "$adm" GET /v2.1/os-hypervisors/1/uptime >/dev/null; expect_status 200
jq -e '.hypervisor.uptime | test("^ [0-9]{2}:[0-9]{2}:[0-9]{2} up .*load average: [0-9.]+, [0-9.]+, [0-9.]+$")' \
  "$T/last.body" >/dev/null || fail "uptime: $(cat "$T/last.body")"
jq -e '.hypervisor.hypervisor_hostname == "host1" and .hypervisor.state == "up"' "$T/last.body" \
  >/dev/null || fail "uptime view: $(cat "$T/last.body")"
"$CLI_BIN" --json qmp --socket "$T/qmp.sock" x-volswap-query-uptime \
  | jq -e '.seconds >= 0 and .time > 0' >/dev/null || fail "x-volswap-query-uptime"
api "$adm" GET /v2.1/os-hypervisors "" -H "$(cmv 88)" >/dev/null; expect_status 200
id=$(jq -r '.hypervisors[0].id' "$T/last.body")
api "$adm" GET "/v2.1/os-hypervisors/$id" "" -H "$(cmv 88)" >/dev/null; expect_status 200
jq -e '.hypervisor.uptime | test(" up ")' "$T/last.body" >/dev/null || fail "2.88 show: $(cat "$T/last.body")"
kill "$HOST_PID"; wait "$HOST_PID" 2>/dev/null || true; HOST_PID=
rm -f "$T/qmp.sock"
api "$adm" GET /v2.1/os-hypervisors/1/uptime >/dev/null
expect_fault 400 badRequest "Compute service of host1 is unavailable at this time."
api "$adm" GET "/v2.1/os-hypervisors/$id" "" -H "$(cmv 88)" >/dev/null; expect_status 200
jq -e '.hypervisor.uptime == null' "$T/last.body" >/dev/null || fail "2.88 down: $(cat "$T/last.body")"
echo ok
