#!/usr/bin/env bash
# A storage host unreachable when a swap rolls back keeps the new volume's
# storage export (sx-*) and node: the rollback cannot remove them, so it
# marks the host, and once the host answers again the reconciler removes
# them. storage2 (the new volume's host) is reached through a TCP proxy;
# during the rate-limited mirror the proxy is killed and storage2's link
# cut, so the nbd node fails past reconnect-delay, the swap rolls back,
# and the rollback finds storage2's monitor unreachable. The link comes
# back: storage2 ends holding nothing, and the consumer's side is as
# before the swap.
. "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"
export VOLSWAP_SWAP_SPEED=$((2 << 20))
HOSTS_RECONNECT_DELAY=2
hosts_compute_and_two_storage
host_proxy storage2
hosts_cross_storage_pair
nbd_fill "$URI" 0x5a 24
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
wait_phase "$SID" "$OLD" mirroring
host_proxy_kill storage2
ns_link storage2 down
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "swap: $(cat "$T/last.body")"
[ "$(volume_field "$NEW" status)" = available ] || fail "new volume is $(volume_field "$NEW" status)"
newnode=vol-$(echo "$NEW" | tr -d - | cut -c1-26)
grep -q "the export of $newnode stays on host storage2" "$T/api.log" ||
  fail "the rollback reached storage2: the fault missed it"
ns_link storage2 up
for _ in $(seq 300); do
  [ -z "$(host_leftovers storage2)" ] && break
  sleep 0.2
done
expect_clean storage2
grep -q "reconcile: host storage2: storage export sx-$newnode" "$T/api.log" ||
  fail "something else than the reconciler removed the export"
oldnode=vol-$(echo "$OLD" | tr -d - | cut -c1-26)
expect_clean storage1 "$(printf 'export sx-%s\nnode %s' "$oldnode" "$oldnode")"
echo ok
