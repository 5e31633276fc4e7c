#!/usr/bin/env bash
# The host daemon keeps its state file on a file system that is full by
# the time of the pivot: the pivot cannot be made durable, so volswapd
# undoes it and the job ends with "pivot not saved". The swap rolls back,
# the consumer stays on its old volume with every byte, and a restart of
# the host daemon from that state file serves the old volume.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_TEST_HOST_DAEMON=volswapd
mkdir -p "$T/st"
mount -t tmpfs -o size=64k tmpfs "$T/st" 2>/dev/null || skip "cannot mount a tmpfs here"
trap 'umount "$T/st" 2>/dev/null || true; cleanup' EXIT
export VOLSWAPD_STATE="$T/st/state.json"
swap_setup
attached_pair 1 8
grep -q "$(export_node "$SID")" "$VOLSWAPD_STATE" || fail "the state file lacks the export: $(cat "$VOLSWAPD_STATE")"
dd if=/dev/zero of="$T/st/fill" bs=4k 2>/dev/null || true      # until ENOSPC
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "not rolled back: $(cat "$T/last.body")"
progress "$SID" "$OLD" | jq -e '.error | test("pivot not saved")' >/dev/null \
  || fail "the error does not say why: $(progress "$SID" "$OLD")"
grep -q "pivot not saved" "$T/host.log" || fail "volswapd did not say so: $(tail -5 "$T/host.log")"
file_check "$(volume_path "$OLD")" 0x5a 8
expect_rolled_back
# The state on disk still names the old volume: a restart serves it.
rm -f "$T/st/fill"
node=$(export_node "$SID")
host_kill
rm -f "$T/qmp.sock" "$T/nbd.sock"
host_start
[ "$(export_node "$SID")" = "$node" ] || fail "the restarted host serves $(export_node "$SID"), not $node"
nbd_fill "$URI" 0x66 1
file_check "$(volume_path "$OLD")" 0x66 1
echo ok
