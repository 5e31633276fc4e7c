#!/usr/bin/env bash
# volswap-api is killed mid-copy and the copy is pivoted while it is down
# (as if the API died just after its pivot). At the next start recovery
# finds no job and the disk on the new volume, so it finishes the swap: the
# attachment names the new volume, both volumes' states follow, and the
# definition names the new volume.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
export VOLSWAP_SWAP_SPEED=$(( 4 << 20 ))
lv_setup
DOM=vs-pivoted-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
OLD=$(new_volume "$ADMIN_TOKEN" 1)
NEW=$(new_volume "$ADMIN_TOKEN" 1)
OLD_PATH=$(volume_path "$OLD"); NEW_PATH=$(volume_path "$NEW")
qemu-io -f raw "$OLD_PATH" -c "write -P 0x5a 0 16M" >/dev/null || fail "cannot fill the old volume"
lv_attach "$SID" "$OLD" /dev/sdb; expect_status 200
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
wait_phase "$SID" "$OLD" mirroring
kill -9 "$API_PID"; wait "$API_PID" 2>/dev/null || true; API_PID=
pivoted=
for _ in $(seq 600); do
  virsh_lv blockjob "$DOM" sdb --pivot >/dev/null 2>&1 && { pivoted=1; break; }
  sleep 0.1
done
[ -n "$pivoted" ] || fail "the copy never became ready to pivot"
api_start
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body") $(grep swap: "$T/api.log" | tail -5)"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(volume_field "$NEW" status)" = in-use ] || fail "new volume is $(volume_field "$NEW" status)"
[ "$(volume_field "$OLD" status)" = available ] || fail "old volume is $(volume_field "$OLD" status)"
[ "$(lv_sources "$DOM" --inactive | grep '^sdb')" = "sdb $NEW_PATH" ] || fail "definition: $(lv_sources "$DOM" --inactive)"
file_check "$NEW_PATH" 0x5a 16
echo ok
