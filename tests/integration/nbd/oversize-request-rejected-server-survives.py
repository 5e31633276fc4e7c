#!/usr/bin/python3
"""Payloads are capped at 32 MiB: a 32 MiB read succeeds, a read of 32 MiB
+ 1 gets EINVAL or EOVERFLOW (the spec allows either) and the connection
goes on; a 32 MiB + 4 KiB write is refused (an error reply, or - as the spec
permits for a payload the server will not buffer - a dropped connection),
it changes nothing, and the daemon keeps serving new clients."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402
import nbd  # noqa: E402
import errno  # noqa: E402

CAP = 32 << 20
SIZE = 64 << 20
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()
h = lib.connect(d, "vol0")
mx = h.get_block_size(nbd.SIZE_MAXIMUM)
lib.check(0 < mx <= CAP, "advertised maximum payload %d" % mx)
lib.check(len(h.pread(CAP, 0)) == CAP, "32 MiB read failed")
lib.expect_nbd_error((errno.EINVAL, errno.EOVERFLOW), h.pread, CAP + 1, 0)
lib.check(h.pread(4, 0) == b"\0" * 4, "connection unusable after oversize read")
try:
    h.pwrite(b"\xab" * (CAP + 4096), 0)
    lib.fail("oversize write succeeded")
except nbd.Error as e:
    lib.log("oversize write refused: %s" % e.string)
h2 = lib.connect(d, "vol0")
lib.check(h2.pread(4096, 0) == b"\0" * 4096,
          "oversize write changed the data")
h2.shutdown()
lib.still_serves(d, "vol0", SIZE)
print("ok")
