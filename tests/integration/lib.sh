# shellcheck shell=bash
# Shared helpers for shell integration tests. Source it, do not run it (it is
# deliberately not executable, so tests/run does not mistake it for a test):
#
#   . "$(dirname "$0")/../lib.sh"
#   vs_init                                  # temp dir $VS_TMP + cleanup trap
#   vs_sparse_file "$VS_TMP/disk.img" 64M
#   vs_start --blockdev file,node-name=vol0,filename="$VS_TMP/disk.img" \
#            --export nbd,node=vol0,name=vol0,writable=on
#   nbdinfo "$(vs_uri vol0)"
#
# Which server runs: volswapd from $VOLSWAP_BUILD/src/daemon/volswapd, or,
# with VOLSWAP_TEST_IMPL=qsd, qemu-storage-daemon given the equivalent
# options, so a scenario can be checked against the real peer. Options are
# written in volswapd's short form ("file,node-name=..", "nbd,node=..") and
# translated for qsd; options already in qsd form pass through unchanged.
#
# Functions (all fail the test with a clear message on error):
#   vs_init                 make $VS_TMP (mktemp -d), install the EXIT trap
#                           that stops every daemon still running (SIGTERM;
#                           a non-zero exit then fails the test, which is
#                           how sanitizer reports at exit are caught) and
#                           removes $VS_TMP
#   vs_impl                 print "volswapd" or "qsd"
#   vs_find_bin             set $VS_BIN to the server binary for vs_impl
#                           (fails, or skips for a missing qsd, if absent)
#   vs_daemon_bin           print it instead (for $(vs_daemon_bin))
#   vs_start [--tcp] [--tls OBJECT] OPTS..
#                           start a server with OPTS (--blockdev, --export,
#                           ...) listening on a unix socket ($VS_SOCK), or
#                           with --tcp on a free 127.0.0.1 port ($VS_PORT);
#                           adds --nbd-server and --pidfile itself, waits
#                           for the pidfile (bounded), sets $VS_PID and
#                           $VS_LOG (the daemon's stdout+stderr). --tls
#                           gives server credentials (an --object value
#                           with id=tls0) that clients must STARTTLS with
#   vs_tls_certs DIR        test TLS credentials (gen-tls-certs.sh)
#   vs_uri [EXPORT]         NBD URI of EXPORT on the running server
#   vs_stop [SIGNAL]        send SIGNAL (TERM) and wait (bounded); returns
#                           the exit status and sets $VS_EXIT to it
#   vs_sparse_file P SIZE   sparse raw file (truncate sizes: 64M, 1G, ...)
#   vs_random_file P SIZE [SEED]  P filled with SIZE deterministic random
#                           bytes (same SEED, same bytes)
#   vs_same_content A B     fail unless files A and B are byte-identical
#   vs_require CMD..        skip (77) unless every CMD is on PATH
#   vs_skip MSG / vs_fail MSG   exit 77 / exit 1 with MSG as last line
#   vs_log MSG              progress message on stderr
# Tunables: VS_START_TIMEOUT (seconds to wait for the pidfile, default 30:
# a fail-safe for a daemon that never comes up, not a timing assertion);
# VOLSWAP_TEST_LOOPS=N starts volswapd with --loops N (scripts/test-loops
# runs suites that way).

set -euo pipefail

VS_SRC=${VOLSWAP_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VS_BUILD=${VOLSWAP_BUILD:-$VS_SRC/build}
VS_TMP=
VS_PIDS=()
VS_SOCK=
VS_PORT=
VS_PID=
VS_LOG=
VS_EXIT=

vs_log() { echo "[$(basename "$0")] $*" >&2; }
# Inside $(..) stdout is captured, so the message also goes to stderr there.
vs_fail() {
  echo "FAIL: $*"
  if [ "$BASH_SUBSHELL" -gt 0 ]; then echo "FAIL: $*" >&2; fi
  exit 1
}
vs_skip() {
  echo "SKIP: $*"
  if [ "$BASH_SUBSHELL" -gt 0 ]; then echo "SKIP: $*" >&2; fi
  exit 77
}

vs_require() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || vs_skip "$c not installed"
  done
}

# Resolved once at source time (not in a $(..) subshell, where a vs_fail
# or vs_skip would only end the subshell).
case "${VOLSWAP_TEST_IMPL:-volswapd}" in
  qsd|qemu-storage-daemon) VS_IMPL=qsd ;;
  volswapd) VS_IMPL=volswapd ;;
  *) vs_fail "VOLSWAP_TEST_IMPL must be volswapd or qsd, not '$VOLSWAP_TEST_IMPL'" ;;
esac
VS_BIN=

vs_impl() { echo "$VS_IMPL"; }
vs_daemon_bin() { vs_find_bin; echo "$VS_BIN"; }

# Sets VS_BIN; fails (or skips, for a missing qsd) if the server is absent.
vs_find_bin() {
  if [ "$VS_IMPL" = qsd ]; then
    VS_BIN=$(command -v qemu-storage-daemon) || vs_skip "qemu-storage-daemon not installed"
  else
    VS_BIN="$VS_BUILD/src/daemon/volswapd"
    [ -x "$VS_BIN" ] || vs_fail "volswapd not built: $VS_BIN missing (run scripts/build)"
  fi
}


# Stops every daemon still running with SIGTERM (the clean shutdown path),
# so that a sanitizer build reports leaks and errors at exit; a daemon that
# then exits non-zero fails an otherwise passing test.
vs_cleanup() {
  local rc=$? p st n limit
  for p in "${VS_PIDS[@]+"${VS_PIDS[@]}"}"; do
    kill -TERM "$p" 2>/dev/null || true
    # Bounded fail-safe against a daemon that ignores SIGTERM: 30 s when
    # the test passed (its clean exit is being checked), 2 s when it failed
    # or was interrupted (tests/run's timeout sends SIGKILL 10 s after
    # SIGTERM, and the daemon must not outlive the test).
    n=0; limit=300
    [ $rc -eq 0 ] || limit=20
    while kill -0 "$p" 2>/dev/null && [ $n -lt $limit ]; do
      [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = Z ] && break
      sleep 0.1; n=$((n + 1))
    done
    kill -KILL "$p" 2>/dev/null || true
    st=0; wait "$p" 2>/dev/null || st=$?
    if [ $rc -eq 0 ] && [ $st -ne 0 ]; then
      echo "FAIL: daemon $p exited with status $st on SIGTERM at the end of the test"
      rc=1
    fi
  done
  # A daemon log is the first thing one needs when a test fails.
  if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -n "$VS_TMP" ]; then
    for p in "$VS_TMP"/daemon*.log; do
      [ -s "$p" ] && { echo "--- $p"; tail -n 30 "$p"; } >&2
    done
  fi
  [ -n "$VS_TMP" ] && rm -rf "$VS_TMP"
  exit $rc
}

vs_init() {
  VS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/volswap-test.XXXXXX")
  trap vs_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Translate one option value from volswapd's short form to qsd's.
vs__qsd_blockdev() {
  local v=$1 path
  case "$v" in driver=*) echo "$v"; return ;; esac
  v=${v#file,}
  path=$(echo ",$v," | sed -n 's/.*,filename=\([^,]*\),.*/\1/p')
  if [ -n "$path" ] && [ -b "$path" ]; then echo "driver=host_device,$v"
  else echo "driver=file,$v"; fi
}

vs__qsd_export() {
  local v=$1 node
  case "$v" in type=*) echo "$v"; return ;; esac
  v=${v#nbd,}
  node=$(echo ",$v," | sed -n 's/.*,node=\([^,]*\),.*/\1/p')
  v=$(echo ",$v" | sed 's/,node=/,node-name=/; s/^,//')
  case ",$v," in *,id=*) ;; *) v="$v,id=exp-$node" ;; esac
  echo "type=nbd,$v"
}

# A free port below the ephemeral range (see _free_port in lib.py): a port
# from bind(0) may be taken by another test's outgoing connection first.
vs__free_port() {
  /usr/bin/python3 -c '
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
        s.close()'
}

vs_start() {
  [ -n "$VS_TMP" ] || vs_fail "vs_start called before vs_init"
  local orig_args=("$@")
  local tcp=0 impl bin n listen pidfile waited=0 limit
  local tls_obj="" tls_opt=""
  while :; do
    case "${1:-}" in
      --tcp) tcp=1; shift ;;
      # --tls OBJECT: server credentials with id=tls0 (an --object value);
      # clients must then STARTTLS.
      --tls) tls_obj=$2; tls_opt=",tls-creds=tls0"; shift 2 ;;
      *) break ;;
    esac
  done
  vs_find_bin; impl=$VS_IMPL; bin=$VS_BIN
  n=${#VS_PIDS[@]}
  pidfile="$VS_TMP/daemon$n.pid"
  VS_LOG="$VS_TMP/daemon$n.log"
  local args=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --blockdev|--export)
        [ $# -ge 2 ] || vs_fail "vs_start: $1 needs a value"
        if [ "$impl" = qsd ]; then
          if [ "$1" = --blockdev ]; then args+=("$1" "$(vs__qsd_blockdev "$2")")
          else args+=("$1" "$(vs__qsd_export "$2")"); fi
        else args+=("$1" "$2"); fi
        shift 2 ;;
      *) args+=("$1"); shift ;;
    esac
  done
  if [ $tcp = 1 ]; then
    VS_PORT=$(vs__free_port); VS_SOCK=
    if [ "$impl" = qsd ] || [ -n "$tls_obj" ]; then
      listen="addr.type=inet,addr.host=127.0.0.1,addr.port=$VS_PORT$tls_opt"
    else listen="tcp:127.0.0.1:$VS_PORT"; fi
  else
    VS_SOCK="$VS_TMP/nbd$n.sock"; VS_PORT=
    if [ "$impl" = qsd ] || [ -n "$tls_obj" ]; then
      listen="addr.type=unix,addr.path=$VS_SOCK$tls_opt"
    else listen="unix:$VS_SOCK"; fi
  fi
  if [ -n "$tls_obj" ]; then args=(--object "$tls_obj" --nbd-server "$listen" "${args[@]}")
  else args=(--nbd-server "$listen" "${args[@]}"); fi
  if [ "$impl" = volswapd ] && [ -n "${VOLSWAP_TEST_LOOPS:-}" ]; then
    args=(--loops "$VOLSWAP_TEST_LOOPS" "${args[@]}")
  fi
  vs_log "starting: $bin ${args[*]} --pidfile $pidfile"
  # --nbd-server first: qsd creates exports in option order and needs the
  # server to exist by then.
  # Started through exec with SIGINT/SIGQUIT back at their defaults: bash
  # makes background jobs of a script ignore them, and a daemon should see
  # the signals a terminal would send it.
  /usr/bin/python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGQUIT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' \
    "$bin" "${args[@]}" --pidfile "$pidfile" >"$VS_LOG" 2>&1 &
  VS_PID=$!
  VS_PIDS+=("$VS_PID")
  limit=$(( ${VS_START_TIMEOUT:-30} * 10 ))
  # The contract: the pidfile appears only once every socket listens.
  while [ ! -s "$pidfile" ]; do
    if ! kill -0 "$VS_PID" 2>/dev/null; then
      wait "$VS_PID" && VS_EXIT=0 || VS_EXIT=$?
      if [ $tcp = 1 ] && [ "${VS__START_RETRIES:-0}" -lt 5 ] && grep -q "in use" "$VS_LOG"; then
        # Another test took the port between vs__free_port and our bind.
        VS__START_RETRIES=$(( ${VS__START_RETRIES:-0} + 1 ))
        unset 'VS_PIDS[-1]'
        vs_start "${orig_args[@]}"
        VS__START_RETRIES=0
        return
      fi
      vs_fail "$impl exited with status $VS_EXIT before writing its pidfile: $(tail -n 3 "$VS_LOG")"
    fi
    waited=$((waited + 1))
    [ $waited -lt "$limit" ] || vs_fail "$impl did not write $pidfile within ${VS_START_TIMEOUT:-30}s"
    sleep 0.1
  done
  local filepid
  filepid=$(tr -d ' \n' <"$pidfile")
  [ "$filepid" = "$VS_PID" ] || vs_fail "pidfile holds '$filepid', daemon pid is $VS_PID"
}

# vs_tls_certs DIR: test TLS credentials (see gen-tls-certs.sh).
vs_tls_certs() {
  bash "$(dirname "${BASH_SOURCE[0]}")/gen-tls-certs.sh" "$1"
}

vs_uri() {
  local e=${1:-}
  if [ -n "$VS_PORT" ]; then echo "nbd://127.0.0.1:$VS_PORT/$e"
  else echo "nbd+unix:///$e?socket=$VS_SOCK"; fi
}

vs_stop() {
  local sig=${1:-TERM} p=$VS_PID i n=0
  [ -n "$p" ] || vs_fail "vs_stop: no daemon running"
  kill -"$sig" "$p" 2>/dev/null || vs_fail "vs_stop: daemon $p already gone"
  # Bounded fail-safe (30 s) so a daemon ignoring the signal fails the test
  # instead of hanging it; not a timing assertion.
  while kill -0 "$p" 2>/dev/null && [ $n -lt 300 ]; do
    # A zombie is gone for our purpose; wait below collects it.
    [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = Z ] && break
    sleep 0.1; n=$((n + 1))
  done
  if [ $n -ge 300 ]; then
    kill -KILL "$p" 2>/dev/null || true
    vs_fail "daemon $p still running 30 s after SIG$sig"
  fi
  if wait "$p"; then VS_EXIT=0; else VS_EXIT=$?; fi
  # Forget it so the EXIT trap does not kill a recycled pid.
  local keep=()
  for i in "${VS_PIDS[@]}"; do [ "$i" = "$p" ] || keep+=("$i"); done
  VS_PIDS=("${keep[@]+"${keep[@]}"}")
  VS_PID=
  return $VS_EXIT
}

vs_sparse_file() {
  rm -f "$1"
  truncate -s "$2" "$1"
}

vs_random_file() {
  local path=$1 size=$2 seed=${3:-1}
  /usr/bin/python3 - "$path" "$size" "$seed" <<'EOF'
import random, sys
path, size, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
n = int(size[:-1]) * mult[size[-1]] if size[-1] in mult else int(size)
rng = random.Random(seed)
with open(path, "wb") as f:
    left = n
    while left:
        chunk = min(left, 1 << 20)
        f.write(rng.randbytes(chunk))
        left -= chunk
EOF
}

vs_same_content() {
  cmp -s "$1" "$2" || vs_fail "$1 and $2 differ: $(cmp "$1" "$2" 2>&1 | head -n1)"
}
