#!/usr/bin/python3
"""auto-finalize and auto-dismiss off: the job waits in pending
(BLOCK_JOB_PENDING), refuses dismiss there with QEMU's verb error, is
finalized by block-job-finalize, then waits in concluded until
block-job-dismiss; query-jobs and query-block-jobs follow it."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import setup, job_events, check

tmp, d, c, src, tgt = setup()
c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt", "sync": "full",
                           "auto-finalize": False, "auto-dismiss": False})
job_events(c, "BLOCK_JOB_READY")
desc = c.err("block-job-finalize", "GenericError", id="j0")
check(desc == "Job 'j0' in state 'ready' cannot accept command verb 'finalize'", desc)
c.ok("block-job-complete", device="j0")
seen, pend = job_events(c, "BLOCK_JOB_PENDING")
check(seen == ["waiting", "pending", "BLOCK_JOB_PENDING"], "events %r" % seen)
check(pend["data"] == {"type": "mirror", "id": "j0"}, "PENDING %r" % pend)
(b,) = c.ok("query-block-jobs")
# The source is held (drained) until finalisation: QEMU reports the job
# paused, and not ready, while it is pending.
check(b["status"] == "pending" and b["paused"] is True and b["ready"] is False, "%r" % b)
(j,) = c.ok("query-jobs")
check(j["status"] == "pending" and j["id"] == "j0" and j["type"] == "mirror", "query-jobs %r" % j)
desc = c.err("block-job-dismiss", "GenericError", id="j0")
check(desc == "Job 'j0' in state 'pending' cannot accept command verb 'dismiss'", desc)
c.ok("block-job-finalize", id="j0")
seen, _ = job_events(c, "concluded")
check(seen == ["BLOCK_JOB_COMPLETED", "concluded"], "events %r" % seen)
(b,) = c.ok("query-block-jobs")
check(b["status"] == "concluded" and b["ready"] is False and b["paused"] is False,
      "query-block-jobs %r" % b)
c.ok("block-job-dismiss", id="j0")
seen, _ = job_events(c, "null")
check(seen == ["null"], "events %r" % seen)
check(c.ok("query-jobs") == [], "job still listed")
c.err("block-job-dismiss", "DeviceNotActive", id="j0")
