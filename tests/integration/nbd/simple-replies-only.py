#!/usr/bin/python3
"""A client that does not ask for structured replies (like the Linux kernel
client) gets simple replies for everything: reads small and large (up to
32 MiB), writes, flush, an error reply for an out-of-range read after
which the stream stays in sync, and no metadata context."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402
import nbd  # noqa: E402
import errno  # noqa: E402

SIZE = 40 << 20
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()
h = lib.connect(d, "vol0", structured=False)
lib.check(not h.get_structured_replies_negotiated(), "structured replies were negotiated")
lib.check(not h.can_meta_context("base:allocation"), "meta context without structured replies")
big = lib.random_bytes(32 << 20, seed=11)
h.pwrite(big, 4096)
lib.check(h.pread(len(big), 4096) == big, "32 MiB read back differs")
h.pwrite(b"abc", 7)
lib.check(h.pread(10, 5) == b"\0\0abc\0\0\0\0\0", "small unaligned read differs")
lib.expect_nbd_error(errno.EINVAL, h.pread, 4096, SIZE)
lib.check(h.pread(3, 7) == b"abc", "stream out of sync after an error reply")
h.flush()
# Many requests in flight, answered with simple replies in any order.
bufs = [nbd.Buffer(4096) for _ in range(32)]
for i, b in enumerate(bufs):
    h.aio_pread(b, 4096 + i * 4096)
while h.aio_in_flight() > 0:
    h.poll(-1)
for i, b in enumerate(bufs):
    lib.check(b.to_bytearray() == big[i * 4096:(i + 1) * 4096], "aio read %d differs" % i)
h.shutdown()
print("ok")
