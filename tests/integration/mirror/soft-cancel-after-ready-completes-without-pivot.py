#!/usr/bin/python3
"""block-job-cancel (not forced) after READY: the job brings the target in
sync and ends with BLOCK_JOB_COMPLETED, as QEMU, but does not pivot: the
export stays on the source and the target equals the source."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import setup, job_events, check, lib, qmp

tmp, d, c, src, tgt = setup()
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
h = qmp.nbd_connect(sock, "src")
c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt", "sync": "full"})
job_events(c, "BLOCK_JOB_READY")
h.pwrite(b"S" * 8192, 7 << 20)
c.ok("block-job-cancel", device="j0")
seen, _ = job_events(c, "null")
check(seen == ["waiting", "pending", "BLOCK_JOB_COMPLETED", "concluded", "null"], "events %r" % seen)
(e,) = c.ok("query-block-exports")
check(e["node-name"] == "src", "export moved to %r" % e["node-name"])
h.flush()
check(lib.same_file(src, tgt), "target not in sync with the source")
h.pwrite(b"T" * 4096, 0)
h.flush()
with open(src, "rb") as f:
    check(f.read(4096) == b"T" * 4096, "write after the cancel missed the source")
h.shutdown()
