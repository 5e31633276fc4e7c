#!/usr/bin/python3
# At a pivot the state file naming the target is written on the worker
# pool once the target is flushed, with the guests going on: a write sent
# meanwhile completes (on the target, and on the source too, since a crash
# before the save restarts there), no BLOCK_JOB_COMPLETED is out yet, and
# another volume's NBD client is served all along. This save fails (it is
# stalled by a FIFO at its temporary file's name, standing for an fsync
# stuck behind a congested disk, and a FIFO cannot be synced), so the pivot
# is undone: the job completes with an error, the export is back on the
# source, which has the write, and a restart after SIGKILL serves the
# source with that write.
import os, signal, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("--state is volswapd's")
MiB = 1 << 20
tmp = lib.tmpdir()
src = lib.sparse_file(tmp, "src.img", 4 * MiB)
tgt = lib.sparse_file(tmp, "tgt.img", 4 * MiB)
other = lib.sparse_file(tmp, "other.img", 4 * MiB)
state = os.path.join(tmp, "state.json")
d = qmp.MonitorDaemon(tmp, state=state).start()
c = d.client()
for name, path in (("src", src), ("tgt", tgt), ("other", other)):
    qmp.file_node(c, name, path)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", name="vol", writable=True, **{"node-name": "src"})
c.ok("block-export-add", type="nbd", id="e1", name="other", writable=True,
     **{"node-name": "other"})
c.ok("blockdev-mirror", device="src", target="tgt", sync="full", **{"job-id": "j"})
c.wait_event("BLOCK_JOB_READY")
guest = qmp.nbd_connect(sock, "vol")
stalled = qmp.StalledSaves(state)
c.ok("block-job-complete", device="j")
while c.wait_event("JOB_STATUS_CHANGE")["data"]["status"] != "pending":
    pass
buf = bytearray(b"P" * 4096)
cookie = guest.aio_pwrite(buf, MiB)
limit = time.monotonic() + 30
while not guest.aio_command_completed(cookie):
    check(time.monotonic() < limit, "a guest write was held while the pivot was saved")
    guest.poll(100)
qmp.nbd_still_serves(sock, "other", "another volume's client was held by the pivot's save")
check(not any(e["event"] == "BLOCK_JOB_COMPLETED" for e in c.events),
      "BLOCK_JOB_COMPLETED before the pivot was saved")
stalled.release(b'"tgt"', "the pivot's save")
ev = c.wait_event("BLOCK_JOB_COMPLETED")
check("pivot not saved" in ev["data"].get("error", ""),
      "the unsaved pivot did not fail the job: %r" % ev)
guest.shutdown()
stalled.remove()
(e0,) = [e for e in c.ok("query-block-exports") if e["id"] == "e0"]
check(e0["node-name"] == "src", "the export left the source: %r" % e0)
with open(src, "rb") as f:
    f.seek(MiB)
    check(f.read(4096) == b"P" * 4096, "the write made during the save is not in the source")
# A later change is saved as usual, and names the source.
c.ok("block-export-del", id="e1")
d.stop(signal.SIGKILL)
d2 = qmp.MonitorDaemon(tmp, state=state).start()
c2 = d2.client()
(e2,) = c2.ok("query-block-exports")
check(e2["node-name"] == "src", "the restart serves %r" % e2)
h = qmp.nbd_connect(sock, "vol")
check(h.pread(4096, MiB) == b"P" * 4096, "the held write is missing after the restart")
h.shutdown()
d2.stop()
