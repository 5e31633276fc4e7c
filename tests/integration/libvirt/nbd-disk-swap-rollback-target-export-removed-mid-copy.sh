#!/usr/bin/env bash
# An NBD disk's swap rolls back when its target goes away mid-copy: the
# copy to the new volume's export runs slowly, and the export is deleted
# on the volswapd (hard: QEMU's connection to it is cut) while the copy
# runs. The block copy fails, and the swap rolls back: the domain, live
# and defined, still names the old export, the volswapd is left serving
# the old volume alone (the new volume's node closed too), and a write
# through the old export lands in the old volume.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
export VOLSWAP_SWAP_SPEED=$(slow_speed)
LV_NBD=1 lv_setup
lv_nbd_disk vs-nbdgone-$$
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
wait_phase "$SID" "$OLD" mirroring
virsh_lv blockjob "$DOM" sdb --info 2>&1 | grep -q "Block Copy" || fail "no copy job: $(virsh_lv blockjob "$DOM" sdb --info 2>&1)"
qmp_cmd "{\"execute\":\"block-export-del\",\"arguments\":{\"id\":\"lv-$(node_of "$NEW")\",\"mode\":\"hard\"}}" \
  | jq -e .return >/dev/null || fail "cannot delete the new volume's export"
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "swap: $(cat "$T/last.body")"
lv_nbd_expect_rolled_back
echo ok
