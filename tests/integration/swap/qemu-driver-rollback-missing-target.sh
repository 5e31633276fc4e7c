#!/usr/bin/env bash
# The qemu driver when QEMU's drive-mirror cannot open the target (the new
# volume's file is gone): the swap rolls back, the guest's virtio-blk
# device stays on the old node, and a guest write still lands in the old file.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
qemu_setup
OLD=$(new_volume "$ADMIN_TOKEN" 1); NEW=$(new_volume "$ADMIN_TOKEN" 1)
SID=$(new_server "$ADMIN_TOKEN")
qemu_start "$OLD"
attach "$ADMIN_TOKEN" "$SID" "$OLD"; expect_status 200
URI=$(export_uri "$ADMIN_TOKEN" "$SID" "$OLD")
rm -f "$(volume_path "$NEW")"
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "not rolled back: $(cat "$T/last.body")"
progress "$SID" "$OLD" | jq -e '.error | test("drive-mirror")' >/dev/null || fail "error: $(progress "$SID" "$OLD")"
DEVNODE=$(QMP_SOCK=$T/qmp2.sock qmp_cmd '{"execute":"query-block"}' | jq -r '.return[0].inserted["node-name"]')
[ "$DEVNODE" = "$QEMU_NODE" ] || fail "the device moved to $DEVNODE"
QMP_SOCK=$T/qmp2.sock qmp_cmd '{"execute":"human-monitor-command","arguments":{"command-line":"qemu-io -d /machine/peripheral/disk0/virtio-backend \"write -P 0x3c 0 1M\""}}' \
  | jq -e '(.return | test("rror")) == false' >/dev/null || fail "guest write"
file_check "$(volume_path "$OLD")" 0x3c 1
expect_rolled_back
echo ok
