# shellcheck shell=bash
# Hosts as network namespaces, for tests of volswap across machines
# (sourced, not run: not executable, so tests/run leaves it alone).
#
#   . "$VOLSWAP_SRC/tests/integration/netns.sh"
#   ns_enter "$@"                  # first: the rest of the test runs in its own namespace
#   ns_host storage1 10.77.0.11    # a host: namespace, veth to the test's bridge, address
#   ns_spawn storage1 volswapd ...   # a daemon on that host, its pid in NS_PID
#   ns_exec storage1 ss -ltn         # a command on that host
#
# Layout. ns_enter creates the test's own namespace (loopback up, a bridge
# br0 with 10.77.0.1/24) and runs the test again inside it, so the test's
# own commands (curl to the API, a consumer) are on that subnet and nothing
# touches the namespace the test was started from. Each ns_host adds a
# namespace joined to br0 by a veth pair (eth0 on the host's side), with
# its address in 10.77.0.0/24 and loopback up. Every namespace belongs to
# this test alone, so the subnet and the ports are private to it: two
# tests may both use 10.77.0.11:4444.
#
# Cleanup. The outer process (the one tests/run started) waits for the
# inner run, then kills whatever still runs in each of the test's
# namespaces and deletes them (the veth pairs and the bridge go with
# them), on success, failure, timeout (SIGTERM) or interrupt. Names carry
# the outer pid, so leftovers of a killed run are recognisable
# (vs<pid>-<host>).
#
# Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN), iproute2 and nsenter; a test that
# cannot create a namespace is skipped (77) saying why.
#
# Functions:
#   ns_enter "$@"          create the test namespace and re-run the test in it;
#                          returns inside, never returns outside (exits with
#                          the inner run's status)
#   ns_host NAME ADDR      create host NAME with address ADDR (10.77.0.2..254)
#   ns_exec NAME CMD..     run CMD in host NAME and wait for it
#   ns_spawn NAME CMD..    start CMD in host NAME in the background; NS_PID is
#                          CMD's own pid (ip netns exec execs it, no fork)
#   ns_link NAME up|down   set NAME's link up or down (a cut cable)
#   ns_wait_port NAME ADDR PORT   wait (bounded) until something listens there
# Variables: NS_PREFIX (vs<pid>), NS_SUBNET (10.77.0), NS_SELF (10.77.0.1).

NS_SUBNET=10.77.0
NS_SELF=$NS_SUBNET.1

ns__skip() { echo "SKIP: $*"; exit 77; }

ns__cleanup() {
  local rc=$? ns pid n
  trap - EXIT INT TERM
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NS_PREFIX-" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
    n=0
    while [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  exit $rc
}

ns_enter() {
  if [ -n "${NS_INNER:-}" ]; then
    NS_PREFIX=$NS_INNER
    return 0
  fi
  [ "$(id -u)" = 0 ] || ns__skip "network namespaces need root"
  command -v ip >/dev/null || ns__skip "iproute2 (ip) not installed"
  command -v nsenter >/dev/null || ns__skip "nsenter (util-linux) not installed"
  NS_PREFIX=vs$$
  local err
  if ! err=$(ip netns add "$NS_PREFIX-test" 2>&1); then
    ns__skip "cannot create a network namespace: $err"
  fi
  trap ns__cleanup EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  local t="ip -n $NS_PREFIX-test"
  $t link set lo up
  $t link add br0 type bridge
  $t addr add "$NS_SELF/24" dev br0
  $t link set br0 up
  local rc=0
  # nsenter, not ip netns exec: only the network namespace changes, so the
  # namespaces the inner run adds are mounted where this process (and its
  # cleanup) sees them. In the background with `wait`, which a signal
  # interrupts (a foreground child would hold the trap until it ended).
  NS_INNER=$NS_PREFIX nsenter --net="/run/netns/$NS_PREFIX-test" "$0" "$@" &
  wait $! || rc=$?
  exit $rc
}

ns_host() {  # ns_host NAME ADDR
  local name=$1 addr=$2 ns=$NS_PREFIX-$1
  [ ${#name} -le 12 ] || { echo "FAIL: ns_host: name '$name' longer than 12" >&2; exit 1; }
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # Made in the test's namespace with the peer straight in the host's:
  # no interface ever appears in the namespace the test was started from.
  ip link add "v-$name" type veth peer name eth0 netns "$ns"
  ip link set "v-$name" master br0 up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
}

ns_exec() {  # ns_exec NAME CMD..
  local ns=$NS_PREFIX-$1
  shift
  ip netns exec "$ns" "$@"
}

ns_spawn() {  # ns_spawn NAME CMD..
  local ns=$NS_PREFIX-$1
  shift
  ip netns exec "$ns" "$@" &
  NS_PID=$!
}

ns_link() {  # ns_link NAME up|down
  ip link set "v-$1" "$2"
}

ns_wait_port() {  # ns_wait_port NAME ADDR PORT
  local _
  for _ in $(seq 300); do
    ip netns exec "$NS_PREFIX-$1" ss -Hltn "sport = :$3" | grep -q "$2:$3" && return 0
    sleep 0.1
  done
  echo "FAIL: nothing listens on $2:$3 in host $1" >&2
  exit 1
}
