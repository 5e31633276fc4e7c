#!/usr/bin/python3
"""A soft block-job-cancel before READY is a forced one, as in QEMU:
aborting, BLOCK_JOB_CANCELLED, concluded, null; the source is untouched."""
import os, sys, hashlib
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import setup, job_events, check

tmp, d, c, src, tgt = setup(64 << 20)
before = hashlib.sha256(open(src, "rb").read()).hexdigest()
c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt",
                           "sync": "full", "speed": 1 << 20})
seen, _ = job_events(c, "running")
(info,) = c.ok("query-block-jobs")
check(info["status"] == "running" and info["ready"] is False, "query %r" % info)
c.ok("block-job-cancel", device="j0")
seen, _ = job_events(c, "null")
check(seen == ["aborting", "BLOCK_JOB_CANCELLED", "concluded", "null"], "events %r" % seen)
check(hashlib.sha256(open(src, "rb").read()).hexdigest() == before, "source changed")
