#!/usr/bin/python3
"""An export without writable=on (and one on a read-only=on node) is
advertised read-only, and WRITE, WRITE_ZEROES and TRIM get EPERM (spec:
"SHOULD return EPERM if it receives a write or trim request on a read-only
export"); the data is unchanged, reads and the connection go on."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402
import nbd  # noqa: E402
import errno  # noqa: E402

SIZE = 1 << 20
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
lib.write_at(img, 4096, b"\x5e" * 4096)
img2 = lib.sparse_file(tmp, "disk2.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.blockdev("vol1", img2, read_only=True)
d.export("vol0", name="ro")
d.export("vol1", name="ro-node")
d.start()
# qemu-storage-daemon 7.2 answers EINVAL here, against the spec's SHOULD
# (nbdkit answers EPERM); accept its answer only when checking against it.
WANT = (errno.EPERM, errno.EINVAL) if lib.impl() == "qsd" else errno.EPERM
for name in ("ro", "ro-node"):
    h = lib.connect(d, name)
    lib.check(h.is_read_only(), "%s not advertised read-only" % name)
    lib.expect_nbd_error(WANT, h.pwrite, b"\x01" * 4096, 4096)
    lib.expect_nbd_error(WANT, h.pwrite, b"\x01", 4097, nbd.CMD_FLAG_FUA)
    lib.expect_nbd_error(WANT, h.zero, 4096, 4096)
    lib.expect_nbd_error(WANT, h.trim, 4096, 4096)
    want = b"\x5e" * 4096 if name == "ro" else b"\0" * 4096
    lib.check(h.pread(4096, 4096) == want, "%s: data changed" % name)
    h.flush()
    h.shutdown()
with open(img, "rb") as f:
    f.seek(4096)
    lib.check(f.read(4096) == b"\x5e" * 4096, "backing file changed")
print("ok")
