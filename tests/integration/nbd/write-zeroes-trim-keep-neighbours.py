#!/usr/bin/python3
"""WRITE_ZEROES and TRIM on a discard=unmap node: zeroed ranges (aligned
and unaligned, with and without NO_HOLE) read back as zeroes, bytes either
side of every zeroed or trimmed range are untouched, NO_HOLE leaves the
range provisioned in the backing file (spec: the area "MUST be fully
provisioned"), and FAST_ZERO either zeroes or fails with ENOTSUP without
other effect."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402
import nbd  # noqa: E402

SIZE = 8 << 20
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img, discard=True)
d.export("vol0", writable=True)
d.start()
h = lib.connect(d, "vol0")
lib.check(h.can_zero() and h.can_trim(), "WRITE_ZEROES/TRIM not advertised")
model = bytearray(lib.random_bytes(4 << 20, seed=21)) + bytearray(SIZE - (4 << 20))
h.pwrite(bytes(model[:4 << 20]), 0)


def zero(off, n, flags=0):
    h.zero(n, off, flags)
    model[off:off + n] = bytes(n)


def verify(what):
    lib.check(h.pread(SIZE, 0) == bytes(model), "contents wrong after " + what)


zero(65536, 4096)
zero(3000, 5001)
zero(1 << 20, 1 << 20)
verify("WRITE_ZEROES")
zero(300001, 7777, nbd.CMD_FLAG_NO_HOLE)
verify("WRITE_ZEROES NO_HOLE")
# NO_HOLE over a hole: the range must become provisioned.
before = os.stat(img).st_blocks
zero(6 << 20, 1 << 20, nbd.CMD_FLAG_NO_HOLE)
h.flush()
after = os.stat(img).st_blocks
lib.check(after - before >= (1 << 20) // 512,
          "NO_HOLE zeroing of 1 MiB allocated only %d sectors" % (after - before))
verify("WRITE_ZEROES NO_HOLE over a hole")
# TRIM: contents of the trimmed range are unspecified, its neighbours not.
for off, n in [(2 << 20, 512 << 10), ((2 << 20) + (700 << 10) + 1, 4095)]:
    h.trim(n, off)
    got = h.pread(SIZE, 0)
    lib.check(got[:off] == bytes(model[:off]) and got[off + n:] == bytes(model[off + n:]),
              "TRIM %d+%d changed bytes outside its range" % (off, n))
    model[off:off + n] = got[off:off + n]
if h.can_fast_zero():
    try:
        zero(3 << 20, 256 << 10, nbd.CMD_FLAG_FAST_ZERO)
    except nbd.Error as e:
        lib.check(e.errno == "ENOTSUP", "FAST_ZERO failed with %s, not ENOTSUP" % e.errno)
        h.zero(256 << 10, 3 << 20)
    verify("WRITE_ZEROES FAST_ZERO")
h.shutdown()
with open(img, "rb") as f:
    lib.check(f.read() == bytes(model), "backing file differs")
print("ok")
