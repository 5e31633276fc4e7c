# Shared setup for the volswap-api integration tests (sourced, not run).
# api_setup starts a host daemon (qemu-storage-daemon by default; set
# VOLSWAP_TEST_HOST_DAEMON=volswapd to use ours once its QMP monitor lands),
# writes a config with two projects and users of each role, starts
# volswap-api on a kernel-chosen port, and registers cleanup in a trap.
# Helpers: api_token USER [PROJECT], api (curl wrapper), api_restart.
set -euo pipefail

# A test that mounts a filesystem of its own (registry_on_small_fs) sets
# NEED_MOUNT_NS=1 before sourcing this file: it then runs again in a private
# mount namespace, so that its mounts vanish with it.
if [ -n "${NEED_MOUNT_NS:-}" ] && [ -z "${VOLSWAP_TEST_IN_MOUNT_NS:-}" ]; then
  unshare --mount --propagation private true 2>/dev/null \
    || { echo "cannot make a mount namespace (unshare --mount)"; exit 77; }
  VOLSWAP_TEST_IN_MOUNT_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi

: "${VOLSWAP_BUILD:?VOLSWAP_BUILD not set}"
API_BIN=$VOLSWAP_BUILD/src/api/volswap-api
CLI_BIN=$VOLSWAP_BUILD/src/cli/volswap
# VOLSWAP_TEST_TMPDIR: where the daemons' sockets and the volumes go
# (bench/swap --dir), /tmp by default.
T=$(mktemp -d "${VOLSWAP_TEST_TMPDIR:-/tmp}/volswap-api-test.XXXXXX")
API_PID=
HOST_PID=
ADMIN_TOKEN=admin-token-$RANDOM$RANDOM

# Sanitizer reports in volswap-api's log fail the test (the suite also runs
# against build-asan).
sanitizer_check() {
  if [ -f "$T/api.log" ] && grep -qE 'Sanitizer|runtime error:' "$T/api.log"; then
    echo "FAIL: sanitizer report in volswap-api log:" >&2
    grep -A30 -E 'Sanitizer|runtime error:' "$T/api.log" | head -60 >&2
    return 1
  fi
}

cleanup() {
  local rc=$? bad=0
  if [ -n "${PYCLIENTS_PID:-}" ]; then kill "$PYCLIENTS_PID" 2>/dev/null; wait "$PYCLIENTS_PID" 2>/dev/null || true; fi
  if [ -n "$API_PID" ]; then kill "$API_PID" 2>/dev/null; wait "$API_PID" 2>/dev/null; fi
  if [ -n "$HOST_PID" ]; then kill "$HOST_PID" 2>/dev/null; wait "$HOST_PID" 2>/dev/null; fi
  sanitizer_check || bad=1
  # a PostgreSQL test's own database goes with it (others may still use
  # the server; FORCE ends connections a killed node left behind)
  if [ -n "${REG_DBNAME:-}" ]; then
    psql -q -X "$VOLSWAP_TEST_PG" -c "DROP DATABASE IF EXISTS $REG_DBNAME WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$T"
  if [ $rc -eq 0 ] && [ $bad -ne 0 ]; then exit 1; fi
  exit $rc
}
trap cleanup EXIT

skip() { echo "$1"; exit 77; }

# The registry: an SQLite file in $T, or, under tests/with-postgres
# (VOLSWAP_TEST_DB=postgresql), a PostgreSQL database of this test's own on
# that server. REGISTRY is what the config's "database" says; reg_sql runs
# one SQL statement on it and prints the rows as sqlite3 does (fields
# separated by |), for the tests that look at the records themselves.
REGISTRY=$T/registry.db
if [ "${VOLSWAP_TEST_DB:-sqlite}" = postgresql ]; then
  [ -n "${VOLSWAP_TEST_PG:-}" ] || skip "VOLSWAP_TEST_DB=postgresql needs tests/with-postgres"
  REG_DBNAME=vs_$(basename "$T" | tr -dc 'a-zA-Z0-9' | tr 'A-Z' 'a-z')_$$
  psql -q -X "$VOLSWAP_TEST_PG" -c "CREATE DATABASE $REG_DBNAME" >/dev/null ||
    { echo "FAIL: cannot create the test database $REG_DBNAME" >&2; exit 1; }
  REGISTRY="$VOLSWAP_TEST_PG dbname=$REG_DBNAME"
fi
reg_sql() {
  if [ "${VOLSWAP_TEST_DB:-sqlite}" = postgresql ]; then
    psql -X -q -At -v ON_ERROR_STOP=1 "$REGISTRY" -c "$1"
  else
    sqlite3 -cmd '.timeout 5000' "$T/registry.db" "$1"
  fi
}
fail() { echo "FAIL: $*" >&2; exit 1; }

# wait_started PID CMD..: waits until CMD succeeds (a daemon's sockets or
# port file are there); false at once if PID exits first. The bound,
# VS_START_TIMEOUT seconds (60), is a fail-safe for a daemon that hangs,
# not a timing check: a loaded machine may take many seconds to start one.
wait_started() {
  local pid=$1 limit=$((SECONDS + ${VS_START_TIMEOUT:-60})); shift
  until "$@"; do
    kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$limit" ] || return 1
    sleep 0.05
  done
}
host_ready() {
  [ -S "$T/qmp.sock" ] && [ -S "$T/nbd.sock" ] &&
    { [ -z "${QMP_PORT:-}" ] || ss -Hltn "sport = :$QMP_PORT" | grep -q .; }
}

# Starts the host's daemon with a QMP monitor and an NBD server.
host_start() {
  mkdir -p "$T/pool" "$T/pool2"
  # VOLSWAP_TEST_TLS=1: the host's NBD server requires TLS (x509 made in
  # $T/pki, server credentials id tls0), and the config says so.
  local tls_obj=() qemu_tls=() tls_opt= qmp_tcp=()
  # VOLSWAP_TEST_QMP_TLS=1: a second monitor on 127.0.0.1:$QMP_PORT that
  # requires TLS and a client certificate whose DN is the test client's
  # (x509 in $T/pki), and the config's qmp is that monitor, reached with
  # the API's own client certificate. $T/qmp.sock stays for the tests'
  # own looks at the host.
  if [ -n "${VOLSWAP_TEST_QMP_TLS:-}" ]; then
    [ -d "$T/pki" ] || bash "$(dirname "${BASH_SOURCE[0]}")/../gen-tls-certs.sh" "$T/pki" >/dev/null
    QMP_PORT=$(/usr/bin/python3 -c '
import random, socket
r = random.SystemRandom()
for _ in range(200):
    p = r.randrange(20000, 32768)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()')
    qmp_tcp=(--object "tls-creds-x509,id=qtls,dir=$T/pki,endpoint=server"
             --object "authz-simple,id=qaz,identity=O=Test Org,,CN=client"
             --chardev "socket,id=m1,host=127.0.0.1,port=$QMP_PORT,server=on,wait=off,tls-creds=qtls,tls-authz=qaz"
             --monitor chardev=m1)
  fi
  if [ -n "${VOLSWAP_TEST_TLS:-}" ]; then
    [ -d "$T/pki" ] || bash "$(dirname "${BASH_SOURCE[0]}")/../gen-tls-certs.sh" "$T/pki" >/dev/null
    # verify-peer off: consumers such as fio cannot present a certificate;
    # VOLSWAP_TEST_TLS_VERIFY=1 keeps it on (clients need the test CA's
    # client certificate)
    local peer=,verify-peer=off
    [ -n "${VOLSWAP_TEST_TLS_VERIFY:-}" ] && peer=
    tls_obj=(--object "tls-creds-x509,id=tls0,dir=$T/pki,endpoint=server$peer")
    tls_opt=,tls-creds=tls0
    qemu_tls=(-object "${tls_obj[1]}")
  fi
  # HOST_MONITORS=N: N more monitors, $T/qmp-1.sock .. $T/qmp-N.sock (one
  # per API node, for the daemons whose monitor serves one client)
  local i
  for i in $(seq "${HOST_MONITORS:-0}"); do
    qmp_tcp+=(--chardev "socket,path=$T/qmp-$i.sock,server=on,wait=off,id=mon$i" --monitor "chardev=mon$i")
  done
  case "${VOLSWAP_TEST_HOST_DAEMON:-qsd}" in
    qemu)
      # a real QEMU, paused, with no guest: it owns the disks; its NBD
      # server is started by the driver (nbd.start_server in the config)
      command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
      qemu-system-x86_64 -S -accel tcg -machine none -nodefaults -display none \
        "${qemu_tls[@]}" \
        -qmp unix:"$T/qmp.sock",server=on,wait=off >"$T/host.log" 2>&1 &
      HOST_PID=$!
      wait_started "$HOST_PID" test -S "$T/qmp.sock" && return 0
      cat "$T/host.log" >&2; fail "qemu did not start" ;;
    qsd)
      command -v qemu-storage-daemon >/dev/null || skip "qemu-storage-daemon not installed"
      ${VOLSWAP_TEST_HOST_SETSID:+setsid} qemu-storage-daemon "${tls_obj[@]}" --chardev socket,path="$T/qmp.sock",server=on,wait=off,id=m0 \
        --monitor chardev=m0 "${qmp_tcp[@]}" --nbd-server addr.type=unix,addr.path="$T/nbd.sock$tls_opt" \
        >"$T/host.log" 2>&1 &
      HOST_PID=$! ;;
    volswapd)
      # volswapd takes qemu-storage-daemon's options. VOLSWAP_TEST_HOST_SETSID=1
      # runs it in a session of its own, as a host runs it apart from the
      # control plane (bench/swap: the scheduler then shares the CPUs between
      # it, volswap-api and the consumer, not among one group's threads).
      ${VOLSWAP_TEST_HOST_SETSID:+setsid} "$VOLSWAP_BUILD/src/daemon/volswapd" "${tls_obj[@]}" \
        --chardev socket,path="$T/qmp.sock",server=on,wait=off,id=m0 --monitor chardev=m0 \
        "${qmp_tcp[@]}" --nbd-server addr.type=unix,addr.path="$T/nbd.sock$tls_opt" \
        ${VOLSWAPD_STATE:+--state "$VOLSWAPD_STATE"} >"$T/host.log" 2>&1 &
      HOST_PID=$! ;;
  esac
  wait_started "$HOST_PID" host_ready && return 0
  cat "$T/host.log" >&2; fail "host daemon did not start"
}

hash_pw() { echo "$1" | "$API_BIN" --hash-password; }

# Two pools (the second is os-migrate_volume's target), an optional block
# device pool (VOLSWAP_TEST_BLOCK_DEVICE), and users for every role the
# policies know: admin, member, reader, and "service" (Nova's swap rule).
write_config() {
  local ttl=${1:-3600} start_nbd=
  # a real QEMU has no NBD server until volswap-api starts one
  [ -n "${VOLSWAP_TEST_NBD_START:-}" ] && start_nbd=', "start_server": true'
  [ -n "${VOLSWAP_TEST_TLS:-}" ] && start_nbd="$start_nbd"', "tls_creds": "tls0"'
  local block_pool= qmp="\"qmp\": \"$T/qmp.sock\""
  [ -n "${VOLSWAP_TEST_QMP_TLS:-}" ] && \
    qmp="\"qmp\": \"tcp:127.0.0.1:$QMP_PORT\", \"tls\": {\"dir\": \"$T/pki\"}"
  [ -n "${VOLSWAP_TEST_BLOCK_DEVICE:-}" ] && \
    block_pool=", {\"name\": \"blockpool\", \"type\": \"block\", \"devices\": [\"$VOLSWAP_TEST_BLOCK_DEVICE\"]}"
  cat >"$T/api.json" <<JSON
{
  "listen": {"address": "127.0.0.1", "port": 0},
  "database": "$REGISTRY",
  "token_ttl": $ttl,
  "admin_tokens": ["$ADMIN_TOKEN"],
  "admin_project": "demo",
  "images": {"dir": "$T/images", "quota_bytes": ${VOLSWAP_TEST_IMAGE_QUOTA:-0}},
  "projects": [{"name": "demo"}, {"name": "other"}],
  "users": [
    {"name": "admin", "password_hash": "$(hash_pw adminpw)", "roles": {"demo": ["admin"]}},
    {"name": "alice", "password_hash": "$(hash_pw alicepw)", "roles": {"demo": ["member"]}},
    {"name": "reader", "password_hash": "$(hash_pw readerpw)", "roles": {"demo": ["reader"]}},
    {"name": "nova", "password_hash": "$(hash_pw novapw)", "roles": {"demo": ["service", "member"]}},
    {"name": "bob", "password_hash": "$(hash_pw bobpw)", "roles": {"other": ["member"]}}
  ],
  "hosts": [{"name": "host1", "driver": "${VOLSWAP_TEST_DRIVER:-volswapd}",
             $qmp, "nbd": {"type": "unix", "path": "$T/nbd.sock"$start_nbd},
             "pools": [{"name": "pool1", "type": "dir", "path": "$T/pool"},
                       {"name": "pool2", "type": "dir", "path": "$T/pool2"}$block_pool]}]
}
JSON
}

# Moves the registry of the config write_config made onto a 4 MiB tmpfs at
# $T/regfs (call before api_start); fill_registry_fs leaves it no room,
# unfill_registry_fs gives the room back. Needs NEED_MOUNT_NS=1.
registry_on_small_fs() {
  [ "${VOLSWAP_TEST_DB:-sqlite}" = sqlite ] || skip "a full disk under SQLite's file only"
  mkdir -p "$T/regfs"
  mount -t tmpfs -o size=4m tmpfs "$T/regfs" 2>/dev/null || skip "cannot mount a tmpfs"
  trap 'rc=$?; umount -l "$T/regfs" 2>/dev/null; (exit $rc); cleanup' EXIT
  sed -i "s|\"database\": \"$T/registry.db\"|\"database\": \"$T/regfs/registry.db\"|" "$T/api.json"
}
fill_registry_fs() { dd if=/dev/zero of="$T/regfs/fill" bs=64k 2>/dev/null || true; }
unfill_registry_fs() { rm -f "$T/regfs/fill"; }

api_start() {
  rm -f "$T/port"
  # API_ARGS: more options (an array), e.g. (--log-format json)
  "$API_BIN" --config "$T/api.json" --port-file "$T/port" --verbose ${API_ARGS[@]+"${API_ARGS[@]}"} \
    >>"$T/api.log" 2>&1 &
  API_PID=$!
  wait_started "$API_PID" test -s "$T/port" || { cat "$T/api.log" >&2; fail "volswap-api did not start"; }
  PORT=$(cat "$T/port")
  URL=http://127.0.0.1:$PORT
  export OS_AUTH_URL=$URL/v3
}

api_stop() {
  kill "$API_PID"; wait "$API_PID" 2>/dev/null || true; API_PID=
  sanitizer_check || exit 1
}

api_restart() { api_stop; api_start; }

api_setup() {
  host_start
  write_config "${1:-3600}"
  api_start
}

# Prints a token for USER (password USERpw) scoped to PROJECT (default demo).
api_token() {
  local user=$1 project=${2:-demo}
  curl -sS -D "$T/hdr" -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$user\",\"domain\":{\"id\":\"default\"},\"password\":\"${user}pw\"}}},\"scope\":{\"project\":{\"name\":\"$project\",\"domain\":{\"id\":\"default\"}}}}}" \
    "$URL/v3/auth/tokens"
  tr -d '\r' <"$T/hdr" | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p'
}

# Project id of NAME, read from a token body.
project_id() {
  local user=${2:-admin}
  curl -sS -H 'Content-Type: application/json' \
    -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$user\",\"domain\":{\"id\":\"default\"},\"password\":\"${user}pw\"}}},\"scope\":{\"project\":{\"name\":\"$1\",\"domain\":{\"id\":\"default\"}}}}}" \
    "$URL/v3/auth/tokens" | jq -r .token.project.id
}

# api TOKEN METHOD PATH [BODY] [extra curl args...]: prints the body, sets
# STATUS. Headers land in $T/last.hdr.
api() {
  local tok=$1 method=$2 path=$3 body=${4:-}
  shift 3; [ $# -gt 0 ] && shift
  local args=(-sS -X "$method" -D "$T/last.hdr" -o "$T/last.body" -w '%{http_code}'
              -H "X-Auth-Token: $tok")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  STATUS=$(curl "${args[@]}" "$@" "$URL$path")
  cat "$T/last.body"
}

expect_status() {
  [ "$STATUS" = "$1" ] || fail "expected HTTP $1, got $STATUS: $(cat "$T/last.body")"
}

# expect_fault STATUS NAME [MESSAGE-SUBSTRING]: the last reply is a Nova fault.
expect_fault() {
  expect_status "$1"
  local code msg
  code=$(jq -r ".\"$2\".code" "$T/last.body")
  [ "$code" = "$1" ] || fail "expected fault $2/$1, got $(cat "$T/last.body")"
  if [ $# -ge 3 ]; then
    msg=$(jq -r ".\"$2\".message" "$T/last.body")
    case "$msg" in *"$3"*) ;; *) fail "fault message '$msg' lacks '$3'";; esac
  fi
}

# Cinder's attach_status of volume ID, which no view shows: read from the
# registry (reads do not disturb volswap-api).
attach_status() {
  reg_sql "SELECT attach_status FROM volumes WHERE id='$1'"
}

header() { tr -d '\r' <"$T/last.hdr" | grep -i "^$1:" | head -n1 | cut -d' ' -f2-; }

# Creates a volume (SIZE GiB, default 1) and a server as TOKEN; sets VID, SID.
make_volume_and_server() {
  local tok=$1 size=${2:-1}
  PID_DEMO=${PID_DEMO:-$(project_id demo)}
  api "$tok" POST "/v3/$PID_DEMO/volumes" "{\"volume\":{\"size\":$size}}" >/dev/null
  expect_status 202
  VID=$(jq -r .volume.id "$T/last.body")
  api "$tok" POST /v2.1/servers '{"server":{"name":"srv"}}' >/dev/null
  expect_status 202
  SID=$(jq -r .server.id "$T/last.body")
}

attach() {  # attach TOKEN SERVER VOLUME -> sets STATUS
  api "$1" POST "/v2.1/servers/$2/os-volume_attachments" "{\"volumeAttachment\":{\"volumeId\":\"$3\"}}" >/dev/null
}

# The NBD URI of the attachment of VOLUME on SERVER, from its connection_info.
export_uri() {
  local tok=$1 sid=$2 vid=$3 aid
  aid=$(api "$tok" GET "/v2.1/servers/$sid/os-volume_attachments/$vid" "" -H 'OpenStack-API-Version: compute 2.89' | jq -r .volumeAttachment.attachment_id)
  api "$tok" GET "/v3/${PID_DEMO:-$(project_id demo)}/attachments/$aid" "" -H 'OpenStack-API-Version: volume 3.27' | jq -r .attachment.connection_info.data.uri
}

# Runs Debian's python3-novaclient (the `nova` command) against volswap-api.
nova() {
  /usr/bin/python3 -m novaclient.shell "$@" 2>"$T/nova.err"
}
need_novaclient() {
  /usr/bin/python3 -c 'import novaclient' 2>/dev/null || skip "python3-novaclient not installed"
}

# The openstack, cinder and nova commands for a test that runs many: one
# co-process (pyclients.py) imports the clients once and forks a child per
# command, so each still runs as from the shell (its own process, this
# shell's environment at the call) without each paying the clients'
# start-up. pyclient PROG ARGS.. prints the command's stdout and writes its
# stderr to $T/PROG.err; it returns the command's exit status.
PYCLIENTS_PID=
pyclients_start() {
  coproc PYCLIENTS { exec /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/pyclients.py" 2>"$T/pyclients.err"; }
  PYCLIENTS_SEQ=0
}
pyclient() {
  local prog=$1 req rc; shift
  [ -n "$PYCLIENTS_PID" ] || pyclients_start
  PYCLIENTS_SEQ=$((PYCLIENTS_SEQ + 1)); req=$T/pyclient.$PYCLIENTS_SEQ
  printf '%s\0' "$prog" "$req.out" "$T/$prog.err" "$@" >"$req.args"
  env -0 >"$req.env"
  echo "$req" >&"${PYCLIENTS[1]}"
  read -r rc <&"${PYCLIENTS[0]}" || fail "pyclients.py is gone: $(cat "$T/pyclients.err")"
  cat "$req.out"
  rm -f "$req.args" "$req.env" "$req.out"
  return "$rc"
}
password_env() {  # password_env USER PROJECT
  export OS_USERNAME=$1 OS_PASSWORD=${1}pw OS_PROJECT_NAME=${2:-demo} \
         OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_AUTH_URL=$URL/v3
  unset OS_AUTH_TYPE OS_TOKEN OS_ENDPOINT
}

# block_pool_setup: a 1 GiB loop device as the API's block pool
# (volume_type "blockpool"), the API started on it, and a first volume of
# the demo project claimed on it: $LOOP, $PID_DEMO and its id $A. Skips
# without root or loop devices; the exit trap makes the device writable
# again and detaches it.
block_pool_setup() {
  [ "$(id -u)" = 0 ] || skip "loop devices need root"
  command -v losetup >/dev/null || skip "losetup not installed"
  truncate -s 1G "$T/dev.img"
  LOOP=$(losetup -f --show "$T/dev.img" 2>/dev/null) || skip "losetup cannot attach a loop device here"
  trap 'rc=$?; blockdev --setrw "$LOOP" 2>/dev/null; losetup -d "$LOOP" 2>/dev/null; (exit $rc); cleanup' EXIT
  export VOLSWAP_TEST_BLOCK_DEVICE=$LOOP
  api_setup
  PID_DEMO=$(project_id demo)
  api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"volume_type":"blockpool"}}' >/dev/null
  expect_status 202
  A=$(jq -r .volume.id "$T/last.body")
}
