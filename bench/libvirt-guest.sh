# shellcheck shell=bash
# bench/libvirt's guest (sourced): Debian's cloud kernel and a busybox
# initramfs whose /init starts bench/libvirt-writer on the first SCSI disk.
# The kernel, busybox and the few modules come from Debian packages
# (apt-get download), unpacked once into $BGUEST_CACHE; the same files
# serve the integration tests' guest, so a machine that ran them has them.
#   bguest_fetch                 fills the cache (1 on failure)
#   bguest_build DIR WRITER GAP_US BLOCKS
#                                DIR/vmlinuz and DIR/initrd.img, the guest's
#                                /init running WRITER on /dev/sda
# the integration tests' guest_fetch fills the cache both use
# shellcheck source=../tests/integration/libvirt/guest.sh
. "$SRC/tests/integration/libvirt/guest.sh"
BGUEST_CACHE=$GUEST_CACHE
# virtio-scsi and the SCSI disk, in dependency order (no modules.dep)
BGUEST_MODULES="scsi_common scsi_mod sd_mod virtio_ring virtio virtio_pci_modern_dev
  virtio_pci_legacy_dev virtio_pci virtio_scsi"

bguest_fetch() { guest_fetch; }

bguest_build() {  # bguest_build DIR WRITER GAP_US BLOCKS
  local r=$1/initramfs m
  mkdir -p "$r/bin" "$r/lib/m" "$r/proc" "$r/sys" "$r/dev"
  cp "$BGUEST_CACHE/busybox" "$r/bin/busybox"
  cp "$2" "$r/bin/writer"
  for m in $BGUEST_MODULES; do cp "$BGUEST_CACHE/modules/$m.ko" "$r/lib/m/"; done
  cat >"$r/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(echo $BGUEST_MODULES); do insmod /lib/m/\$m.ko; done
echo "guest: up"
while [ ! -b /dev/sda ]; do sleep 0.1; done
echo "guest: writing"
exec /bin/writer /dev/sda $3 $4
INIT
  chmod 755 "$r/init"
  (cd "$r" && find . | "$BGUEST_CACHE/busybox" cpio -o -H newc 2>/dev/null) | gzip -1 >"$1/initrd.img"
  cp "$BGUEST_CACHE/vmlinuz" "$1/vmlinuz"
  chmod 644 "$1/initrd.img" "$1/vmlinuz"
}
