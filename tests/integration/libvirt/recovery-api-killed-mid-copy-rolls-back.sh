#!/usr/bin/env bash
# volswap-api is killed (SIGKILL) while libvirt copies the disk at a slow
# rate (the progress endpoint showing the job's figures meanwhile). At the
# next start recovery asks libvirt: a copy job on the disk, the
# disk on the old volume -- so it aborts the job without a pivot and rolls
# the swap back; nothing is left running, the definition names the old
# volume.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
lv_setup
DOM=vs-kill-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
OLD=$(new_volume "$ADMIN_TOKEN" 1)
NEW=$(new_volume "$ADMIN_TOKEN" 1)
OLD_PATH=$(volume_path "$OLD")
qemu-io -f raw "$OLD_PATH" -c "write -P 0x5a 0 16M" >/dev/null || fail "cannot fill the old volume"
lv_attach "$SID" "$OLD" /dev/sdb; expect_status 200
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
wait_phase "$SID" "$OLD" mirroring
virsh_lv blockjob "$DOM" sdb --info 2>&1 | grep -q "Block Copy" || fail "no copy job: $(virsh_lv blockjob "$DOM" sdb --info 2>&1)"
# the progress endpoint shows libvirt's figures for the job
for _ in $(seq 100); do
  [ "$(progress "$SID" "$OLD" | jq -r '.bytes_done > 0 and .bytes_total >= .bytes_done')" = true ] && break
  sleep 0.1
done
[ "$(progress "$SID" "$OLD" | jq -r '.bytes_done > 0 and .bytes_total >= .bytes_done')" = true ] \
  || fail "progress: $(progress "$SID" "$OLD")"
kill -9 "$API_PID"; wait "$API_PID" 2>/dev/null || true; API_PID=
api_start
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "swap: $(cat "$T/last.body")"
grep -q "restarted before the pivot" "$T/api.log" || fail "log: $(tail -5 "$T/api.log")"
expect_rolled_back
virsh_lv blockjob "$DOM" sdb --info 2>&1 | grep -q "Block Copy" && fail "a job is left: $(virsh_lv blockjob "$DOM" sdb --info 2>&1)"
[ "$(lv_sources "$DOM" | grep '^sdb')" = "sdb $OLD_PATH" ] || fail "live: $(lv_sources "$DOM")"
[ "$(lv_sources "$DOM" --inactive | grep '^sdb')" = "sdb $OLD_PATH" ] || fail "definition: $(lv_sources "$DOM" --inactive)"
echo ok
