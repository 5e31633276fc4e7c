#!/usr/bin/env bash
# Two volswapd hosts. host1's daemon is stopped (SIGSTOP) and a swap of a
# server there is accepted, so its worker waits for host1's QMP greeting.
# Meanwhile an attach on host2 is answered (200): a worker connecting to a
# hung host holds up no other host's calls. host1 is then let go (SIGCONT)
# before the worker's connect times out, so the greeting reaches it and
# the swap completes. (When the connect held the session list's lock, the
# attach waited for the connect to time out, and the swap rolled back.)
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_TEST_HOST_DAEMON=volswapd
H2=$T/h2 H2_PID=
mkdir -p "$H2/pool"
host_start
"$VOLSWAP_BUILD/src/daemon/volswapd" --monitor "$H2/qmp.sock" \
  --nbd-server "addr.type=unix,addr.path=$H2/nbd.sock" >"$H2/host.log" 2>&1 &
H2_PID=$!
trap 'rc=$?; kill -CONT "$HOST_PID" 2>/dev/null; kill "$H2_PID" 2>/dev/null; wait "$H2_PID" 2>/dev/null; (exit $rc); cleanup' EXIT
for _ in $(seq 200); do [ -S "$H2/qmp.sock" ] && [ -S "$H2/nbd.sock" ] && break; sleep 0.05; done
[ -S "$H2/nbd.sock" ] || fail "the second volswapd did not start: $(cat "$H2/host.log")"
write_config
jq --arg d "$H2" '.hosts += [{"name": "host2", "driver": "volswapd", "qmp": ($d + "/qmp.sock"),
    "nbd": {"type": "unix", "path": ($d + "/nbd.sock")},
    "pools": [{"name": "h2pool", "type": "dir", "path": ($d + "/pool")}]}]' \
  "$T/api.json" >"$T/api2.json" && mv "$T/api2.json" "$T/api.json"
api_start
need_swap_api
PID_DEMO=$(project_id demo)
attached_pair 1 1
api "$ADMIN_TOKEN" POST /v2.1/servers '{"server":{"name":"on-host2","availability_zone":"nova:host2"}}' >/dev/null
expect_status 202; S2=$(jq -r .server.id "$T/last.body")
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"volume_type":"h2pool"}}' >/dev/null
expect_status 202; V2=$(jq -r .volume.id "$T/last.body")
for _ in $(seq 100); do [ "$(volume_field "$V2" status)" = available ] && break; sleep 0.1; done

kill -STOP "$HOST_PID"
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
sleep 1   # the worker is waiting for host1's greeting
attach "$ADMIN_TOKEN" "$S2" "$V2"
expect_status 200
kill -CONT "$HOST_PID"
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "the swap on host1: $(cat "$T/last.body")"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "host1's server is on $(attached_volume "$SID")"
echo ok
