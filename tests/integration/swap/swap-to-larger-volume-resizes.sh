#!/usr/bin/env bash
# Swapping onto a larger volume (1 GiB -> 2 GiB): after the pivot the node
# is resized to the new volume's size (Nova's resize_to), with the data.
# volswapd grows the node under its export; QEMU refuses to resize a node
# an NBD export uses, so there the swap notes it in the event and grows the
# file, which the next open sees. Either way the file ends at 2 GiB.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
swap_setup
attached_pair 1 2 2
[ "$(nbdinfo --size "$URI")" = $((1 << 30)) ] || fail "size before: $(nbdinfo --size "$URI")"
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
if [ "${VOLSWAP_TEST_HOST_DAEMON:-qsd}" = volswapd ]; then
  NODE=$(reg_sql "SELECT node_name FROM attachments WHERE server_id='$SID'")
  SIZE=$(qmp_cmd '{"execute":"query-named-block-nodes"}' | jq -r ".return[] | select(.[\"node-name\"]==\"$NODE\") | .image[\"virtual-size\"]")
  [ "$SIZE" = $((2 << 30)) ] || fail "node size after: $SIZE"
  [ "$(nbdinfo --size "$URI")" = $((2 << 30)) ] || fail "export size after: $(nbdinfo --size "$URI")"
else
  # QEMU refuses to resize a node under an NBD export (permission conflict):
  # the swap still succeeds, says so in the event, and the file is grown
  reg_sql "SELECT details FROM instance_action_events WHERE event='compute_swap_volume'" \
    | grep -q '^resize:' || fail "no resize note in the event"
fi
[ "$(stat -c %s "$(volume_path "$NEW")")" = $((2 << 30)) ] || fail "new volume's file is not 2 GiB"
file_check "$(volume_path "$NEW")" 0x5a 2
echo ok
