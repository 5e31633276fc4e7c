#!/usr/bin/env bash
# The compute host's daemon killed (SIGKILL) while it mirrors a volume from
# storage1 to storage2, and started again from its state file: the API's
# worker loses its session, waits for the host to answer again, closes
# the nbd node it had opened to storage2's export, has storage2 drop the
# export, and rolls the registry back. The restarted daemon serves the
# consumer's export on the old nbd node (its state file), which still
# reads what was written before the swap and takes new writes into the old
# volume's file on storage1; nothing of the swap is left on any host.
. "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"
export VOLSWAP_SWAP_SPEED=$((1 << 20))
hosts_compute_and_two_storage --state "$T/compute1.state"
hosts_cross_storage_pair
nbd_fill "$URI" 0x5a 8
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
wait_phase "$SID" "$OLD" mirroring
sleep 0.5
host_kill9 compute1
host_restart compute1
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "swap: $(cat "$T/last.body")"
HOST_PID=
expect_rolled_back
node=vol-$(echo "$OLD" | tr -d - | cut -c1-26)
eid=$(reg_sql "SELECT export_id FROM attachments WHERE server_id='$SID'")
expect_clean compute1 "$(printf 'export %s\nnode %s' "$eid" "$node")"
expect_clean storage2
expect_clean storage1 "$(printf 'export sx-%s\nnode %s' "$node" "$node")"
qemu-io -f raw -r "$URI" -c "read -P 0x5a 0 8M" | grep -q 'Pattern verification failed' &&
  fail "the consumer's export lost what was written before the swap"
nbd_fill "$URI" 0x77 1
file_check "$T/storage1-pool/volume-$OLD" 0x77 1
grep -q "is back: closing" "$T/api.log" || fail "the rollback did not wait for the host: $(grep "$SID\|rolling" "$T/api.log" | tail -5)"
echo ok
