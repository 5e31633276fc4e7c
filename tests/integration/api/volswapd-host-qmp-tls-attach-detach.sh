#!/usr/bin/env bash
# volswap-api reaches its host over TCP with TLS: the host's config says
# "qmp": "tcp:127.0.0.1:PORT" with "tls": {"dir": ...} (the API's client
# certificate), and volswapd's monitor there requires TLS and authz by the
# certificate's DN. Attach opens and exports the volume through that
# monitor (data written at connection_info lands in the file), the host
# shows up in os-services, and detach removes export and node.
. "$(dirname "$0")/lib.sh"
command -v nbdinfo >/dev/null || skip "nbdinfo not installed"
/usr/bin/python3 -c "import nbd" 2>/dev/null || skip "python3-libnbd not installed"
[ -x "$VOLSWAP_BUILD/src/daemon/volswapd" ] || skip "volswapd not built"
export VOLSWAP_TEST_HOST_DAEMON=volswapd VOLSWAP_TEST_DRIVER=volswapd VOLSWAP_TEST_QMP_TLS=1
api_setup
grep -q '"qmp": "tcp:127.0.0.1:' "$T/api.json" || fail "config does not use the TCP monitor"
tok=$(api_token alice)
make_volume_and_server "$tok"
attach "$tok" "$SID" "$VID"; expect_status 200
uri=$(export_uri "$tok" "$SID" "$VID")
[ "$(nbdinfo --size "$uri")" = 1073741824 ] || fail "export size"
/usr/bin/python3 -m nbd -u "$uri" -c 'h.pwrite(b"overtls!" * 64, 4096); h.flush()'
dd if="$T/pool/volume-$VID" bs=512 skip=8 count=1 status=none | grep -q 'overtls!overtls!' || fail "write did not reach the file"
api "$ADMIN_TOKEN" GET /v2.1/os-services >/dev/null; expect_status 200
jq -e '.services[] | select(.host == "host1" and .binary == "nova-compute") | .state == "up"' "$T/last.body" >/dev/null ||
  fail "host1 not up through its TLS monitor: $(cat "$T/last.body")"
api "$tok" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null; expect_status 202
for _ in $(seq 100); do
  "$CLI_BIN" --json qmp --socket "$T/qmp.sock" query-block-exports | jq -e '. == []' >/dev/null && break
  sleep 0.1
done
"$CLI_BIN" --json qmp --socket "$T/qmp.sock" query-block-exports | jq -e '. == []' >/dev/null || fail "export left"
grep -q "QMP client refused" "$T/host.log" && fail "the host refused the API: $(grep refused "$T/host.log")"
echo ok
