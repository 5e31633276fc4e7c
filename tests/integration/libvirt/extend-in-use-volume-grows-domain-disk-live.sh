#!/usr/bin/env bash
# Extending a volume attached to a running libvirt domain (Cinder 3.42)
# grows the disk the guest sees, live, through virDomainBlockResize, as
# Nova's extend_volume does: the domain's disk and the file report the new
# size, the data stays, and the server records extend_volume with event
# compute_extend_volume Success.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
lv_setup
DOM=vs-extend-$$
lv_domain "$DOM"
SID=$(lv_server "$DOM")
VID=$(new_volume "$ADMIN_TOKEN" 1)
VPATH=$(volume_path "$VID")
qemu-io -f raw "$VPATH" -c "write -P 0x3c 0 2M" >/dev/null || fail "cannot fill the volume"
lv_attach "$SID" "$VID" /dev/sdb; expect_status 200
api "$ADMIN_TOKEN" POST "/v3/$PID_DEMO/volumes/$VID/action" '{"os-extend":{"new_size":3}}' \
  -H 'OpenStack-API-Version: volume 3.42' >/dev/null
expect_status 202
[ "$(virsh_lv domblkinfo "$DOM" sdb | awk '/Capacity/ {print $2}')" = $((3 << 30)) ] \
  || fail "capacity: $(virsh_lv domblkinfo "$DOM" sdb)"
[ "$(stat -c %s "$VPATH")" = $((3 << 30)) ] || fail "file size $(stat -c %s "$VPATH")"
[ "$(volume_field "$VID" size)" = 3 ] || fail "volume size $(volume_field "$VID" size)"
[ "$(volume_field "$VID" status)" = in-use ] || fail "volume status $(volume_field "$VID" status)"
[ "$(action_event_result "$SID" extend_volume compute_extend_volume)" = Success ] \
  || fail "event: $(cat "$T/last.body")"
file_check "$VPATH" 0x3c 2
echo ok
