#!/usr/bin/python3
"""A libnbd guest keeps 16 requests in flight — writes of 512 B to 200 KiB
at 512-byte offsets, write-zeroes (with and without NO_HOLE) and trims,
never two overlapping at once — while the volume is mirrored in
write-blocking mode and pivoted. The test keeps a model of every byte the
guest's acknowledged requests define; afterwards the whole volume, read
through the same export (now on the target), matches it everywhere
except where a trim left the content open. Deterministic (seeded), so a
failure repeats."""
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import setup, job_events, check, lib, qmp, ModelGuest
import nbd

SIZE = 32 << 20
tmp, d, c, src, tgt = setup(SIZE)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
g = ModelGuest(qmp.nbd_uri(sock, "src"), SIZE, open(src, "rb").read())
try:
    time.sleep(0.2)                          # the guest is under way
    c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt",
                               "sync": "full", "copy-mode": "write-blocking"})
    job_events(c, "BLOCK_JOB_READY")
    c.ok("block-job-complete", device="j0")
    job_events(c, "null")
    (e,) = c.ok("query-block-exports")
    check(e["node-name"] == "tgt", "export on %r" % e["node-name"])
    time.sleep(0.2)                          # and goes on, on the target
finally:
    g.stop()
h = nbd.NBD()
h.connect_uri(qmp.nbd_uri(sock, "src"))
got = b"".join(h.pread(4 << 20, off) for off in range(0, SIZE, 4 << 20))
h.shutdown()
bad = g.mismatches(got)
check(not bad, "%d sectors differ from the model, the first at offset %r" % (len(bad), bad[:4]))
