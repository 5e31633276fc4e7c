#!/usr/bin/python3
"""FLUSH, FUA and CACHE are advertised on a writable file export and work:
writes, zeroes and trims with FUA succeed and their data is in the backing
file when the reply arrives (before any flush or disconnect), FLUSH
succeeds with and without writes pending, and CACHE (aligned, unaligned,
whole export) succeeds and changes nothing."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402
import nbd  # noqa: E402

SIZE = 4 << 20
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()
h = lib.connect(d, "vol0")
lib.check(h.can_flush(), "FLUSH not advertised")
lib.check(h.can_fua(), "FUA not advertised")
lib.check(h.can_cache(), "CACHE not advertised")
h.flush()
data = lib.random_bytes(65536 + 3, seed=31)
h.pwrite(data, 12345, nbd.CMD_FLAG_FUA)
with open(img, "rb") as f:
    f.seek(12345)
    lib.check(f.read(len(data)) == data, "FUA write not in the backing file after its reply")
h.zero(4096, 16384, nbd.CMD_FLAG_FUA)
with open(img, "rb") as f:
    f.seek(16384)
    lib.check(f.read(4096) == bytes(4096), "FUA zero not in the backing file after its reply")
h.trim(65536, 1 << 20, nbd.CMD_FLAG_FUA)
h.flush()
before = h.pread(SIZE, 0)
h.cache(SIZE, 0)
h.cache(1000, 4097)
h.cache(1, SIZE - 1)
lib.check(h.pread(SIZE, 0) == before, "CACHE changed the data")
# Flush with writes in flight on the same connection.
for i in range(16):
    h.aio_pwrite(nbd.Buffer.from_bytearray(bytearray([i]) * 4096), (2 << 20) + i * 4096)
h.flush()
while h.aio_in_flight() > 0:
    h.poll(-1)
for i in range(16):
    lib.check(h.pread(4096, (2 << 20) + i * 4096) == bytes([i]) * 4096, "write %d lost" % i)
h.shutdown()
print("ok")
