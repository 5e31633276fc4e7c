#!/usr/bin/python3
# A pivot is made durable with the guests going on: after the switch they
# write to the target, and each write is applied to the source too until
# the state file naming the target is on disk. volswapd killed with
# SIGKILL in that window (the save stalled by a FIFO, standing for an fsync
# stuck behind a congested disk) restarts from the state file it had, which
# names the source: the source holds every write the guest had
# acknowledged, those made after the switch included, and no job survives.
import os, signal, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("--state is volswapd's")
MiB = 1 << 20
SIZE = 8 * MiB
tmp = lib.tmpdir()
src = os.path.join(tmp, "src.img")
with open(src, "wb") as f:
    f.write(lib.random_bytes(SIZE, seed=21))
tgt = lib.sparse_file(tmp, "tgt.img", SIZE)
state = os.path.join(tmp, "state.json")
d = qmp.MonitorDaemon(tmp, state=state).start()
c = d.client()
qmp.file_node(c, "src", src)
qmp.file_node(c, "tgt", tgt)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", name="vol", writable=True, **{"node-name": "src"})
c.ok("blockdev-mirror", device="src", target="tgt", sync="full", **{"job-id": "j"})
c.wait_event("BLOCK_JOB_READY")
guest = qmp.nbd_connect(sock, "vol")
written = {}
for i in range(8):                           # before the complete
    data = lib.random_bytes(4096, seed=300 + i)
    off = i * MiB + 4096
    guest.pwrite(data, off)
    written[off] = data
stalled = qmp.StalledSaves(state)
c.ok("block-job-complete", device="j")
while c.wait_event("JOB_STATUS_CHANGE")["data"]["status"] != "pending":
    pass
(e,) = c.ok("query-block-exports")
check(e["node-name"] == "tgt", "the export is not on the target during the save: %r" % e)
for i in range(8):                           # after the switch, save stalled
    data = lib.random_bytes(4096, seed=400 + i)
    off = i * MiB + 65536
    guest.pwrite(data, off)
    written[off] = data
guest.flush()
check(not any(ev["event"] == "BLOCK_JOB_COMPLETED" for ev in c.events),
      "BLOCK_JOB_COMPLETED before the pivot was saved")
d.stop(signal.SIGKILL)
stalled.remove()

d2 = qmp.MonitorDaemon(tmp, state=state).start()
c2 = d2.client()
(e2,) = c2.ok("query-block-exports")
check(e2["node-name"] == "src", "the restart serves %r, not the source" % e2["node-name"])
check(c2.ok("query-block-jobs") == [], "a job survived the restart")
h = qmp.nbd_connect(sock, "vol")
for off, data in sorted(written.items()):
    check(h.pread(4096, off) == data, "acknowledged write at %d lost" % off)
check(h.pread(4096, 0) == lib.random_bytes(SIZE, seed=21)[:4096], "source data changed")
h.shutdown()
d2.stop()
print("ok")
