#!/usr/bin/env bash
# volswap-api and its host on different machines: the host is a network
# namespace whose volswapd answers QMP only over TCP with TLS (client
# certificate from the run's CA, authz by DN) at 10.77.0.11:4444, and
# serves NBD at 10.77.0.11:10809. The API, in the test's own namespace,
# attaches a volume there, and fio (also across the link) writes 4k random
# blocks with crc32c verification while the API swaps the volume to
# another; the swap completes, fio's read-back through the export verifies,
# and a verify-only pass on the new volume's file finds every write. The
# host's log shows the API's TLS identity and no refused client.
. "$VOLSWAP_SRC/tests/integration/hosts/lib.sh"
host_volswapd compute1 "$NS_SUBNET.11"
hosts_api_setup compute1
attached_pair 1 0
case "$URI" in "nbd://$NS_SUBNET.11:10809/"*) ;; *) fail "attachment URI $URI is not the host's" ;; esac
fio_start "$URI" 32
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
kill -0 "$FIO_PID" 2>/dev/null || echo "note: fio ended before the swap did"
fio_wait
fio_verify_file "$(volume_path "$NEW")" 32
[ "$(export_node "$SID")" = "$(sqlite3 "$T/registry.db" "SELECT node_name FROM attachments WHERE server_id='$SID'")" ] ||
  fail "the host's export does not serve the registry's node"
grep -q "QMP client refused" "$T/compute1.log" && fail "the host refused a client: $(grep refused "$T/compute1.log")"
echo ok
