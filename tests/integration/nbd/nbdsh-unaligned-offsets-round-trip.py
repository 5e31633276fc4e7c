#!/usr/bin/python3
"""Writes at unaligned offsets and lengths (1 byte, odd sizes, spans of
sector and page boundaries, a 1 MiB+1 write) read back exactly through the
export, neighbouring bytes are untouched, and after a flush the backing file
equals the client's model of the disk."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

SIZE = 4 << 20
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()
h = lib.connect(d, "vol0")
model = bytearray(SIZE)
cases = [(1, 1), (511, 2), (4095, 3), (4097, 5000), (65535, 65537),
         (123457, 1 << 20 | 1), (3 << 20, 777), (SIZE - 4097, 4096)]
for i, (off, n) in enumerate(cases):
    data = lib.random_bytes(n, seed=100 + i)
    h.pwrite(data, off)
    model[off:off + n] = data
for off, n in cases:
    got = h.pread(n, off)
    lib.check(got == bytes(model[off:off + n]), "read at %d len %d differs" % (off, n))
    # One byte either side, and odd-length reads straddling the edges.
    lo, hi = max(0, off - 3), min(SIZE, off + n + 3)
    lib.check(h.pread(hi - lo, lo) == bytes(model[lo:hi]),
              "bytes around %d..%d differ" % (off, off + n))
h.flush()
h.shutdown()
with open(img, "rb") as f:
    lib.check(f.read() == bytes(model), "backing file differs from the written data")
print("ok: %d unaligned writes round-tripped" % len(cases))
