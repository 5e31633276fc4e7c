#!/usr/bin/python3
"""A libnbd guest keeps 16 requests in flight — writes of 512 B to 200 KiB
at 512-byte offsets, write-zeroes (with and without NO_HOLE) and trims,
never two overlapping at once — while the volume is mirrored in
write-blocking mode and pivoted. The test keeps a model of every byte the
guest's acknowledged requests define; afterwards the whole volume, read
through the same export (now on the target), matches it everywhere
except where a trim left the content open. Deterministic (seeded), so a
failure repeats."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import setup, check, qmp, pivot_under_guest
import nbd

SIZE = 32 << 20
tmp, d, c, src, tgt = setup(SIZE)
g, sock = pivot_under_guest(c, tmp, src, SIZE, **{"copy-mode": "write-blocking"})
h = nbd.NBD()
h.connect_uri(qmp.nbd_uri(sock, "src"))
got = b"".join(h.pread(4 << 20, off) for off in range(0, SIZE, 4 << 20))
h.shutdown()
bad = g.mismatches(got)
check(not bad, "%d sectors differ from the model, the first at offset %r" % (len(bad), bad[:4]))
