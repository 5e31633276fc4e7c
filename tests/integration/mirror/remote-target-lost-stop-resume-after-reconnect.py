#!/usr/bin/python3
"""reconnect-delay 0 (the default) and on-target-error=stop: when the
remote target's daemon dies the job's copies fail at once, the job stops
(BLOCK_JOB_ERROR, paused, io-status failed) and the guest sees nothing.
The nbd node reconnects in the background once the daemon is back, and
block-job-resume then finishes the copy: READY, and the remote volume
equals the source."""
import os, signal, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import (next_event, check, lib, qmp, near_and_restartable_remote,
                            wait_copying, same_files)

qmp.volswapd_only("needs two daemons of the implementation under test")
SIZE = 16 << 20
tmp = lib.tmpdir()
src, far, remote, near, c, h = near_and_restartable_remote(tmp, SIZE, 62)


def until_status(status):
    while True:
        e = next_event(c)
        if e["event"] == "BLOCK_JOB_ERROR":
            check(e["data"]["action"] == "stop", "action %r" % e["data"]["action"])
        if e["event"] == "BLOCK_JOB_READY":
            return "ready"
        if e["event"] == "JOB_STATUS_CHANGE" and e["data"]["status"] in (status, "null"):
            return e["data"]["status"]


c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt", "sync": "full",
                           "speed": 4 << 20, "on-target-error": "stop"})
wait_copying(c)
far.stop(signal.SIGKILL)
h.pwrite(b"g" * 4096, 5 << 20)  # the guest goes on
check(until_status("paused") == "paused", "the job did not stop")
j = c.ok("query-block-jobs")[0]
check(j["io-status"] == "failed" and j["paused"], "job not stopped: %r" % j)
far.start()
c.ok("block-job-set-speed", device="j0", speed=0)
# Until the node has reconnected (backoff up to 2 s) a resume stops again.
for _ in range(40):
    c.ok("block-job-resume", device="j0")
    if until_status("paused") == "ready":
        break
    time.sleep(0.5)           # a retry pace, not a timing check
else:
    lib.fail("never READY after the remote came back")
c.ok("block-job-complete", device="j0")
check(until_status("null") == "null", "the job did not end")
check(h.pread(4096, 5 << 20) == b"g" * 4096, "the guest's write is gone")
h.shutdown()
near.stop()
far.stop()
check(same_files(remote, src), "remote differs from the source")
log = near.log_text()
check("connection lost" in log and "reconnected" in log, "no reconnect in the log: %s" % log[-800:])
