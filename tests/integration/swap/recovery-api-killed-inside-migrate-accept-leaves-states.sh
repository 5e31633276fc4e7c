#!/usr/bin/env bash
# volswap-api is SIGKILLed in the middle of accepting an os-migrate_volume:
# gdb stops it where the destination's storage is created, after the
# volume's migration_status was set to "starting", and kills it there.
# After a restart nothing is stranded: the volume is in-use with no active
# migration status, no destination record, file or swap record exists,
# and the same migration is accepted again and completes. (bench/soak
# found "starting" stranded, refusing every later migration of the volume,
# when the mark committed on its own before the rest of the acceptance.)
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
command -v gdb >/dev/null || skip "gdb not installed"
swap_setup
VID=$(new_volume "$ADMIN_TOKEN" 1); SID=$(new_server "$ADMIN_TOKEN")
attach "$ADMIN_TOKEN" "$SID" "$VID"; expect_status 200
URI=$(export_uri "$ADMIN_TOKEN" "$SID" "$VID")
nbd_fill "$URI" 0x4d 4
NVOL=$(reg_sql "SELECT count(*) FROM volumes")
gdb -p "$API_PID" -batch -nx -ex 'set pagination off' -ex 'break pool_create_volume' \
  -ex 'echo READY\n' -ex continue -ex 'echo HIT\n' -ex kill >"$T/gdb.out" 2>&1 &
GDB_PID=$!
for _ in $(seq 600); do grep -q READY "$T/gdb.out" && break; sleep 0.05; done
grep -q READY "$T/gdb.out" || fail "gdb did not attach: $(cat "$T/gdb.out")"
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$VID/action" '{"os-migrate_volume":{"host":"pool2"}}' >/dev/null || true
wait "$GDB_PID" || true
grep -q HIT "$T/gdb.out" || fail "the acceptance never reached the storage: $(cat "$T/gdb.out")"
wait "$API_PID" 2>/dev/null || true
API_PID=
api_start
state=$(reg_sql "SELECT status || '/' || COALESCE(migration_status, '') FROM volumes WHERE id='$VID'")
case "$state" in in-use/|in-use/none|in-use/success|in-use/error) ;; *) fail "the volume was left $state";; esac
[ "$(reg_sql "SELECT count(*) FROM volumes")" = "$NVOL" ] || fail "a destination record was kept"
[ "$(reg_sql "SELECT count(*) FROM swaps")" = 0 ] || fail "a swap record was kept"
[ -z "$(ls "$T/pool2")" ] || fail "storage was left in pool2: $(ls "$T/pool2")"
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$VID/action" '{"os-migrate_volume":{"host":"pool2"}}' >/dev/null
expect_status 202
[ "$(wait_swap "$SID" "$VID")" = completed ] || fail "the migration after the restart: $(cat "$T/last.body")"
case "$(volume_path "$VID")" in "$T/pool2/"*) ;; *) fail "volume still at $(volume_path "$VID")";; esac
file_check "$(volume_path "$VID")" 0x4d 4
echo ok
