#!/usr/bin/python3
"""An NBD client stays connected through block-job-complete: its writes
before the pivot reach the target through the mirror, its writes after
it land in the target only, and query-block-exports shows the export on
the target node."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import setup, job_events, check, qmp

tmp, d, c, src, tgt = setup()
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
h = qmp.nbd_connect(sock, "src")
h.pwrite(b"A" * 4096, 1 << 20)
c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt", "sync": "full"})
h.pwrite(b"B" * 4096, 2 << 20)
job_events(c, "BLOCK_JOB_READY")
h.pwrite(b"C" * 4096, 3 << 20)
c.ok("block-job-complete", device="j0")
h.pwrite(b"D" * 4096, 4 << 20)          # held or after: never an error
job_events(c, "null")
h.pwrite(b"E" * 4096, 5 << 20)
for off, ch in ((1, b"A"), (2, b"B"), (3, b"C"), (4, b"D"), (5, b"E")):
    check(h.pread(4096, off << 20) == ch * 4096, "client reads back %r wrong" % ch)
h.flush()
with open(tgt, "rb") as f:
    t = f.read()
with open(src, "rb") as f:
    s = f.read()
for off, ch in ((1, b"A"), (2, b"B"), (3, b"C"), (4, b"D"), (5, b"E")):
    check(t[off << 20:(off << 20) + 4096] == ch * 4096, "target lacks %r" % ch)
check(s[5 << 20:(5 << 20) + 4096] != b"E" * 4096, "post-pivot write reached the source")
(e,) = c.ok("query-block-exports")
check(e["node-name"] == "tgt", "export still on %r" % e["node-name"])
h.shutdown()
