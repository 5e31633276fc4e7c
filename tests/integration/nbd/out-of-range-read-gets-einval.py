#!/usr/bin/python3
"""READ, TRIM, CACHE and BLOCK_STATUS past the end of the export get EINVAL
(the spec's error for an out-of-range request other than a write), with
structured replies and with simple replies, and the connection keeps
working after each one."""
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
ranges = [(SIZE - 512, 1024), (SIZE, 1), (SIZE + 4096, 512), ((1 << 63) - 512, 512)]
for structured in (True, False):
    h = lib.connect(d, "vol0", structured=structured)
    for off, n in ranges:
        lib.expect_nbd_error(errno.EINVAL, h.pread, n, off)
        lib.check(h.pread(512, SIZE - 512) == b"\0" * 512, "read after error failed")
        if h.can_trim():
            lib.expect_nbd_error(errno.EINVAL, h.trim, n, off)
        if h.can_cache():
            lib.expect_nbd_error(errno.EINVAL, h.cache, n, off)
        if structured and h.can_meta_context("base:allocation"):
            lib.expect_nbd_error(errno.EINVAL, h.block_status, n, off, lambda *a: 0)
    h.shutdown()
lib.still_serves(d, "vol0", SIZE)
print("ok")
