#!/usr/bin/env bash
# A block pool volswap-api manages itself: the device a deleted volume
# leaves holds its tenant's data until the API has zeroed it, and the next
# volume claimed on the device reads zeroes only. The tenant's writes land
# at the start, the middle and the end of a loop device; the volume is
# deleted (202, gone); the device reads zeroes everywhere; the next volume
# of the pool gets the same device.
. "$VOLSWAP_SRC/tests/integration/api/lib.sh"
block_pool_setup
[ "$(reg_sql "SELECT path FROM volumes WHERE id='$A'")" = "$LOOP" ] || fail "volume not on $LOOP"
for mib in 0 512 1016; do
  head -c $((8 << 20)) /dev/zero | tr '\0' '\245' | dd of="$LOOP" bs=1M seek=$mib conv=notrunc,fsync status=none
done

api "$ADMIN_TOKEN" DELETE "/v3/$PID_DEMO/volumes/$A" >/dev/null
expect_status 202
api "$ADMIN_TOKEN" GET "/v3/$PID_DEMO/volumes/$A" >/dev/null
expect_status 404
for mib in 0 512 1016; do
  dd if="$LOOP" bs=1M skip=$mib count=8 status=none | cmp -s - <(head -c $((8 << 20)) /dev/zero) ||
    fail "the device still holds the deleted volume's data at $mib MiB"
done
grep -q "device $LOOP zeroed" "$T/api.log" || fail "no log line for the wipe"

api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"volume_type":"blockpool"}}' >/dev/null
expect_status 202
B=$(jq -r .volume.id "$T/last.body")
[ "$(reg_sql "SELECT path FROM volumes WHERE id='$B'")" = "$LOOP" ] || fail "the device was not handed back"
echo ok
