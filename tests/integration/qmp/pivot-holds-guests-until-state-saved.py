#!/usr/bin/python3
# At a pivot the state file naming the target is written on the worker
# pool, and the pivoted export's guests stay held until it is on disk: a
# write sent meanwhile completes only after the save, and lands in the
# target. Another volume's NBD client is served all along. (The save is
# stalled by a FIFO at its temporary file's name, standing for an fsync
# stuck behind a congested disk.)
import os, sys, time
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
c.wait_event("BLOCK_JOB_COMPLETED")
buf = bytearray(b"P" * 4096)
cookie = guest.aio_pwrite(buf, MiB)
for _ in range(5):
    guest.poll(100)
check(not guest.aio_command_completed(cookie), "a guest write completed before the pivot was saved")
qmp.nbd_still_serves(sock, "other", "another volume's client was held by the pivot's save")
# Let the save go on (it fails at fsync: a FIFO cannot be synced; the
# guests are released either way).
stalled.release(b'"tgt"', "the pivot's save")
limit = time.monotonic() + 30
while not guest.aio_command_completed(cookie):
    check(time.monotonic() < limit, "the held guest write never completed")
    guest.poll(100)
guest.shutdown()
stalled.remove()
with open(tgt, "rb") as f:
    f.seek(MiB)
    check(f.read(4096) == b"P" * 4096, "the held write did not land in the target")
with open(src, "rb") as f:
    f.seek(MiB)
    check(f.read(4096) != b"P" * 4096, "the held write landed in the source")
