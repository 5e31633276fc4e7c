#!/usr/bin/python3
"""One connection with 256 requests in flight at once - writes of mixed
sizes (512 B to 256 KiB, some unaligned) interleaved with reads of regions
written earlier - all complete with the right data; then every region
reads back right with another 256 concurrent reads."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402
import nbd  # noqa: E402

SIZE = 128 << 20  # 256 slots of 512 KiB, each holding one region
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()
h = lib.connect(d, "vol0")
import random  # noqa: E402
rng = random.Random(9)
regions = []
slot = SIZE // 256
for i in range(256):
    n = rng.choice([512, 4096, 65536, 256 << 10, 1000, 12345])
    off = i * slot + rng.randrange(0, 4096)
    regions.append((off, lib.random_bytes(n, seed=500 + i)))
# First 64 written synchronously, to be read back while the rest are written.
for off, b in regions[:64]:
    h.pwrite(b, off)
reads = []
for i, (off, b) in enumerate(regions[64:]):
    h.aio_pwrite(nbd.Buffer.from_bytearray(bytearray(b)), off)
    if i < 64:
        roff, rb = regions[i]
        buf = nbd.Buffer(len(rb))
        h.aio_pread(buf, roff)
        reads.append((buf, rb))
lib.log("in flight: %d" % h.aio_in_flight())
while h.aio_in_flight() > 0:
    h.poll(-1)
for buf, rb in reads:
    lib.check(bytes(buf.to_bytearray()) == rb, "interleaved read wrong")
bufs = []
for off, b in regions:
    buf = nbd.Buffer(len(b))
    h.aio_pread(buf, off)
    bufs.append(buf)
while h.aio_in_flight() > 0:
    h.poll(-1)
for i, (buf, (off, b)) in enumerate(zip(bufs, regions)):
    lib.check(bytes(buf.to_bytearray()) == b, "region %d at %d wrong" % (i, off))
h.shutdown()
print("ok")
