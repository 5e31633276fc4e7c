#!/usr/bin/env bash
# A full swap driven over a TLS monitor: volswap-api reaches volswapd at
# tcp:127.0.0.1:PORT with its client certificate (the host requires TLS
# and authz by DN), and fio writes 4k random blocks (with --verify)
# through the attachment while the mirror runs and pivots; fio's
# read-back and a verify-only pass on the new volume's file check every
# write. The job's events reach the API over the same TLS session.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
[ -x "$VOLSWAP_BUILD/src/daemon/volswapd" ] || skip "volswapd not built"
export VOLSWAP_TEST_HOST_DAEMON=volswapd VOLSWAP_TEST_DRIVER=volswapd VOLSWAP_TEST_QMP_TLS=1
swap_setup
grep -q '"qmp": "tcp:127.0.0.1:' "$T/api.json" || fail "config does not use the TCP monitor"
attached_pair 1 0
fio_start "$URI" 32
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
kill -0 "$FIO_PID" 2>/dev/null || echo "note: fio ended before the swap did"
fio_wait
fio_verify_file "$(volume_path "$NEW")" 32
echo ok
