#!/usr/bin/python3
# volswapd killed with SIGKILL in the middle of a mirror restarts from its
# state file serving the source, intact: every write the consumer had
# acknowledged before the kill is there, the export is on the source node
# (the pivot never happened), and no job survives.
import os, signal, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmp"))
import qmp
from qmp import lib, check
qmp.volswapd_only("--state is volswapd's")

MiB = 1 << 20
SIZE = 64 * MiB
tmp = lib.tmpdir()
src = os.path.join(tmp, "src.img")
tgt = os.path.join(tmp, "tgt.img")
with open(src, "wb") as f:
    f.write(lib.random_bytes(SIZE, seed=11))
lib.sparse_file(tmp, "tgt.img", SIZE)
state = os.path.join(tmp, "state.json")

d = qmp.MonitorDaemon(tmp, state=state).start()
c = d.client()
qmp.file_node(c, "src", src)
qmp.file_node(c, "tgt", tgt)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", name="vol", writable=True, **{"node-name": "src"})
# A slow mirror (1 MiB/s) is certainly in the middle when the kill comes.
c.ok("blockdev-mirror", device="src", target="tgt", sync="full", speed=MiB, **{"job-id": "j"})
h = qmp.nbd_connect(sock, "vol")
written = {}
for i in range(32):
    data = lib.random_bytes(4096, seed=100 + i)
    off = (i * 2 * MiB + 8192) % SIZE
    h.pwrite(data, off)
    written[off] = data
jobs = c.ok("query-block-jobs")
check(len(jobs) == 1 and jobs[0]["offset"] < jobs[0]["len"], "mirror not in progress: %r" % jobs)
d.stop(signal.SIGKILL)

d2 = qmp.MonitorDaemon(tmp, state=state).start()
c2 = d2.client()
(e,) = c2.ok("query-block-exports")
check(e["node-name"] == "src", "restarted export serves %r, not the source" % e["node-name"])
check(c2.ok("query-block-jobs") == [], "a job survived the restart")
h = qmp.nbd_connect(sock, "vol")
for off, data in written.items():
    check(h.pread(4096, off) == data, "acknowledged write at %d lost" % off)
check(h.pread(4096, 0) == lib.random_bytes(SIZE, seed=11)[:4096], "source data changed")
h.shutdown()
d2.stop()
print("ok")
