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
lv_nbd_disk vs-nbdfill-$$ pool2
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"; expect_status 202
[ "$(wait_swap "$SID" "$OLD")" = rolled-back ] || fail "swap: $(cat "$T/last.body")"
progress "$SID" "$OLD" | jq -r .error | grep -q "ended before it was ready" \
  || fail "error: $(progress "$SID" "$OLD")"
lv_nbd_expect_rolled_back
echo ok
