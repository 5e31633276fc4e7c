#!/usr/bin/env bash
# os-migrate_volume of an attached volume from a block pool (a loop
# device) to a directory pool: the volume's data moves, and the device it
# leaves holds none of it by the time the migration has ended; the next
# volume of the block pool gets the device and reads zeroes. (The device
# counts as claimed until the migration ends, which is after it is
# zeroed.)
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
[ "$(id -u)" = 0 ] || skip "loop devices need root"
truncate -s 1G "$T/dev.img"
LOOP=$(losetup -f --show "$T/dev.img" 2>/dev/null) || skip "losetup cannot attach a loop device here"
trap 'rc=$?; losetup -d "$LOOP" 2>/dev/null; (exit $rc); cleanup' EXIT
export VOLSWAP_TEST_BLOCK_DEVICE=$LOOP
swap_setup
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"volume_type":"blockpool"}}' >/dev/null
expect_status 202
VID=$(jq -r .volume.id "$T/last.body")
[ "$(volume_path "$VID")" = "$LOOP" ] || fail "volume on $(volume_path "$VID")"
SID=$(new_server "$ADMIN_TOKEN")
attach "$ADMIN_TOKEN" "$SID" "$VID"; expect_status 200
URI=$(export_uri "$ADMIN_TOKEN" "$SID" "$VID")
nbd_fill "$URI" 0x4d 4
file_check "$LOOP" 0x4d 4
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$VID/action" '{"os-migrate_volume":{"host":"host1@lvm#pool2"}}' >/dev/null
expect_status 202
[ "$(wait_swap "$SID" "$VID")" = completed ] || fail "migration: $(cat "$T/last.body")"
NEWPATH=$(volume_path "$VID")
case "$NEWPATH" in "$T/pool2/"*) ;; *) fail "volume still at $NEWPATH";; esac
file_check "$NEWPATH" 0x4d 4
cmp -s -n $((4 << 20)) "$LOOP" /dev/zero || fail "the device the volume left holds its data"
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"volume_type":"blockpool"}}' >/dev/null
expect_status 202
[ "$(volume_path "$(jq -r .volume.id "$T/last.body")")" = "$LOOP" ] || fail "the device was not handed back"
echo ok
