#!/usr/bin/env bash
# A real Linux guest (Debian's kernel, a busybox initramfs; TCG) writes
# 4 KiB stamps with O_DIRECT to its volume, one after another, all through
# a swap to a new volume (the copy held to 16 MiB/s, so it runs for
# seconds under the writes). The guest sees no I/O error; once the domain
# is shut down (os-stop: the guest powers off on the ACPI button), every
# write the guest was told had finished is on the new volume, and none
# made after the swap completed is on the old one. os-start boots the
# domain again, on the new volume: the guest finds its stamps there.
# Booting under TCG takes tens of seconds; the test takes a minute or two.
. "$VOLSWAP_SRC/tests/integration/libvirt/lib.sh"
. "$VOLSWAP_SRC/tests/integration/libvirt/guest.sh"
need_novaclient
export VOLSWAP_SWAP_SPEED=$((16 << 20))
LV_HOST_EXTRA='{"shutdown_timeout": 60}' lv_setup
guest_prepare
DOM=vs-guest-$$
lv_guest_domain "$DOM"
SID=$(lv_server "$DOM")
OLD=$(new_volume "$ADMIN_TOKEN" 1)
NEW=$(new_volume "$ADMIN_TOKEN" 1)
OLD_PATH=$(volume_path "$OLD"); NEW_PATH=$(volume_path "$NEW")
# data for the copy to carry, away from the blocks the guest writes
qemu-io -f raw "$OLD_PATH" -c "write -P 0x11 512M 64M" >/dev/null || fail "cannot fill the old volume"
guest_wait "$DOM" "guest: up" 300
lv_attach "$SID" "$OLD" /dev/sdb; expect_status 200
guest_wait "$DOM" "guest: ack 10" 120
acks() { grep -o 'guest: ack [0-9]*' "$LV/$DOM.console" | tail -n1 | awk '{print $3}'; }
BEFORE=$(acks)
password_env admin demo
nova volume-update "$SID" "$OLD" "$NEW" 2>"$T/nova.err" || fail "volume-update: $(cat "$T/nova.err")"
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap: $(cat "$T/last.body") $(tail -5 "$T/api.log")"
AFTER=$(acks)
[ "$AFTER" -gt "$BEFORE" ] || fail "the guest wrote nothing during the swap ($BEFORE, $AFTER)"
guest_wait "$DOM" "guest: ack $((AFTER + 20))" 120
nova stop "$SID" >/dev/null 2>"$T/nova.err" || fail "nova stop: $(cat "$T/nova.err")"
[ "$(wait_server_idle "$SID")" = SHUTOFF ] || fail "after stop: $(cat "$T/last.body")"
grep -q "guest: power button" "$LV/$DOM.console" || fail "the guest did not power off by itself"
grep -q "did not power off" "$T/api.log" && fail "the shutdown was forced"
LAST=$(acks)
if grep -q "guest: ioerr" "$LV/$DOM.console"; then
  grep -B3 -A3 "guest: ioerr" "$LV/$DOM.console" | head -n 20 >&2
  fail "the guest saw I/O errors (acks: $BEFORE before the swap, $AFTER when it completed, $LAST at shutdown)"
fi
echo "guest acks: $BEFORE before the swap, $AFTER when it completed, $LAST at shutdown"
# every acknowledged stamp on the new volume; none after the swap on the old
/usr/bin/python3 - "$NEW_PATH" "$OLD_PATH" "$LAST" "$AFTER" <<'PY' || fail "stamp check"
import sys
new, old, last, after = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def stamp(f, i):
    f.seek(i * 4096)
    return f.read(12)
with open(new, 'rb') as n, open(old, 'rb') as o:
    assert stamp(n, 0) == b'volswap-run1', stamp(n, 0)
    for i in range(1, last + 1):
        want = b'seq %08d' % i
        if stamp(n, i) != want:
            sys.exit('block %d on the new volume: %r, not %r' % (i, stamp(n, i), want))
    for i in range(after + 2, last + 1):
        if stamp(o, i).startswith(b'seq'):
            sys.exit('block %d, written after the swap, is on the old volume' % i)
PY
nova start "$SID" >/dev/null 2>"$T/nova.err" || fail "nova start: $(cat "$T/nova.err")"
[ "$(wait_server_idle "$SID")" = ACTIVE ] || fail "after start: $(cat "$T/last.body")"
[ "$(lv_sources "$DOM" | grep '^sdb')" = "sdb $NEW_PATH" ] || fail "booted on: $(lv_sources "$DOM")"
guest_wait "$DOM" "guest: boot 2" 300
guest_wait "$DOM" "guest: last " 300
FOUND=$(grep -o 'guest: last [0-9]*' "$LV/$DOM.console" | tail -n1 | awk '{print $3}')
[ "$FOUND" -ge "$LAST" ] || fail "the guest found stamps up to $FOUND, acknowledged $LAST"
echo ok
