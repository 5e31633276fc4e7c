#!/usr/bin/env bash
# A storage host that drops off mid-mirror and comes back within the
# compute host's reconnect-delay: the new volume's storage host (storage2)
# is reached through a TCP proxy, and while the rate-limited mirror copies
# onto it under a consumer writing verifiable 4k blocks, the proxy is
# killed (every connection through it drops) and started again a second
# later. compute1's nbd node reconnects (reconnect_delay 30 s: the proxy's
# restart on a loaded machine and the reconnect's backoff, up to 2 s, fit
# well within it), the job goes on, the swap completes, and every write is
# on the new volume's file.
. "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"
export VOLSWAP_SWAP_SPEED=$((4 << 20))
HOSTS_RECONNECT_DELAY=30
hosts_compute_and_two_storage
host_proxy storage2
hosts_cross_storage_pair
nbd_fill "$URI" 0x5a 24
fio_start "$URI" 16
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
wait_phase "$SID" "$OLD" mirroring
sleep 0.5
host_proxy_kill storage2
sleep 1
[ "$(progress "$SID" "$OLD" | jq -r .state)" = running ] || fail "the swap ended while the link was down: $(cat "$T/last.body")"
host_proxy storage2
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
fio_wait
fio_verify_file "$T/storage2-pool/volume-$NEW" 16
qemu-io -f raw -r "$T/storage2-pool/volume-$NEW" -c "read -P 0x5a 16M 8M" | grep -q 'read ' ||
  fail "the old volume's data past the consumer's range is not on the new volume"
grep -q "nbd node .vol-.*: reconnected" "$T/compute1.log" || fail "compute1 never lost and regained storage2: the fault missed the mirror"
expect_clean storage1
echo ok
