#!/usr/bin/env bash
# The qemu driver against a real QEMU (qemu-system-x86_64, paused with -S,
# TCG: no guest OS is needed) that owns the disk on a virtio-blk device.
# Guest writes are simulated with HMP qemu-io on the device, before, during
# (the mirror is rate-limited) and after the swap, through a second QMP
# monitor. QEMU's own drive-mirror moves the disk: afterwards the device's
# node is the new volume's, the old node is closed, and the new file holds
# every write the "guest" made. (share-rw=on lets the NBD export of the
# attach write beside the device.)
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
export VOLSWAP_SWAP_SPEED=$((4 << 20))
qemu_setup
OLD=$(new_volume "$ADMIN_TOKEN" 1); NEW=$(new_volume "$ADMIN_TOKEN" 1)
SID=$(new_server "$ADMIN_TOKEN")
qemu_start "$OLD"
NODE=$QEMU_NODE
attach "$ADMIN_TOKEN" "$SID" "$OLD"; expect_status 200
guest_write() {  # guest_write BYTE OFFSET_MIB LEN_MIB
  QMP_SOCK=$T/qmp2.sock qmp_cmd "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"qemu-io -d /machine/peripheral/disk0/virtio-backend \\\"write -P $1 ${2}M ${3}M\\\"\"}}" \
    | jq -e '(.return | test("rror")) == false' >/dev/null || fail "guest write $1 at ${2}M failed"
}
guest_write 0x5a 0 8
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
wait_phase "$SID" "$OLD" mirroring
i=0
while [ "$(progress "$SID" "$OLD" | jq -r .state)" = running ] && [ $i -lt 40 ]; do
  guest_write "0x$((60 + i % 30))" $((16 + i)) 1
  i=$((i + 1))
done
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
guest_write 0x7e 60 1
NEWNODE=$(reg_sql "SELECT node_name FROM attachments WHERE server_id='$SID'")
DEVNODE=$(QMP_SOCK=$T/qmp2.sock qmp_cmd '{"execute":"query-block"}' | jq -r '.return[] | select(.qdev=="/machine/peripheral/disk0/virtio-backend") | .inserted["node-name"]')
[ "$DEVNODE" = "$NEWNODE" ] || fail "the device uses $DEVNODE, the registry says $NEWNODE"
QMP_SOCK=$T/qmp2.sock qmp_cmd '{"execute":"query-named-block-nodes"}' | jq -e ".return | map(select(.[\"node-name\"]==\"$NODE\")) | length == 0" >/dev/null \
  || fail "old node $NODE still open"
F=$(volume_path "$NEW")
file_check "$F" 0x5a 8
for j in $(seq 0 $((i - 1))); do
  qemu-io -f raw -r "$F" -c "read -P 0x$((60 + j % 30)) $((16 + j))M 1M" | grep -q 'Pattern verification failed' \
    && fail "write $j during the swap is not on the new volume"
done
qemu-io -f raw -r "$F" -c "read -P 0x7e 60M 1M" | grep -q 'Pattern verification failed' && fail "write after the swap missing"
echo "ok ($i guest writes during the swap)"
