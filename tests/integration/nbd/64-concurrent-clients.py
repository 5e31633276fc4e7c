#!/usr/bin/python3
"""64 clients connected at once, each with 8 writes in flight to its own
region, then each reads the region of another client: every byte matches,
and after all disconnect the backing file holds all 64 regions."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402
import nbd  # noqa: E402

N, REGION, CHUNK = 64, 256 << 10, 32 << 10
SIZE = N * REGION
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()
handles = [lib.connect(d, "vol0") for _ in range(N)]
lib.check(handles[0].can_multi_conn(), "CAN_MULTI_CONN not advertised")
data = [lib.random_bytes(REGION, seed=1000 + i) for i in range(N)]


def drain(hs):
    for h in hs:
        while h.aio_in_flight() > 0:
            h.poll(-1)


# Every client submits all its writes before any completion is awaited, so
# the server has 64 connections with requests in flight at the same time.
for i, h in enumerate(handles):
    for c in range(0, REGION, CHUNK):
        h.aio_pwrite(nbd.Buffer.from_bytearray(bytearray(data[i][c:c + CHUNK])),
                     i * REGION + c)
drain(handles)
for h in handles:
    h.flush()
bufs = []
for i, h in enumerate(handles):
    j = (i + 17) % N
    b = nbd.Buffer(REGION)
    h.aio_pread(b, j * REGION)
    bufs.append((j, b))
drain(handles)
for i, (j, b) in enumerate(bufs):
    lib.check(bytes(b.to_bytearray()) == data[j],
              "client %d read region %d wrong" % (i, j))
for h in handles:
    h.shutdown()
with open(img, "rb") as f:
    for i in range(N):
        lib.check(f.read(REGION) == data[i], "backing file region %d differs" % i)
print("ok: %d clients" % N)
