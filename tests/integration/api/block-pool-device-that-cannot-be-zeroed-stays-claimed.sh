#!/usr/bin/env bash
# A block pool volswap-api manages itself: a device the API cannot zero
# (read-only here) is not handed back. The delete fails (500), the volume
# is error_deleting and keeps the device, so the next volume finds no free
# device; once the device can be written, a delete again zeroes it and
# hands it back.
. "$VOLSWAP_SRC/tests/integration/api/lib.sh"
block_pool_setup
head -c $((4 << 20)) /dev/zero | tr '\0' '\245' | dd of="$LOOP" bs=1M conv=notrunc,fsync status=none

blockdev --setro "$LOOP"
api "$ADMIN_TOKEN" DELETE "/v3/$PID_DEMO/volumes/$A" >/dev/null
[ "$STATUS" -ge 500 ] || fail "a delete that could not zero the device answered $STATUS"
[ "$(reg_sql "SELECT status FROM volumes WHERE id='$A'")" = error_deleting ] ||
  fail "volume $(reg_sql "SELECT status FROM volumes WHERE id='$A'")"
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"volume_type":"blockpool"}}' >/dev/null
[ "$STATUS" -ge 400 ] || fail "a volume claimed the device not zeroed: $(cat "$T/last.body")"

blockdev --setrw "$LOOP"
api "$ADMIN_TOKEN" DELETE "/v3/$PID_DEMO/volumes/$A" >/dev/null
expect_status 202
cmp -s -n $((4 << 20)) "$LOOP" /dev/zero || fail "the device still holds the deleted volume's data"
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"volume_type":"blockpool"}}' >/dev/null
expect_status 202
B=$(jq -r .volume.id "$T/last.body")
[ "$(reg_sql "SELECT path FROM volumes WHERE id='$B'")" = "$LOOP" ] || fail "the device was not handed back"
echo ok
