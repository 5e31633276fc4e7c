# Shared setup for the tests of several volswap-api nodes on one PostgreSQL
# (sourced). The test runs under a PostgreSQL of its own (tests/with-postgres,
# started here when the test was not already run under one that it may
# restart); cluster_setup N starts a volswapd host (its monitor takes several
# clients) and N volswap-api nodes named node1..nodeN on that database, each
# on its own port, with leases of CLUSTER_LEASE seconds (default 4). Builds
# on the swap tests' helpers (tests/integration/swap/lib.sh): `api` and the
# helpers that use it talk to the node `on N` chose (node 1 at first).
# node_kill N (SIGKILL), node_start N. Node N's log is $T/api-N.log; its
# database connection string is NODE_DB[N] (a test may route it through a
# proxy before starting the node). CLUSTER_JQ, a jq filter, adds to every
# node's configuration.
if [ -z "${VOLSWAP_CLUSTER_PG:-}" ]; then
  VOLSWAP_CLUSTER_PG=1 exec "$VOLSWAP_SRC/tests/with-postgres" "$0" "$@"
fi
VOLSWAP_TEST_HOST_DAEMON=${VOLSWAP_TEST_HOST_DAEMON:-volswapd}
# shellcheck source=../swap/lib.sh
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"

CLUSTER_LEASE=${CLUSTER_LEASE:-4}
declare -a NODE_PID NODE_URL NODE_DB

cluster_cleanup() {
  local rc=$? bad=0 i
  for i in "${!NODE_PID[@]}"; do
    [ -n "${NODE_PID[$i]}" ] && kill "${NODE_PID[$i]}" 2>/dev/null
  done
  for i in "${!NODE_PID[@]}"; do
    [ -n "${NODE_PID[$i]}" ] && wait "${NODE_PID[$i]}" 2>/dev/null
  done
  [ -n "${PROXY_PID:-}" ] && kill -9 "$PROXY_PID" 2>/dev/null
  for f in "$T"/api-*.log; do
    [ -f "$f" ] || continue
    if grep -qE 'Sanitizer|runtime error:' "$f"; then
      echo "FAIL: sanitizer report in $f:" >&2
      grep -A30 -E 'Sanitizer|runtime error:' "$f" | head -60 >&2
      bad=1
    fi
  done
  [ $rc -eq 0 ] && [ $bad -ne 0 ] && rc=1
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    for f in "$T"/api-*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 25 "$f" >&2; }; done
  fi
  (exit $rc); cleanup
}
trap cluster_cleanup EXIT

# on N: the node the next `api` calls go to.
on() { URL=${NODE_URL[$1]}; export OS_AUTH_URL=$URL/v3; }

node_start() {
  local i=$1
  jq --arg node "node$i" --arg db "${NODE_DB[$i]}" --argjson lease "$CLUSTER_LEASE" \
    ".node = \$node | .database = \$db | .swap_lease_seconds = \$lease ${CLUSTER_JQ:+| $CLUSTER_JQ}" \
    "$T/api.json" >"$T/api-$i.json"
  chmod 600 "$T/api-$i.json"
  rm -f "$T/port-$i"
  "$API_BIN" --config "$T/api-$i.json" --port-file "$T/port-$i" --verbose >>"$T/api-$i.log" 2>&1 &
  NODE_PID[$i]=$!
  for _ in $(seq 300); do [ -s "$T/port-$i" ] && break; sleep 0.05; done
  [ -s "$T/port-$i" ] || { cat "$T/api-$i.log" >&2; fail "volswap-api node $i did not start"; }
  NODE_URL[$i]=http://127.0.0.1:$(cat "$T/port-$i")
}

node_kill() {
  kill -9 "${NODE_PID[$1]}" 2>/dev/null; wait "${NODE_PID[$1]}" 2>/dev/null || true; NODE_PID[$1]=
}

cluster_setup() {
  local n=$1 i
  host_start
  write_config
  for i in $(seq "$n"); do NODE_DB[$i]=$REGISTRY; done
  # the first node migrates the schema alone; the others start together
  node_start 1
  for i in $(seq 2 "$n"); do node_start "$i"; done
  on 1
  PID_DEMO=$(project_id demo)
}

# The start of the tests that break something while a swap copies:
# cluster_setup NODES with the swap speed at slow_speed, attached_pair 1
# MIB (OLD holding MIB MiB of 0x5a, attached to SID at URI; NEW), the swap
# OLD -> NEW accepted by node 1 (REQ, its request id, is the swap's id),
# and waits until it is mirroring.
cluster_swap_mirroring() {  # cluster_swap_mirroring NODES MIB
  export VOLSWAP_SWAP_SPEED
  VOLSWAP_SWAP_SPEED=$(slow_speed)
  cluster_setup "$1"
  attached_pair 1 "$2"
  swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
  expect_status 202
  REQ=$(header x-openstack-request-id)
  wait_phase "$SID" "$OLD" mirroring
}

# The phase of swap ID in the registry, which every node shares.
swap_phase_of() { reg_sql "SELECT phase FROM swaps WHERE id='$1'"; }
# Waits (up to 60 s) until swap ID is finished in the registry; prints its
# last phase.
wait_settled() {
  local ph
  for _ in $(seq 600); do
    ph=$(swap_phase_of "$1")
    case "$ph" in done|rolled-back) echo "$ph"; return 0 ;; esac
    sleep 0.1
  done
  fail "swap $1 still unfinished ($ph)"
}
# The request id of the newest swap of SERVER.
latest_swap() { reg_sql "SELECT id FROM swaps WHERE server_id='$1' ORDER BY seq DESC LIMIT 1"; }

# Stops this test's PostgreSQL (fast: every connection cut), waits SECONDS,
# and starts it again with the same options.
pg_bounce() {
  local as=()
  [ "$(id -u)" -eq 0 ] && as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
  "${as[@]}" "$VOLSWAP_TEST_PG_BIN/pg_ctl" -D "$VOLSWAP_TEST_PG_DIR/data" -m fast -w -s stop \
    || fail "cannot stop PostgreSQL"
  sleep "$1"
  (cd "$VOLSWAP_TEST_PG_DIR" && "${as[@]}" "$VOLSWAP_TEST_PG_BIN/pg_ctl" -D "$VOLSWAP_TEST_PG_DIR/data" \
    -l "$VOLSWAP_TEST_PG_DIR/server.log" -w -s start -o "$(sed -n 's/^[^ ]* //p' "$VOLSWAP_TEST_PG_DIR/data/postmaster.opts" 2>/dev/null)") \
    || fail "cannot start PostgreSQL again"
}
