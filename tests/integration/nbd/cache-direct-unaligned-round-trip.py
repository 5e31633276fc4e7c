#!/usr/bin/python3
"""A node opened with cache.direct=on (O_DIRECT) still serves unaligned
reads and writes exactly (the server must align them itself), and the data
reaches the backing file. Skipped where the temp filesystem refuses
O_DIRECT (tmpfs)."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

SIZE = 4 << 20
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
try:
    os.close(os.open(img, os.O_RDONLY | os.O_DIRECT))
except OSError:
    lib.skip("O_DIRECT not supported on %s" % tmp)
d = lib.Daemon(tmp)
d.blockdev("vol0", img, direct=True)
d.export("vol0", writable=True)
d.start()
h = lib.connect(d, "vol0")
model = bytearray(SIZE)
for i, (off, n) in enumerate([(1, 1), (511, 1026), (4095, 8194), (100000, 65537),
                              (SIZE - 3, 3), (2 << 20, 1 << 20)]):
    b = lib.random_bytes(n, seed=70 + i)
    h.pwrite(b, off)
    model[off:off + n] = b
lib.check(h.pread(SIZE, 0) == bytes(model), "contents differ")
lib.check(h.pread(777, 123) == bytes(model[123:900]), "unaligned read differs")
h.flush()
h.shutdown()
with open(img, "rb") as f:
    lib.check(f.read() == bytes(model), "backing file differs")
print("ok")
