#!/usr/bin/env bash
# While a swap holds the host's only monitor session (qemu-storage-daemon
# serves one QMP client), os-services still finds the host up, through the
# swap's session, and the swap completes undisturbed.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
swap_setup
slow_swap_started mirroring
api "$ADMIN_TOKEN" GET /v2.1/os-services >/dev/null; expect_status 200
jq -e '.services[0].state == "up"' "$T/last.body" >/dev/null || fail "during the swap: $(cat "$T/last.body")"
[ "$(progress "$SID" "$OLD" | jq -r .state)" = running ] || fail "the swap was not running: $(cat "$T/last.body")"
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
file_check "$(volume_path "$NEW")" 0x5a 4
echo ok
