#!/usr/bin/env bash
# A storage host that drops off mid-mirror and does not come back within
# the compute host's reconnect-delay (2 s): the new volume's storage host
# is reached through a TCP proxy, killed while the rate-limited mirror
# copies under a consumer writing verifiable 4k blocks. The nbd node's
# requests fail, the mirror stops with an error, and the API rolls the swap
# back: the consumer stays on its old volume, every one of its writes is
# in the old volume's file, the volume states are as before the swap, and
# neither storage2 (still reachable over QMP) nor compute1 keeps anything
# of the swap.
. "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"
export VOLSWAP_SWAP_SPEED=$((2 << 20))
HOSTS_RECONNECT_DELAY=2
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
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "swap: $(cat "$T/last.body")"
fio_wait
HOST_PID=  # expect_rolled_back's own look at the host is for a unix monitor
expect_rolled_back
fio_verify_file "$T/storage1-pool/volume-$OLD" 16
[ "$(export_uri "$ADMIN_TOKEN" "$SID" "$OLD")" = "$URI" ] || fail "the consumer's URI changed"
node=vol-$(echo "$OLD" | tr -d - | cut -c1-26)
eid=$(reg_sql "SELECT export_id FROM attachments WHERE server_id='$SID'")
expect_clean compute1 "$(printf 'export %s\nnode %s' "$eid" "$node")"
expect_clean storage1 "$(printf 'export sx-%s\nnode %s' "$node" "$node")"
expect_clean storage2
echo ok
