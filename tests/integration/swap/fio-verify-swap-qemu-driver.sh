#!/usr/bin/env bash
# A full swap under load through the qemu driver: a real QEMU owns the disk
# (virtio-blk) and exports it over NBD; fio writes 4k random blocks through
# that export with --verify while QEMU's drive-mirror copies and pivots.
# fio's read-back verifies, and so does a verify-only pass on the new file.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
qemu_setup
OLD=$(new_volume "$ADMIN_TOKEN" 1); NEW=$(new_volume "$ADMIN_TOKEN" 1)
SID=$(new_server "$ADMIN_TOKEN")
qemu_start "$OLD"
attach "$ADMIN_TOKEN" "$SID" "$OLD"; expect_status 200
URI=$(export_uri "$ADMIN_TOKEN" "$SID" "$OLD")
fio_start "$URI" 32
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body")"
kill -0 "$FIO_PID" 2>/dev/null || echo "note: fio ended before the swap did"
fio_wait
fio_verify_file "$(volume_path "$NEW")" 32
DEVNODE=$(QMP_SOCK=$T/qmp2.sock qmp_cmd '{"execute":"query-block"}' | jq -r '.return[0].inserted["node-name"]')
[ "$DEVNODE" = "$(reg_sql "SELECT node_name FROM attachments WHERE server_id='$SID'")" ] \
  || fail "the device uses $DEVNODE"
echo ok
