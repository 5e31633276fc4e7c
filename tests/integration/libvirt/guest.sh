# shellcheck shell=bash
# A real Linux guest for the libvirt tests (sourced after lib.sh): Debian's
# cloud kernel and a busybox initramfs, both from Debian packages fetched
# with apt-get download and unpacked at test time, cached under
# $GUEST_CACHE (kept across runs: the kernel is 27 MB). Booted under TCG.
#   guest_prepare          fetches and unpacks (once), builds the initramfs
#                          into $LV (skips the test when the packages
#                          cannot be had)
#   lv_guest_domain NAME   defines and starts a persistent domain booting
#                          them, serial console into $LV/NAME.console
#   guest_wait NAME TEXT [SECONDS]   waits for a console line holding TEXT
#
# The guest's /init (busybox sh): loads virtio-scsi and the ACPI power
# button, powers off cleanly when the button is pressed (what acpid and
# init do in a full distribution: the writer stops and its last write
# finishes first), waits for /dev/sda (the volume the test
# attaches), then:
#   - on a disk without header: writes the header "volswap-run1" in block 0
#     and then blocks 1, 2, 3 ... of 4 KiB each holding "seq %08d", one
#     dd with O_DIRECT per block, and prints "guest: ack N" after each
#     write the disk acknowledged, "guest: ioerr N" after a failed one;
#   - on a disk with that header (a later boot): prints "guest: boot 2",
#     and "guest: last N", the highest block holding a stamp (binary search).
GUEST_CACHE=${VOLSWAP_GUEST_CACHE:-/var/cache/volswap-tests/guest}
# virtio-scsi, the SCSI disk and the power button, in dependency order
# (the package has no modules.dep: depmod runs at install)
GUEST_MODULES="scsi_common scsi_mod sd_mod virtio_ring virtio virtio_pci_modern_dev
  virtio_pci_legacy_dev virtio_pci virtio_scsi button evdev"

guest_fetch() {
  local d=$GUEST_CACHE tmp kpkg kver
  [ -s "$d/vmlinuz" ] && [ -x "$d/busybox" ] && [ -d "$d/modules" ] && return 0
  mkdir -p "$d" || return 1
  tmp=$(mktemp -d "$d/fetch.XXXXXX")
  # apt's sandbox user cannot write into a root-only directory
  chmod 755 "$tmp"
  kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$kpkg" ] || { rm -rf "$tmp"; return 1; }
  (cd "$tmp" && apt-get download -q "$kpkg" busybox-static >/dev/null 2>&1) || { rm -rf "$tmp"; return 1; }
  dpkg-deb -x "$tmp"/linux-image-*.deb "$tmp/k" && dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/b" ||
    { rm -rf "$tmp"; return 1; }
  kver=$(ls "$tmp/k/lib/modules")
  mkdir -p "$tmp/modules"
  local m f
  for m in $GUEST_MODULES; do
    f=$(find "$tmp/k/lib/modules/$kver" -name "$m.ko" | head -n1)
    [ -n "$f" ] || { rm -rf "$tmp"; return 1; }
    cp "$f" "$tmp/modules/"
  done
  cp "$tmp/k/boot/vmlinuz-$kver" "$tmp/vmlinuz-new" && cp "$tmp/b/bin/busybox" "$tmp/busybox-new" || return 1
  rm -rf "$d/modules" && mv "$tmp/modules" "$d/modules"
  mv "$tmp/busybox-new" "$d/busybox" && mv "$tmp/vmlinuz-new" "$d/vmlinuz"
  rm -rf "$tmp"
}

guest_prepare() {
  # tests sharing the cache take turns filling it
  exec 8>/tmp/volswap-guest-cache.lock
  flock -w 300 8 || fail "another test held the guest cache lock too long"
  guest_fetch || skip "cannot fetch Debian's linux-image-cloud-amd64 and busybox-static (apt-get download)"
  flock -u 8
  local r=$LV/initramfs
  mkdir -p "$r/bin" "$r/lib/m" "$r/proc" "$r/sys" "$r/dev"
  cp "$GUEST_CACHE/busybox" "$r/bin/busybox"
  cp "$GUEST_CACHE"/modules/*.ko "$r/lib/m/"
  cat >"$r/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(echo $GUEST_MODULES); do insmod /lib/m/\$m.ko; done
INIT
  cat >>"$r/init" <<'INIT'
echo "guest: up"
# the ACPI power button: a clean power off, as acpid would
for e in /sys/class/input/event*; do
  if [ "$(cat "$e/device/name" 2>/dev/null)" = "Power Button" ]; then
    # as init would at shutdown: stop the writer before the devices go
    # away, so no write races the power off
    ( dd if="/dev/input/${e##*/}" of=/dev/null bs=24 count=1 2>/dev/null
      echo "guest: power button"
      touch /stop
      n=0; while [ ! -e /stopped ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
      sync; poweroff -f ) &
  fi
done
while [ ! -b /dev/sda ]; do sleep 0.1; done
stamp() { dd if=/dev/sda bs=4096 skip="$1" count=1 iflag=direct 2>/dev/null | head -c 12; }
if [ "$(stamp 0)" = volswap-run1 ]; then
  echo "guest: boot 2"
  # within the disk: a skip past its end makes dd read its way there
  lo=0 hi=$(($(cat /sys/block/sda/size) / 8))
  while [ $((hi - lo)) -gt 1 ]; do
    mid=$(((lo + hi) / 2))
    case "$(stamp $mid)" in "seq "*) lo=$mid ;; *) hi=$mid ;; esac
  done
  echo "guest: last $lo"
  while :; do sleep 1; done
fi
echo "guest: writing"
printf 'volswap-run1\n' | dd of=/dev/sda bs=4096 conv=sync,notrunc oflag=direct 2>/dev/null ||
  echo "guest: ioerr 0"
i=1
while [ $i -le 1000000 ] && [ ! -e /stop ]; do
  if printf 'seq %08d\n' $i | dd of=/dev/sda bs=4096 seek=$i conv=sync,notrunc oflag=direct 2>/dev/null
  then echo "guest: ack $i"; else echo "guest: ioerr $i"; fi
  i=$((i + 1))
done
touch /stopped
while :; do sleep 1; done
INIT
  chmod 755 "$r/init"
  (cd "$r" && find . | busybox_cpio) | gzip -1 >"$LV/initrd.img" || fail "cannot build the initramfs"
  cp "$GUEST_CACHE/vmlinuz" "$LV/vmlinuz"
  chmod 644 "$LV/initrd.img" "$LV/vmlinuz"
}

busybox_cpio() { "$GUEST_CACHE/busybox" cpio -o -H newc 2>/dev/null; }

lv_guest_domain() {  # lv_guest_domain NAME
  cat >"$LV/$1.xml" <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$LV/vmlinuz</kernel>
    <initrd>$LV/initrd.img</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet loglevel=3</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='scsi' model='virtio-scsi'/>
    <serial type='file'><source path='$LV/$1.console' append='on'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
XML
  virsh_lv define "$LV/$1.xml" >/dev/null || fail "define $1"
  LV_DOMAINS+=("$1")
  virsh_lv start "$1" >/dev/null || fail "start $1"
}

guest_wait() {  # guest_wait NAME TEXT [SECONDS]
  local n=$((${3:-300} * 10))
  for _ in $(seq "$n"); do
    grep -q -- "$2" "$LV/$1.console" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "the guest never printed '$2': $(tail -n 5 "$LV/$1.console" 2>/dev/null)"
}
