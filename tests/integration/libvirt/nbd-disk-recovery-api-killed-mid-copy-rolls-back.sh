#!/usr/bin/env bash
# An NBD disk's swap, volswap-api killed (SIGKILL) while libvirt copies to
# the new volume's export at a slow rate. At the next start recovery asks
# libvirt: a copy job on the disk, the disk on the old export -- so it
# aborts the job without a pivot and rolls the swap back, and closes the
# new volume's export and node on the volswapd: the domain, live and
# defined, names the old export, the volswapd serves it alone, and a write
# through it lands in the old volume.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
LV_NBD=1 lv_setup
lv_nbd_disk vs-nbdkill-$$
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
wait_phase "$SID" "$OLD" mirroring
virsh_lv blockjob "$DOM" sdb --info 2>&1 | grep -q "Block Copy" || fail "no copy job: $(virsh_lv blockjob "$DOM" sdb --info 2>&1)"
[ "$(exports)" = "$(node_of "$NEW") $(node_of "$OLD")" ] || [ "$(exports)" = "$(node_of "$OLD") $(node_of "$NEW")" ] \
  || fail "volswapd exports during the copy: $(exports)"
kill -9 "$API_PID"; wait "$API_PID" 2>/dev/null || true; API_PID=
api_start
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "swap: $(cat "$T/last.body")"
grep -q "restarted before the pivot" "$T/api.log" || fail "log: $(tail -5 "$T/api.log")"
lv_nbd_expect_rolled_back
echo ok
