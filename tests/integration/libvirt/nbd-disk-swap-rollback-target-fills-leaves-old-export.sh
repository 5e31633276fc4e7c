#!/usr/bin/env bash
# An NBD disk's swap rolls back when its target fills: on a libvirt host
# whose volswapd serves the volumes, the domain's disk is a network disk on
# the old volume's export, and the new volume lives on a file system too
# small for the data (a 2 MiB tmpfs), so QEMU's block copy to the new
# volume's export fails with ENOSPC partway. The swap rolls back: the
# domain, live and defined, still names the old export, the volswapd
# serves only that export (the new volume's export and node are closed),
# the volume states are back, and a write through the old export lands in
# the old volume.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
LV_NBD=1 lv_setup
mkdir -p "$T/pool2"
mount -t tmpfs -o size=2M tmpfs "$T/pool2" 2>/dev/null || skip "cannot mount a tmpfs here"
trap 'umount -l "$T/pool2" 2>/dev/null; lv_cleanup' EXIT
DOM=vs-nbdfill-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
OLD=$(new_volume "$ADMIN_TOKEN" 1)
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"volume_type":"pool2"}}' >/dev/null
expect_status 202; NEW=$(jq -r .volume.id "$T/last.body")
OLD_PATH=$(volume_path "$OLD")
qemu-io -f raw "$OLD_PATH" -c "write -P 0x5a 0 16M" >/dev/null || fail "cannot fill the old volume"
lv_attach "$SID" "$OLD" /dev/sdb; expect_status 200
nbd_name() { virsh_lv dumpxml "$@" "$DOM" | grep -o "protocol='nbd' name='[^']*'" | sed "s/.*name='//; s/'//"; }
exports() { qmp_cmd '{"execute":"query-block-exports"}' | jq -r '[.return[]["node-name"]] | sort | join(" ")'; }
nodes() { qmp_cmd '{"execute":"query-named-block-nodes"}' | jq -r '[.return[]["node-name"] | select(startswith("vol-"))] | sort | join(" ")'; }
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "swap: $(cat "$T/last.body")"
progress "$SID" "$OLD" | jq -r .error | grep -q "ended before it was ready" \
  || fail "error: $(progress "$SID" "$OLD")"
HOST_PID= expect_rolled_back  # the volswapd checks follow, for its lv- exports
[ "$(nbd_name)" = "$(node_of "$OLD")" ] || fail "live disk: $(virsh_lv dumpxml "$DOM" | grep -A3 "<disk")"
[ "$(nbd_name --inactive)" = "$(node_of "$OLD")" ] || fail "definition: $(virsh_lv dumpxml --inactive "$DOM" | grep -A3 "<disk")"
virsh_lv blockjob "$DOM" sdb --info 2>&1 | grep -q "Block Copy" && fail "a job is left: $(virsh_lv blockjob "$DOM" sdb --info 2>&1)"
[ "$(exports)" = "$(node_of "$OLD")" ] || fail "volswapd exports after the rollback: $(exports)"
[ "$(nodes)" = "$(node_of "$OLD")" ] || fail "volswapd nodes after the rollback: $(nodes)"
# the guest's disk still writes into the old volume
nbd_fill "nbd+unix:///$(node_of "$OLD")?socket=$T/nbd.sock" 0x77 1
file_check "$OLD_PATH" 0x77 1
echo ok
