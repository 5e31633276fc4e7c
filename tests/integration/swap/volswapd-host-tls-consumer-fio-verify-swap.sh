#!/usr/bin/env bash
# A full swap under a consumer that reaches its volume over TLS: the host
# (volswapd) requires TLS on its NBD server, the attachment's URI is
# nbds+unix://, and fio writes 4k random blocks through it (with --verify)
# while the mirror runs and pivots. The consumer's connection goes on over
# the same TLS session after the pivot; fio's read-back through it verifies,
# and so does a verify-only pass on the new volume's file.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
[ -x "$VOLSWAP_BUILD/src/daemon/volswapd" ] || skip "volswapd not built"
export VOLSWAP_TEST_HOST_DAEMON=volswapd VOLSWAP_TEST_DRIVER=volswapd VOLSWAP_TEST_TLS=1
swap_setup
attached_pair 1 0
case "$URI" in nbds+unix://*) ;; *) fail "attachment URI $URI is not TLS" ;; esac
# fio's nbd engine takes no certificate; the host's credentials have
# verify-peer off (tests/integration/api/lib.sh), so the session is
# encrypted without one.
HOME=$T fio_start "$URI" 32
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
kill -0 "$FIO_PID" 2>/dev/null || echo "note: fio ended before the swap did"
fio_wait
fio_verify_file "$(volume_path "$NEW")" 32
echo ok
