#!/usr/bin/env bash
# volswap-api's GET /metrics (no token, as for any exporter) counts requests
# by method, route pattern (ids never in labels) and status with a latency
# histogram, swaps by kind and outcome with their durations and pivot
# pauses, and says whether each host's daemon answers; the exposition
# passes `promtool check metrics`, and a stopped host shows as down.
export VOLSWAP_TEST_HOST_DAEMON=volswapd
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
command -v promtool >/dev/null || skip "promtool not installed (Debian package prometheus)"
swap_setup
attached_pair 1 1
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
curl -sS -D "$T/m.hdr" -o "$T/metrics" -w '%{http_code}' "$URL/metrics" >"$T/status"
[ "$(cat "$T/status")" = 200 ] || fail "GET /metrics answered $(cat "$T/status")"
tr -d '\r' <"$T/m.hdr" | grep -qi '^content-type: text/plain; version=0.0.4' || fail "content type: $(cat "$T/m.hdr")"
value() { awk -v s="$1" 'index($0, s " ") == 1 { print $NF }' "$T/metrics"; }
expect() {
  [ "$(value "$1")" = "$2" ] || fail "$1 is '$(value "$1")', want $2: $(grep -F "${1%%\{*}" "$T/metrics" | head -20)"
}
expect 'volswap_api_swaps_total{kind="swap",outcome="completed"}' 1
expect 'volswap_api_swaps_total{kind="swap",outcome="rolled_back"}' 0
expect 'volswap_api_swap_duration_seconds_count{kind="swap"}' 1
expect 'volswap_api_swap_pivot_pause_seconds_count{kind="swap"}' 1
expect 'volswap_api_host_up{host="host1",driver="volswapd"}' 1
expect 'volswap_api_http_requests_total{method="PUT",route="/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}",status="202"}' 1
[ -n "$(value 'volswap_api_http_request_duration_seconds_count{method="PUT",route="/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}"}')" ] ||
  fail "no latency histogram for the swap's PUT"
grep -q "$SID\|$OLD\|$NEW" "$T/metrics" && fail "an id is in a label"
promtool check metrics <"$T/metrics" >"$T/promtool.out" 2>&1 || fail "promtool check metrics: $(cat "$T/promtool.out")"
host_kill
curl -sS -o "$T/metrics" "$URL/metrics"
expect 'volswap_api_host_up{host="host1",driver="volswapd"}' 0
echo ok
