#!/usr/bin/python3
"""reconnect-delay 0 (the default) and on-target-error=stop: when the
remote target's daemon dies the job's copies fail at once, the job stops
(BLOCK_JOB_ERROR, paused, io-status failed) and the guest sees nothing.
The nbd node reconnects in the background once the daemon is back, and
block-job-resume then finishes the copy: READY, and the remote volume
equals the source."""
import os, signal, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import next_event, check, lib, qmp

qmp.volswapd_only("needs two daemons of the implementation under test")
SIZE = 16 << 20
tmp = lib.tmpdir()
src = lib.sparse_file(tmp, "src.img", SIZE)
lib.write_at(src, 0, lib.random_bytes(SIZE, 62))
remote = lib.sparse_file(tmp, "remote.img", SIZE)
state = os.path.join(tmp, "far-state.json")
far = qmp.MonitorDaemon(tmp, state=state).start()
fc = far.client()
qmp.file_node(fc, "vol", remote)
fsock = qmp.start_nbd(fc, tmp, "far-nbd.sock")
fc.ok("block-export-add", type="nbd", id="x0", writable=True, **{"node-name": "vol"})
near = qmp.MonitorDaemon(tmp).start()
c = near.client()
qmp.file_node(c, "src", src)
c.ok("blockdev-add", driver="nbd", server={"type": "unix", "path": fsock}, export="vol",
     **{"node-name": "tgt"})
sock = qmp.start_nbd(c, tmp, "near-nbd.sock")
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
h = qmp.nbd_connect(sock, "src")
c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt", "sync": "full",
                           "speed": 4 << 20, "on-target-error": "stop"})
while c.ok("query-block-jobs")[0]["offset"] == 0:
    time.sleep(0.05)          # until copying has begun; not a timing check
far.stop(signal.SIGKILL)
h.pwrite(b"g" * 4096, 5 << 20)  # the guest goes on
stopped = False
while not stopped:
    e = next_event(c)
    if e["event"] == "BLOCK_JOB_ERROR":
        check(e["data"]["action"] == "stop", "action %r" % e["data"]["action"])
    stopped = e["event"] == "JOB_STATUS_CHANGE" and e["data"]["status"] == "paused"
j = c.ok("query-block-jobs")[0]
check(j["io-status"] == "failed" and j["paused"], "job not stopped: %r" % j)
far.start()
c.ok("block-job-set-speed", device="j0", speed=0)
# Until the node has reconnected (backoff up to 2 s) a resume stops again.
ready = False
for _ in range(40):
    c.ok("block-job-resume", device="j0")
    while True:
        e = next_event(c)
        if e["event"] == "BLOCK_JOB_READY":
            ready = True
            break
        if e["event"] == "JOB_STATUS_CHANGE" and e["data"]["status"] == "paused":
            break
    if ready:
        break
    time.sleep(0.5)           # a retry pace, not a timing check
check(ready, "never READY after the remote came back")
c.ok("block-job-complete", device="j0")
while not (e["event"] == "JOB_STATUS_CHANGE" and e["data"]["status"] == "null"):
    e = next_event(c)
check(h.pread(4096, 5 << 20) == b"g" * 4096, "the guest's write is gone")
h.shutdown()
near.stop()
far.stop()
with open(src, "rb") as f:
    s = f.read()
with open(remote, "rb") as f:
    r = f.read()
check(r == s, "remote differs from the source")
log = near.log_text()
check("connection lost" in log and "reconnected" in log, "no reconnect in the log: %s" % log[-800:])

