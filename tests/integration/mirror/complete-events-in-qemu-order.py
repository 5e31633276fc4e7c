#!/usr/bin/python3
"""blockdev-mirror then block-job-complete: the JOB_STATUS_CHANGE and
BLOCK_JOB_* events come in qemu-storage-daemon's order with QEMU's fields,
and the target then holds the source's data."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import setup, job_events, check, lib

tmp, d, c, src, tgt = setup()
c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt", "sync": "full"})
seen, ready = job_events(c, "BLOCK_JOB_READY")
check(seen == ["created", "running", "ready", "BLOCK_JOB_READY"], "events %r" % seen)
check(sorted(ready["data"]) == ["device", "len", "offset", "speed", "type"], "READY %r" % ready)
check(ready["data"]["type"] == "mirror" and ready["data"]["device"] == "j0", "READY %r" % ready)
check(ready["data"]["len"] == ready["data"]["offset"] == 16 << 20, "READY %r" % ready)
c.ok("block-job-complete", device="j0")
seen, done = job_events(c, "BLOCK_JOB_COMPLETED")
check(seen == ["waiting", "pending", "BLOCK_JOB_COMPLETED"], "events %r" % seen)
check(sorted(done["data"]) == ["device", "len", "offset", "speed", "type"], "COMPLETED %r" % done)
seen, _ = job_events(c, "null")
check(seen == ["concluded", "null"], "events %r" % seen)
check(c.ok("query-block-jobs") == [], "job still listed")
check(lib.same_file(src, tgt), "target differs from source")
