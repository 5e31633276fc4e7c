#!/usr/bin/env bash
# The same TLS monitor with qemu-storage-daemon as the host (the real
# peer: its chardev's tls-creds and tls-authz): volswap-api attaches and
# swaps a volume with data through it, and fio's writes during the swap
# are all on the new volume.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
command -v qemu-storage-daemon >/dev/null || skip "qemu-storage-daemon not installed"
export VOLSWAP_TEST_HOST_DAEMON=qsd VOLSWAP_TEST_DRIVER=volswapd VOLSWAP_TEST_QMP_TLS=1
swap_setup
grep -q '"qmp": "tcp:127.0.0.1:' "$T/api.json" || fail "config does not use the TCP monitor"
attached_pair 1 0
fio_start "$URI" 16
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
fio_wait
fio_verify_file "$(volume_path "$NEW")" 16
echo ok
