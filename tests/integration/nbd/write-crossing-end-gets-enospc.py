#!/usr/bin/python3
"""Writes that reach past the end of the export get ENOSPC (NBD spec: "The
server SHOULD return ENOSPC if it receives a write request including one or
more sectors beyond the size of the device"), for WRITE and WRITE_ZEROES,
crossing the end, starting at the end, and far beyond. The bytes before the
end are untouched, and the same connection keeps working."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402
import errno  # noqa: E402

SIZE = 1 << 20
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()
# qemu-storage-daemon 7.2 answers EINVAL here, against the spec's SHOULD
# (nbdkit answers ENOSPC); accept its answer only when checking against it.
WANT = (errno.ENOSPC, errno.EINVAL) if lib.impl() == "qsd" else errno.ENOSPC
h = lib.connect(d, "vol0")
h.pwrite(b"\x11" * 4096, SIZE - 4096)
for off, n in [(SIZE - 4096, 8192), (SIZE - 1, 2), (SIZE, 512), (SIZE + 4096, 4096),
               (1 << 40, 4096)]:
    lib.expect_nbd_error(WANT, h.pwrite, b"\x22" * n, off)
    lib.check(h.pread(4096, SIZE - 4096) == b"\x11" * 4096,
              "failed write at %d len %d changed data before the end" % (off, n))
    if h.can_zero():
        lib.expect_nbd_error(WANT, h.zero, n, off)
h.pwrite(b"ok", 0)
lib.check(h.pread(2, 0) == b"ok", "connection unusable after the errors")
h.shutdown()
lib.still_serves(d, "vol0", SIZE)
print("ok")
