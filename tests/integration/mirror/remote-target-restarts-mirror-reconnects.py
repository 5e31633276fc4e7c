#!/usr/bin/python3
"""The target is a volume on a second volswapd; that daemon is killed
(SIGKILL) mid-mirror and restarted from its state file. With
reconnect-delay the nbd node reconnects, the copies that were in flight or
asked meanwhile run again, and the job goes on without an error: READY,
pivot, and the remote volume holds the source and the write made during
the outage."""
import os, signal, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import job_events, check, lib, qmp

qmp.volswapd_only("needs two daemons of the implementation under test")
SIZE = 16 << 20
tmp = lib.tmpdir()
src = lib.sparse_file(tmp, "src.img", SIZE)
lib.write_at(src, 0, lib.random_bytes(SIZE, 61))
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
     **{"node-name": "tgt", "reconnect-delay": 60})
sock = qmp.start_nbd(c, tmp, "near-nbd.sock")
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
h = qmp.nbd_connect(sock, "src")
# 4 MiB/s: the copy is still running when the remote daemon dies.
c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt",
                           "sync": "full", "speed": 4 << 20})
while c.ok("query-block-jobs")[0]["offset"] == 0:
    time.sleep(0.05)          # until copying has begun; not a timing check
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
with open(src, "rb") as f:
    s = f.read()
with open(remote, "rb") as f:
    r = f.read()
check(r[9 << 20:(9 << 20) + 4096] == b"o" * 4096, "remote lacks the write made in the outage")
check(r == s, "remote differs from the source")
log = near.log_text()
check("connection lost" in log and "reconnected" in log, "no reconnect in the log: %s" % log[-800:])
