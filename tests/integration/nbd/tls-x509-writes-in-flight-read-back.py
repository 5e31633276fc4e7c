#!/usr/bin/python3
"""Over TLS (x509, the client presenting its certificate), one client keeps
many writes of every size in flight, from 1 byte to 8 MiB (payloads larger
than a TLS record and than the server's input buffer), then reads it all
back in reads of other sizes: every byte matches, and the backing file
holds what was written."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402
import nbd  # noqa: E402

SIZE = 64 << 20
tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start(tls="tls-creds-x509,id=tls0,dir=%s,endpoint=server" % pki)
h = lib.connect(d, "vol0", tls=pki)
lib.check(h.get_tls_negotiated(), "TLS was not negotiated")

want = bytearray(SIZE)
off, i = 0, 0
sizes = [1, 511, 4096, 16 << 10, (16 << 10) + 1, 100000, 1 << 20, 8 << 20]
while off < SIZE:
    n = min(sizes[i % len(sizes)], SIZE - off)
    data = lib.random_bytes(n, seed=i)
    want[off:off + n] = data
    h.aio_pwrite(nbd.Buffer.from_bytearray(bytearray(data)), off)
    off += n
    i += 1
    while h.aio_in_flight() > 32:
        h.poll(-1)
while h.aio_in_flight() > 0:
    h.poll(-1)
h.flush()

got = bytearray()
off = 0
for n in [3 << 20, 4096, 1, 777777] * 64:
    if off >= SIZE:
        break
    n = min(n, SIZE - off)
    got += h.pread(n, off)
    off += n
lib.check(got == want, "data read back over TLS differs from what was written")
h.shutdown()
with open(img, "rb") as f:
    lib.check(f.read() == want, "backing file differs from what was written over TLS")
print("ok")
