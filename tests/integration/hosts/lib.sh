# shellcheck shell=bash
# Shared setup for the tests across hosts (sourced, not run). Each host is a
# network namespace (tests/integration/netns.sh) on the test's own subnet
# 10.77.0.0/24; volswap-api, curl and the consumers run in the test's own
# namespace (10.77.0.1), and reach the hosts only over that subnet. Builds
# on the swap tests' helpers (tests/integration/swap/lib.sh): tokens, the
# `api` wrapper, attached_pair, fio_start/fio_wait/fio_verify_file, ...
#
#   . "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"   # enters the test namespace
#   hosts_certs                          # one CA; server certificates name every host address
#   host_volswapd compute1 10.77.0.11    # the host and its volswapd: QMP+TLS on ADDR:4444
#                                        # (client certificate, authz by DN), NBD on ADDR:10809,
#                                        # and a unix monitor $T/compute1-qmp.sock for the test;
#                                        # HOST_NBD_TLS=1: its NBD server requires TLS too;
#                                        # client credentials ctls for other hosts' exports
#   host_qmp compute1 CMD [JSON]         # a command on that unix monitor (volswap qmp)
#   hosts_api_setup compute1             # config naming that host at tcp:ADDR:4444 with the
#                                        # API's client certificate, then volswap-api
#   hosts_api_cluster compute1 storage1 ..  # config naming every host so (the first is where
#                                        # servers go by default), each with a pool NAME-pool
#                                        # in $T/NAME-pool, then volswap-api
#   cluster_volume NAME SIZE             # a volume in host NAME's pool -> prints its id
#   hosts_compute_and_two_storage [OPTS..]  # storage1 and storage2 (NBD with TLS), compute1 (OPTS)
#   hosts_cross_storage_pair             # the API over those three, OLD on storage1 attached to
#                                        # SID on compute1 (export URI), NEW on storage2
#   cluster_server NAME                  # a server on host NAME -> prints its id
#   host_leftovers NAME                  # the exports and nodes host NAME still has, one a line
#   host_kill9 NAME / host_restart NAME  # SIGKILL the host's volswapd / start it again as it
#                                        # was started (give it --state FILE to restart from it)
#   host_volswapd_own_pool NAME ADDR [OPTS..]  # host_volswapd whose pool directory
#                                        # $T/NAME-pool only it sees (a tmpfs over it in a mount
#                                        # namespace of its own, --pool-dir), as on another machine;
#                                        # hosts_api_cluster then has it manage that pool
#                                        # ("managed_by": "host")
#                                        # (HOST_POOL_DEVICES[NAME]="PATH..": a block pool of
#                                        # those paths instead, given as --pool-device)
#   host_pool_ls NAME                    # the files of that pool as the host sees them
#   host_proxy NAME                      # a TCP proxy on NAME at ADDR:10810 to its NBD server,
#                                        # the port the API's config names (call before
#                                        # hosts_api_cluster); host_proxy_kill NAME drops every
#                                        # connection through it, host_proxy NAME brings it back
#
# Every host daemon is stopped with SIGTERM at exit and must exit 0 (as in
# the other suites, that is how a sanitizer report fails the test); then
# the namespaces go (netns.sh).

. "$VOLSWAP_SRC/tests/integration/netns.sh"
ns_enter "$@"
# shellcheck source=../swap/lib.sh
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
[ -x "$VOLSWAP_BUILD/src/daemon/volswapd" ] || skip "volswapd not built"

HOSTS_QMP_PORT=4444
HOSTS_NBD_PORT=10809
declare -A HOST_ADDR=()
declare -A HOST_PIDS=()
declare -A HOST_NBD_TLS_OF=()
declare -A HOST_NBD_PORT_OF=()
declare -A PROXY_PIDS=()
declare -A HOST_CMD=()
HOST_ORDER=()

hosts_cleanup() {
  local rc=$? h p n st
  for p in "${PROXY_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  # the last started first: a compute host goes before the storage hosts
  # its nbd nodes read from
  local order=() i
  for ((i = ${#HOST_ORDER[@]} - 1; i >= 0; i--)); do order+=("${HOST_ORDER[$i]}"); done
  for h in "${order[@]}"; do
    [ -n "${HOST_PIDS[$h]:-}" ] || continue
    p=${HOST_PIDS[$h]}
    kill -TERM "$p" 2>/dev/null || true
    n=0
    while kill -0 "$p" 2>/dev/null && [ $n -lt 300 ]; do
      [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = Z ] && break
      sleep 0.1; n=$((n + 1))
    done
    kill -KILL "$p" 2>/dev/null || true
    st=0; wait "$p" 2>/dev/null || st=$?
    if [ $rc -eq 0 ] && [ $st -ne 0 ]; then
      echo "FAIL: host $h's volswapd exited with status $st on SIGTERM" >&2
      tail -n 30 "$T/$h.log" >&2
      rc=1
    fi
    [ $rc -eq 0 ] || [ ! -s "$T/$h.log" ] || { echo "--- $h"; tail -n 20 "$T/$h.log"; } >&2
  done
  HOST_PID=
  (exit $rc)
  cleanup
}
trap hosts_cleanup EXIT

# One CA for the run; server certificates name every address a host may
# have (10.77.0.2 to .30), client certificates are the API's and the
# consumers' (O=Test Org,CN=client).
hosts_certs() {
  local san="" i
  for i in $(seq 2 30); do san="$san${san:+,}IP:$NS_SUBNET.$i"; done
  bash "$VOLSWAP_SRC/tests/integration/gen-tls-certs.sh" "$T/pki" "$san" >/dev/null
}

host_volswapd() {  # host_volswapd NAME ADDR [VOLSWAPD OPTIONS..]
  local name=$1 addr=$2
  shift 2
  [ -f "$T/pki/ca-cert.pem" ] || hosts_certs
  ns_host "$name" "$addr"
  HOST_ADDR[$name]=$addr
  mkdir -p "$T/pool" "$T/pool2"
  # HOST_NBD_TLS=1: the NBD server requires TLS with client certificates
  # ctls: the host's client credentials, for opening other hosts' exports
  local nbd_tls=(--object "tls-creds-x509,id=ctls,dir=$T/pki,endpoint=client") nbd_opt=
  if [ -n "${HOST_NBD_TLS:-}" ]; then
    nbd_tls+=(--object "tls-creds-x509,id=ntls,dir=$T/pki,endpoint=server")
    nbd_opt=,tls-creds=ntls
    HOST_NBD_TLS_OF[$name]=ntls
  fi
  # HOST_OWN_DIR=DIR: the daemon runs in a mount namespace of its own with
  # a tmpfs over DIR, which it alone sees
  local wrap=()
  [ -z "${HOST_OWN_DIR:-}" ] ||
    wrap=(unshare -m --propagation private -- sh -c 'mount -t tmpfs -o size=64g tmpfs "$0" && exec "$@"' "$HOST_OWN_DIR")
  local cmd=("${wrap[@]}" "$VOLSWAP_BUILD/src/daemon/volswapd" "${nbd_tls[@]}"
    --object "tls-creds-x509,id=qtls,dir=$T/pki,endpoint=server"
    --object "authz-simple,id=qaz,identity=O=Test Org,,CN=client"
    --chardev "socket,id=m1,host=$addr,port=$HOSTS_QMP_PORT,server=on,wait=off,tls-creds=qtls,tls-authz=qaz"
    --monitor chardev=m1
    --chardev "socket,path=$T/$name-qmp.sock,server=on,wait=off,id=m0" --monitor chardev=m0
    --nbd-server "addr.type=inet,addr.host=$addr,addr.port=$HOSTS_NBD_PORT$nbd_opt"
    --pidfile "$T/$name.pid" "$@")
  HOST_CMD[$name]=$(printf '%q ' "${cmd[@]}")
  HOST_ORDER+=("$name")
  host__spawn "$name"
}

host__spawn() {  # host__spawn NAME: starts HOST_CMD[NAME] and waits for its pid file
  local name=$1 _
  rm -f "$T/$name.pid"
  eval "ns_spawn \"\$name\" ${HOST_CMD[$name]}" >>"$T/$name.log" 2>&1
  HOST_PIDS[$name]=$NS_PID
  for _ in $(seq 300); do
    [ -s "$T/$name.pid" ] && return 0
    kill -0 "$NS_PID" 2>/dev/null || { cat "$T/$name.log" >&2; fail "volswapd on $name exited"; }
    sleep 0.1
  done
  fail "volswapd on $name did not start"
}

declare -A HOST_OWN_POOL=()
declare -A HOST_POOL_DEVICES=()
host_volswapd_own_pool() {  # host_volswapd_own_pool NAME ADDR [VOLSWAPD OPTIONS..]
  local name=$1 addr=$2
  shift 2
  mkdir -p "$T/$name-pool"
  HOST_OWN_POOL[$name]=1
  HOST_OWN_DIR=$T/$name-pool host_volswapd "$name" "$addr" --pool-dir "$T/$name-pool" "$@"
}
host_pool_ls() {  # host_pool_ls NAME: "FILE SIZE" lines, as the host sees its pool
  nsenter -t "${HOST_PIDS[$1]}" -m -- find "$T/$1-pool" -mindepth 1 -printf '%f %s\n' | sort
}

# The config of swap/lib.sh's tests, its host1 being NAME: reached at
# tcp:ADDR:4444 with the API's client certificate, its exports at
# ADDR:10809. The test's qmp_cmd looks at the host through its unix monitor.
hosts_api_setup() {  # hosts_api_setup NAME
  local addr=${HOST_ADDR[$1]}
  write_config
  jq --arg qmp "tcp:$addr:$HOSTS_QMP_PORT" --arg pki "$T/pki" --arg nbd "$addr" \
     --argjson port "$HOSTS_NBD_PORT" \
     '.hosts[0].qmp = $qmp | .hosts[0].tls = {dir: $pki}
      | .hosts[0].nbd = {type: "inet", host: $nbd, port: $port}' \
     "$T/api.json" >"$T/api.json.new"
  mv "$T/api.json.new" "$T/api.json"
  QMP_SOCK=$T/$1-qmp.sock
  HOST_PID=${HOST_PIDS[$1]}
  api_start
  need_swap_api
  PID_DEMO=$(project_id demo)
}

host_qmp() {  # host_qmp NAME COMMAND [JSON-ARGS]
  local name=$1
  shift
  "$CLI_BIN" --json qmp --socket "$T/$name-qmp.sock" "$@" || fail "$name: $* failed"
}

# A config naming every host given: volswapd at tcp:ADDR:4444 with the
# API's client certificate, exports at ADDR:10809 (tls_creds when the host
# was started with HOST_NBD_TLS=1), client credentials ctls for other
# hosts' exports, reconnect-delay HOSTS_RECONNECT_DELAY (2 s), and a pool
# NAME-pool in $T/NAME-pool. Servers go to the first host unless told.
hosts_api_cluster() {  # hosts_api_cluster NAME..
  local hosts='[]' h
  write_config
  for h in "$@"; do
    mkdir -p "$T/$h-pool"
    hosts=$(jq -n --argjson hs "$hosts" --arg name "$h" --arg addr "${HOST_ADDR[$h]}" \
      --argjson qport "$HOSTS_QMP_PORT" --argjson port "${HOST_NBD_PORT_OF[$h]:-$HOSTS_NBD_PORT}" --arg pki "$T/pki" \
      --arg pool "$T/$h-pool" --arg tls "${HOST_NBD_TLS_OF[$h]:-}" \
      --argjson delay "${HOSTS_RECONNECT_DELAY:-2}" --arg managed "${HOST_OWN_POOL[$h]:+host}" \
      --arg devices "${HOST_POOL_DEVICES[$h]:-}" \
      '$hs + [{name: $name, driver: "volswapd", qmp: "tcp:\($addr):\($qport)", tls: {dir: $pki},
               nbd: ({type: "inet", host: $addr, port: $port, client_tls_creds: "ctls",
                      reconnect_delay: $delay} + (if $tls != "" then {tls_creds: $tls} else {} end)),
               pools: [{name: "\($name)-pool"}
                       + (if $devices != "" then {type: "block", devices: ($devices | split(" "))}
                          else {type: "dir", path: $pool} end)
                       + (if $managed != "" then {managed_by: $managed} else {} end)]}]')
  done
  jq --argjson hs "$hosts" '.hosts = $hs' "$T/api.json" >"$T/api.json.new"
  mv "$T/api.json.new" "$T/api.json"
  QMP_SOCK=$T/$1-qmp.sock
  api_start
  need_swap_api
  PID_DEMO=$(project_id demo)
}

cluster_volume() {  # cluster_volume HOST SIZE_GB -> prints the id
  api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" "{\"volume\":{\"size\":$2,\"volume_type\":\"$1-pool\"}}" >/dev/null
  expect_status 202
  jq -r .volume.id "$T/last.body"
}
cluster_server() {  # cluster_server HOST -> prints the id
  api "$ADMIN_TOKEN" POST /v2.1/servers "{\"server\":{\"name\":\"srv\",\"availability_zone\":\"nova:$1\"}}" >/dev/null
  expect_status 202
  jq -r .server.id "$T/last.body"
}

# The hosts of the tests that move a volume between storage hosts: storage1
# (.21) and storage2 (.22), whose NBD servers require TLS, and compute1
# (.11), its volswapd given OPTIONS (e.g. --state FILE). A test that puts a
# proxy before a host's exports calls host_proxy after this.
hosts_compute_and_two_storage() {  # hosts_compute_and_two_storage [COMPUTE1 VOLSWAPD OPTIONS..]
  HOST_NBD_TLS=1 host_volswapd storage1 "$NS_SUBNET.21"
  HOST_NBD_TLS=1 host_volswapd storage2 "$NS_SUBNET.22"
  host_volswapd compute1 "$NS_SUBNET.11" "$@"
}

# After hosts_compute_and_two_storage: volswap-api over compute1, storage1
# and storage2, a server on compute1 with a 1 GiB volume of storage1's pool
# attached, and a 1 GiB volume in storage2's pool to swap to. Sets OLD NEW
# SID and URI (the consumer's export on compute1).
hosts_cross_storage_pair() {
  hosts_api_cluster compute1 storage1 storage2
  OLD=$(cluster_volume storage1 1)
  NEW=$(cluster_volume storage2 1)
  SID=$(cluster_server compute1)
  attach "$ADMIN_TOKEN" "$SID" "$OLD"; expect_status 200
  URI=$(export_uri "$ADMIN_TOKEN" "$SID" "$OLD")
}

# What host NAME still serves or holds open: "export ID" and "node NAME"
# lines (the TLS credentials objects are the host's own and not listed).
host_leftovers() {  # host_leftovers NAME
  host_qmp "$1" query-block-exports | jq -r '.[] | "export \(.id)"'
  host_qmp "$1" query-named-block-nodes | jq -r '.[] | "node \(.["node-name"])"'
}
expect_clean() {  # expect_clean NAME [EXPECTED-LINES]
  local got
  got=$(host_leftovers "$1" | sort)
  [ "$got" = "${2:-}" ] || fail "host $1 holds: $(echo "$got" | tr '\n' ' ') (expected: ${2:-nothing})"
}

HOSTS_PROXY_PORT=10810
host_proxy() {  # host_proxy NAME
  local addr=${HOST_ADDR[$1]}
  ns_spawn "$1" /usr/bin/python3 "$VOLSWAP_SRC/tests/integration/hosts/tcp-proxy.py" \
    "$addr" "$HOSTS_PROXY_PORT" "$addr" "$HOSTS_NBD_PORT"
  PROXY_PIDS[$1]=$NS_PID
  HOST_NBD_PORT_OF[$1]=$HOSTS_PROXY_PORT
  ns_wait_port "$1" "$addr" "$HOSTS_PROXY_PORT"
}
host_proxy_kill() {  # host_proxy_kill NAME
  kill -KILL "${PROXY_PIDS[$1]}" 2>/dev/null || true
  wait "${PROXY_PIDS[$1]}" 2>/dev/null || true
  unset "PROXY_PIDS[$1]"
}

# SIGKILLs host NAME's volswapd (host_restart NAME starts it again with the
# same options: with --state FILE it comes back from its state file).
host_kill9() {  # host_kill9 NAME
  local p=${HOST_PIDS[$1]}
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  unset "HOST_PIDS[$1]"
}
host_restart() {  # host_restart NAME
  host__spawn "$1"
  ns_wait_port "$1" "${HOST_ADDR[$1]}" "$HOSTS_QMP_PORT"
}
