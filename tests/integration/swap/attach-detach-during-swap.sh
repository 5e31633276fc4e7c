#!/usr/bin/env bash
# While a (rate-limited) swap holds the host's QMP session, another server
# attaches and detaches a volume on the same host. qemu-storage-daemon's
# monitor serves one client at a time, so the attach and detach borrow the
# swap's session: both answer at once (not after the swap), the new export
# serves data, and the swap still completes.
# The swap is held (held_speed) until the attach and detach have answered.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$(held_speed) HOST_MONITORS=1
swap_setup
slow_swap_started mirroring
V2=$(new_volume "$ADMIN_TOKEN" 1); S2=$(new_server "$ADMIN_TOKEN" srv2)
attach "$ADMIN_TOKEN" "$S2" "$V2"; expect_status 200
[ "$(progress "$SID" "$OLD" | jq -r .state)" = running ] || fail "the attach waited for the swap"
U2=$(export_uri "$ADMIN_TOKEN" "$S2" "$V2")
nbd_fill "$U2" 0x21 1
file_check "$(volume_path "$V2")" 0x21 1
api "$ADMIN_TOKEN" DELETE "/v2.1/servers/$S2/os-volume_attachments/$V2" >/dev/null
expect_status 202
[ "$(volume_field "$V2" status)" = available ] || fail "detached volume is $(volume_field "$V2" status)"
[ "$(progress "$SID" "$OLD" | jq -r .state)" = running ] || fail "the detach waited for the swap"
swap_unhold
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
file_check "$(volume_path "$NEW")" 0x5a 4
qmp_cmd '{"execute":"query-block-exports"}' | jq -e '.return | length == 1' >/dev/null \
  || fail "exports left: $(qmp_cmd '{"execute":"query-block-exports"}')"
echo ok
