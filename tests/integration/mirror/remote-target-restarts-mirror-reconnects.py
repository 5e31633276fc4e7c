#!/usr/bin/python3
"""The target is a volume on a second volswapd; that daemon is killed
(SIGKILL) mid-mirror and restarted from its state file. With
reconnect-delay the nbd node reconnects, the copies that were in flight or
asked meanwhile run again, and the job goes on without an error: READY,
pivot, and the remote volume holds the source and the write made during
the outage."""
import os, signal, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import (job_events, check, lib, qmp, near_and_restartable_remote,
                            wait_copying, same_files)

qmp.volswapd_only("needs two daemons of the implementation under test")
SIZE = 16 << 20
tmp = lib.tmpdir()
src, far, remote, near, c, h = near_and_restartable_remote(tmp, SIZE, 61, **{"reconnect-delay": 60})
# 4 MiB/s: the copy is still running when the remote daemon dies.
c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt",
                           "sync": "full", "speed": 4 << 20})
wait_copying(c)
far.stop(signal.SIGKILL)
h.pwrite(b"o" * 4096, 9 << 20)  # during the outage, to the source
far.start()
c.ok("block-job-set-speed", device="j0", speed=0)
events, _ = job_events(c, "BLOCK_JOB_READY")
check("BLOCK_JOB_ERROR" not in events, "the outage reached the job: %s" % events)
c.ok("block-job-complete", device="j0")
job_events(c, "null")
h.flush()
h.shutdown()
near.stop()
far.stop()
with open(remote, "rb") as f:
    f.seek(9 << 20)
    check(f.read(4096) == b"o" * 4096, "remote lacks the write made in the outage")
check(same_files(remote, src), "remote differs from the source")
log = near.log_text()
check("connection lost" in log and "reconnected" in log, "no reconnect in the log: %s" % log[-800:])
