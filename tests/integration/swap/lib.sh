# Shared setup for the swap-workflow tests (sourced). Builds on the API
# tests' helpers (tests/integration/api/lib.sh: daemons on temporary sockets,
# config, tokens, the `api` curl wrapper) and adds what a swap needs:
# volumes with data, the attachment's NBD URI, waiting for a swap to end
# through the progress endpoint, and the state checks every test repeats.
# VOLSWAP_TEST_HOST_DAEMON=volswapd runs the host side on our daemon.
# shellcheck source=../api/lib.sh
. "$VOLSWAP_SRC/tests/integration/api/lib.sh"

host_kill() { kill -9 "$HOST_PID" 2>/dev/null; wait "$HOST_PID" 2>/dev/null || true; HOST_PID=; }

# A mirror rate (bytes/s) slow enough that a test can act while the mirror
# still copies a few MiB; volswapd and qemu-storage-daemon both hold it.
slow_speed() {
  echo $((1 << 20))
}

# A swap that waits for the test: its mirror copies 4 KiB a second (the
# 4 MiB of slow_swap_started would take over 1000 s), so it is still
# running whatever the test does meanwhile and however loaded the machine
# is, until swap_unhold lifts the limit of the host's mirror jobs through a
# second monitor of the host (volswap-api uses the first). Export
# VOLSWAP_SWAP_SPEED=$(held_speed) HOST_MONITORS=1 before the setup.
held_speed() {
  echo 4096
}
swap_unhold() {
  local job r
  for job in $(QMP_SOCK=$T/qmp-1.sock qmp_cmd '{"execute":"query-block-jobs"}' | jq -r '.return[].device'); do
    r=$(QMP_SOCK=$T/qmp-1.sock qmp_cmd "{\"execute\":\"block-job-set-speed\",\"arguments\":{\"device\":\"$job\",\"speed\":0}}")
    # a job that ended meanwhile is no longer held either
    echo "$r" | jq -e '.return or .error.class == "DeviceNotActive"' >/dev/null ||
      fail "set-speed of job $job: $r"
  done
}

# Skips when the volswap-api under test has no swap route yet.
need_swap_api() {
  api "$ADMIN_TOKEN" PUT "/v2.1/servers/00000000-0000-0000-0000-000000000000/os-volume_attachments/00000000-0000-0000-0000-000000000000" \
    '{"volumeAttachment":{"volumeId":"00000000-0000-0000-0000-000000000001"}}' >/dev/null
  [ "$STATUS" != 405 ] || skip "volswap-api has no PUT os-volume_attachments route (wiring pending)"
}

swap_setup() { api_setup; need_swap_api; PID_DEMO=$(project_id demo); }

new_volume() {  # new_volume TOKEN SIZE_GB -> prints id
  api "$1" POST "/v3/$PID_DEMO/volumes" "{\"volume\":{\"size\":${2:-1}}}" >/dev/null
  expect_status 202
  jq -r .volume.id "$T/last.body"
}
new_server() {  # new_server TOKEN NAME -> prints id
  api "$1" POST /v2.1/servers "{\"server\":{\"name\":\"${2:-srv}\"}}" >/dev/null
  expect_status 202
  jq -r .server.id "$T/last.body"
}
volume_path() { reg_sql "SELECT path FROM volumes WHERE id='$1'"; }
volume_field() {  # volume_field ID FIELD
  api "$ADMIN_TOKEN" GET "/v3/$PID_DEMO/volumes/$1" >/dev/null; jq -r ".volume.$2" "$T/last.body"
}

swap_put() {  # swap_put TOKEN SERVER OLD NEW [MICROVERSION] -> sets STATUS
  api "$1" PUT "/v2.1/servers/$2/os-volume_attachments/$3" \
    "{\"volumeAttachment\":{\"volumeId\":\"$4\"}}" -H "OpenStack-API-Version: compute ${5:-2.79}" >/dev/null
}

progress() {  # progress SERVER VOLUME -> prints the swap_progress object
  api "$ADMIN_TOKEN" GET "/v2.1/servers/$1/os-volume_attachments/$2/swap-progress" >/dev/null
  jq -c .swap_progress "$T/last.body"
}

# Waits until the swap of VOLUME on SERVER is no longer running; prints its
# final state (completed / rolled-back / unfinished).
wait_swap() {
  local st
  for _ in $(seq 600); do
    st=$(progress "$1" "$2" | jq -r .state)
    case "$st" in running|null|"") sleep 0.05 ;; *) echo "$st"; return 0 ;; esac
  done
  fail "swap did not finish: $(cat "$T/last.body")"
}

# Waits until the running swap reaches PHASE.
wait_phase() {
  for _ in $(seq 400); do
    [ "$(progress "$1" "$2" | jq -r .phase)" = "$3" ] && return 0
    sleep 0.02
  done
  fail "swap never reached phase $3: $(cat "$T/last.body")"
}

attached_volume() {  # the volume ids attached to SERVER, one a line
  api "$ADMIN_TOKEN" GET "/v2.1/servers/$1/os-volume_attachments" >/dev/null
  jq -r '.volumeAttachments[].volumeId' "$T/last.body"
}

# The node the host's export for the attachment serves, over QMP.
export_node() {
  local eid
  eid=$(reg_sql "SELECT export_id FROM attachments WHERE server_id='$1'")
  qmp_cmd '{"execute":"query-block-exports"}' | jq -r ".return[] | select(.id==\"$eid\") | .[\"node-name\"]"
}

# One QMP command on the host's monitor (when no swap holds it).
qmp_cmd() {
  /usr/bin/python3 - "${QMP_SOCK:-$T/qmp.sock}" "$1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rw')
f.readline(); f.write('{"execute":"qmp_capabilities"}\n'); f.flush()
while 'return' not in json.loads(f.readline()): pass
f.write(sys.argv[2] + '\n'); f.flush()
while True:
    m = json.loads(f.readline())
    if 'return' in m or 'error' in m:
        print(json.dumps(m)); break
PY
}

# Fills the first MIB MiB of the attachment's export with pattern BYTE.
nbd_fill() {  # nbd_fill URI BYTE MIB
  qemu-io -f raw "$1" -c "write -P $2 0 ${3}M" >/dev/null || fail "write through NBD failed"
}
# Checks the first MIB MiB of a raw file hold BYTE.
file_check() {  # file_check PATH BYTE MIB
  qemu-io -f raw -r "$1" -c "read -P $2 0 ${3}M" | grep -q 'read ' || fail "$1 lacks pattern $2"
  qemu-io -f raw -r "$1" -c "read -P $2 0 ${3}M" | grep -q 'Pattern verification failed' \
    && fail "$1 does not hold pattern $2 over ${3} MiB"
  return 0
}

# The usual start of a swap test: two volumes (SIZE GiB), a server, the
# first attached, MIB MiB of pattern 0x5a written through its export.
# Sets OLD NEW SID URI.
attached_pair() {  # attached_pair SIZE MIB [NEW_SIZE] [NEW_POOL]
  OLD=$(new_volume "$ADMIN_TOKEN" "$1")
  if [ -n "${4:-}" ]; then
    api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" "{\"volume\":{\"size\":${3:-$1},\"volume_type\":\"$4\"}}" >/dev/null
    expect_status 202; NEW=$(jq -r .volume.id "$T/last.body")
  else
    NEW=$(new_volume "$ADMIN_TOKEN" "${3:-$1}")
  fi
  SID=$(new_server "$ADMIN_TOKEN")
  attach "$ADMIN_TOKEN" "$SID" "$OLD"; expect_status 200
  URI=$(export_uri "$ADMIN_TOKEN" "$SID" "$OLD")
  [ "$2" -gt 0 ] && nbd_fill "$URI" 0x5a "$2"
  return 0
}

# Has gdb SIGKILL volswap-api when it reaches FUNCTION, runs COMMAND (a
# request, e.g. swap_put ...; its failure is expected, and it runs in this
# shell so STATUS is kept), and returns once the API is gone (API_PID
# cleared). Fails if gdb did not attach or FUNCTION was not reached (WHAT
# names it in that message). The test checks for gdb first.
api_killed_in() {  # api_killed_in FUNCTION WHAT COMMAND [ARGS..]
  local fn=$1 what=$2 gdb_pid _
  shift 2
  gdb -p "$API_PID" -batch -nx -ex 'set pagination off' -ex "break $fn" \
    -ex 'echo READY\n' -ex continue -ex 'echo HIT\n' -ex kill >"$T/gdb.out" 2>&1 &
  gdb_pid=$!
  for _ in $(seq 600); do grep -q READY "$T/gdb.out" && break; sleep 0.05; done
  grep -q READY "$T/gdb.out" || fail "gdb did not attach: $(cat "$T/gdb.out")"
  "$@" || true
  wait "$gdb_pid" || true
  grep -q HIT "$T/gdb.out" || fail "the accept never reached $what: $(cat "$T/gdb.out")"
  wait "$API_PID" 2>/dev/null || true
  API_PID=
}

# A swap of a 1 GiB volume holding 4 MiB at slow_speed, accepted (sets SID,
# OLD, NEW); with "mirroring", also waits until it copies. Set
# VOLSWAP_SWAP_SPEED=$(slow_speed) before swap_setup.
slow_swap_started() {  # slow_swap_started [mirroring]
  attached_pair 1 4
  swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
  expect_status 202
  [ -z "${1:-}" ] || wait_phase "$SID" "$OLD" "$1"
}

# With the API stopped: the registry as volswap-api leaves it right after
# answering 202 to a swap OLD -> NEW of SID (OLD detaching, NEW attaching,
# the swap_volume action and the swap record "accepted", both under request
# id req-crashed), with nothing done on the host. SQL, if given, runs first
# in the same session, PLANT_AFTER (SQL) last.
plant_accepted_swap() {  # plant_accepted_swap [SQL]
  local att node newnode proj now=2026-01-01T00:00:00.000000 renumber=
  att=$(reg_sql "SELECT id FROM attachments WHERE volume_id='$OLD'")
  node=$(reg_sql "SELECT node_name FROM attachments WHERE volume_id='$OLD'")
  newnode=vol-$(echo "$NEW" | tr -d - | cut -c1-26)
  proj=$(reg_sql "SELECT project_id FROM servers WHERE id='$SID'")
  # PostgreSQL numbers the records from a sequence, which must pass seq 1
  [ "${VOLSWAP_TEST_DB:-sqlite}" = postgresql ] &&
    renumber="SELECT setval(pg_get_serial_sequence('swaps','seq'), (SELECT MAX(seq) FROM swaps));"
  reg_sql "${1:-}
UPDATE volumes SET status='detaching' WHERE id='$OLD';
UPDATE volumes SET status='attaching' WHERE id='$NEW';
INSERT INTO instance_actions(request_id, server_id, action, project_id, user_id, message, start_time, updated_at)
  VALUES('req-crashed', '$SID', 'swap_volume', '$proj', 'admin', '', '$now', '$now');
INSERT INTO swaps(id, kind, server_id, project_id, user_id, host, old_volume_id, new_volume_id,
  attachment_id, old_node, new_node, old_path, old_size_gb, new_size_gb, phase, error, started_at,
  updated_at, bytes_total, bytes_done, mirror_ms, pivot_ms, total_ms, seq)
  VALUES('req-crashed', 'swap', '$SID', '$proj', 'admin', 'host1', '$OLD', '$NEW', '$att', '$node',
  '$newnode', '', 1, 1, 'accepted', '', '$now', '$now', 0, 0, 0, 0, 0, 1);
$renumber${PLANT_AFTER:-}" >/dev/null
}

# After the planted swap ran to its end: the server is on NEW with OLD's
# 4 MiB of 0x5a, OLD available and NEW in-use, the event says Success.
expect_planted_swap_completed() {
  [ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "recovered swap: $(cat "$T/last.body")"
  [ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
  [ "$(volume_field "$OLD" status)" = available ] && [ "$(volume_field "$NEW" status)" = in-use ] \
    || fail "states: $(volume_field "$OLD" status) / $(volume_field "$NEW" status)"
  file_check "$(volume_path "$NEW")" 0x5a 4
  api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID/os-instance-actions/req-crashed" >/dev/null
  [ "$(jq -r '.instanceAction.events[] | select(.event=="compute_swap_volume") | .result' "$T/last.body")" = Success ] \
    || fail "event: $(cat "$T/last.body")"
}

# After a rollback: the server is on OLD (registry and host agree), OLD is
# in-use and NEW available, the event says Error, and the export still
# writes into OLD's file.
expect_rolled_back() {
  [ "$(attached_volume "$SID")" = "$OLD" ] || fail "attachment names $(attached_volume "$SID")"
  [ "$(volume_field "$OLD" status)" = in-use ] || fail "old volume is $(volume_field "$OLD" status)"
  [ "$(volume_field "$NEW" status)" = available ] || fail "new volume is $(volume_field "$NEW" status)"
  local req
  req=$(progress "$SID" "$OLD" | jq -r .request_id)
  api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID/os-instance-actions/$req" >/dev/null
  [ "$(jq -r '.instanceAction.events[] | select(.event=="compute_swap_volume") | .result' "$T/last.body")" = Error ] \
    || fail "event: $(cat "$T/last.body")"
  if [ -n "$HOST_PID" ]; then
    [ "$(export_node "$SID")" = "$(reg_sql "SELECT node_name FROM attachments WHERE server_id='$SID'")" ] \
      || fail "the export serves $(export_node "$SID"), the registry says otherwise"
    nbd_fill "$URI" 0x77 1
    file_check "$(volume_path "$OLD")" 0x77 1
  fi
}

# fio writing through NBD with verification, rate-limited so that the swap
# happens while it writes: randwrite 4k, crc32c headers, then fio reads
# everything back (through the export, now on the new volume) and verifies.
# Leaves FIO_PID; fio_wait fails the test on any verify error.
fio_start() {  # fio_start URI MIB
  fio --name=consumer --ioengine=nbd --uri="$1" --rw=randwrite --bs=4k --iodepth=16 \
    --size="${2}M" --rate_iops=4000 --verify=crc32c --verify_fatal=1 --randrepeat=1 --verify_state_save=0 \
    --output="$T/fio.out" >"$T/fio.log" 2>&1 &
  FIO_PID=$!
  # let it connect and write for a while before the swap starts
  sleep 0.5
}
fio_wait() {
  wait "$FIO_PID" || { cat "$T/fio.log" "$T/fio.out" >&2; fail "fio failed (verify error?)"; }
  FIO_PID=
}
# A consumer writing flat out (4k random writes, 16 in flight, no rate
# limit) over [16 MiB, 32 MiB) for SECONDS, to outpace a speed-limited
# mirror. Leaves FIO_PID (killed at exit).
fio_flat_out() {  # fio_flat_out URI SECONDS
  fio --name=load --ioengine=nbd --uri="$1" --rw=randwrite --bs=4k --iodepth=16 \
    --offset=16M --size=16M --time_based --runtime="$2" >"$T/fio.log" 2>&1 &
  FIO_PID=$!
  trap 'kill "$FIO_PID" 2>/dev/null || true; cleanup' EXIT
  sleep 0.5
}
# The same job's data verified straight from a volume file (the new one).
fio_verify_file() {  # fio_verify_file PATH MIB
  fio --name=consumer --ioengine=psync --filename="$1" --rw=randwrite --bs=4k \
    --size="${2}M" --verify=crc32c --verify_fatal=1 --randrepeat=1 --verify_state_save=0 --verify_only \
    --output="$T/fio-verify.out" >/dev/null 2>&1 || { cat "$T/fio-verify.out" >&2; fail "data missing from $1"; }
}

# The qemu driver: volswap-api first (the volumes must exist before QEMU
# opens one), then qemu_start VOLUME runs a real QEMU (paused, TCG) owning
# VOLUME on a virtio-blk device (share-rw=on so the attach's NBD export may
# write beside it), with the API's QMP monitor and a second one ($T/qmp2.sock)
# for the test. Sets QEMU_NODE.
qemu_setup() {
  command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
  VOLSWAP_TEST_DRIVER=qemu VOLSWAP_TEST_NBD_START=1
  mkdir -p "$T/pool" "$T/pool2"
  write_config
  api_start
  need_swap_api
  PID_DEMO=$(project_id demo)
}
qemu_start() {
  QEMU_NODE=vol-$(echo "$1" | tr -d - | cut -c1-26)
  qemu-system-x86_64 -S -nodefaults -display none -machine pc -accel tcg -m 64 \
    -blockdev "driver=file,filename=$(volume_path "$1"),node-name=$QEMU_NODE,discard=unmap" \
    -device virtio-blk-pci,drive="$QEMU_NODE",id=disk0,share-rw=on \
    -qmp unix:"$T/qmp.sock",server=on,wait=off -qmp unix:"$T/qmp2.sock",server=on,wait=off \
    >"$T/host.log" 2>&1 &
  HOST_PID=$!
  wait_started "$HOST_PID" eval '[ -S "$T/qmp.sock" ] && [ -S "$T/qmp2.sock" ]' ||
    { cat "$T/host.log" >&2; fail "qemu did not start"; }
}

# Skips when the volswap CLI under test has no volume-update yet.
need_swap_cli() {
  "$CLI_BIN" --help 2>/dev/null | grep -q volume-update || skip "volswap CLI has no volume-update (wiring pending)"
}

# What the host serves, one line each, sorted: "export ID NODE" for every
# export, "node NAME" for every volume node (vol-*), "job ID" for every job.
host_served() {
  /usr/bin/python3 - "${QMP_SOCK:-$T/qmp.sock}" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(20); s.connect(sys.argv[1]); f = s.makefile('rw')
f.readline()
def run(cmd):
    f.write(json.dumps({"execute": cmd}) + '\n'); f.flush()
    while True:
        m = json.loads(f.readline())
        if 'return' in m: return m['return']
        if 'error' in m: raise SystemExit(str(m))
run('qmp_capabilities')
out = ["export %s %s" % (e['id'], e['node-name']) for e in run('query-block-exports')]
out += ["node " + n['node-name'] for n in run('query-named-block-nodes') if n['node-name'].startswith('vol-')]
out += ["job " + j['id'] for j in run('query-jobs')]
print('\n'.join(sorted(out)))
PY
}
# The same, as the registry has it: each attachment's export and node.
registry_served() {
  reg_sql "SELECT 'export ' || export_id || ' ' || node_name FROM attachments
           UNION ALL SELECT 'node ' || node_name FROM attachments" | sort
}
# Waits (30 s at most) until the host serves what the registry names and
# nothing more; fails showing both when it does not.
expect_host_matches_registry() {
  for _ in $(seq 150); do
    [ "$(host_served)" = "$(registry_served)" ] && return 0
    sleep 0.2
  done
  fail "the host serves
$(host_served)
the registry names
$(registry_served)"
}
