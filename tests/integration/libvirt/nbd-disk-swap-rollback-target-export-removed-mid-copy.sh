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
DOM=vs-nbdgone-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
OLD=$(new_volume "$ADMIN_TOKEN" 1)
NEW=$(new_volume "$ADMIN_TOKEN" 1)
OLD_PATH=$(volume_path "$OLD")
qemu-io -f raw "$OLD_PATH" -c "write -P 0x5a 0 16M" >/dev/null || fail "cannot fill the old volume"
lv_attach "$SID" "$OLD" /dev/sdb; expect_status 200
nbd_name() { virsh_lv dumpxml "$@" "$DOM" | grep -o "protocol='nbd' name='[^']*'" | sed "s/.*name='//; s/'//"; }
exports() { qmp_cmd '{"execute":"query-block-exports"}' | jq -r '[.return[]["node-name"]] | sort | join(" ")'; }
nodes() { qmp_cmd '{"execute":"query-named-block-nodes"}' | jq -r '[.return[]["node-name"] | select(startswith("vol-"))] | sort | join(" ")'; }
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
wait_phase "$SID" "$OLD" mirroring
virsh_lv blockjob "$DOM" sdb --info 2>&1 | grep -q "Block Copy" || fail "no copy job: $(virsh_lv blockjob "$DOM" sdb --info 2>&1)"
qmp_cmd "{\"execute\":\"block-export-del\",\"arguments\":{\"id\":\"lv-$(node_of "$NEW")\",\"mode\":\"hard\"}}" \
  | jq -e .return >/dev/null || fail "cannot delete the new volume's export"
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "swap: $(cat "$T/last.body")"
HOST_PID= expect_rolled_back  # the volswapd checks follow, for its lv- exports
[ "$(nbd_name)" = "$(node_of "$OLD")" ] || fail "live disk: $(virsh_lv dumpxml "$DOM" | grep -A3 "<disk")"
[ "$(nbd_name --inactive)" = "$(node_of "$OLD")" ] || fail "definition: $(virsh_lv dumpxml --inactive "$DOM" | grep -A3 "<disk")"
virsh_lv blockjob "$DOM" sdb --info 2>&1 | grep -q "Block Copy" && fail "a job is left: $(virsh_lv blockjob "$DOM" sdb --info 2>&1)"
[ "$(exports)" = "$(node_of "$OLD")" ] || fail "volswapd exports after the rollback: $(exports)"
[ "$(nodes)" = "$(node_of "$OLD")" ] || fail "volswapd nodes after the rollback: $(nodes)"
nbd_fill "nbd+unix:///$(node_of "$OLD")?socket=$T/nbd.sock" 0x77 1
file_check "$OLD_PATH" 0x77 1
echo ok
