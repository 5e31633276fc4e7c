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
DOM=vs-nbdkill-$$
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
[ "$(exports)" = "$(node_of "$NEW") $(node_of "$OLD")" ] || [ "$(exports)" = "$(node_of "$OLD") $(node_of "$NEW")" ] \
  || fail "volswapd exports during the copy: $(exports)"
kill -9 "$API_PID"; wait "$API_PID" 2>/dev/null || true; API_PID=
api_start
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "swap: $(cat "$T/last.body")"
grep -q "restarted before the pivot" "$T/api.log" || fail "log: $(tail -5 "$T/api.log")"
HOST_PID= expect_rolled_back  # the volswapd checks follow, for its lv- exports
virsh_lv blockjob "$DOM" sdb --info 2>&1 | grep -q "Block Copy" && fail "a job is left: $(virsh_lv blockjob "$DOM" sdb --info 2>&1)"
[ "$(nbd_name)" = "$(node_of "$OLD")" ] || fail "live disk: $(virsh_lv dumpxml "$DOM" | grep -A3 "<disk")"
[ "$(nbd_name --inactive)" = "$(node_of "$OLD")" ] || fail "definition: $(virsh_lv dumpxml --inactive "$DOM" | grep -A3 "<disk")"
[ "$(exports)" = "$(node_of "$OLD")" ] || fail "volswapd exports after recovery: $(exports)"
[ "$(nodes)" = "$(node_of "$OLD")" ] || fail "volswapd nodes after recovery: $(nodes)"
nbd_fill "nbd+unix:///$(node_of "$OLD")?socket=$T/nbd.sock" 0x77 1
file_check "$OLD_PATH" 0x77 1
echo ok
