#!/usr/bin/python3
# At a pivot the state file naming the target is written on the worker
# pool, and the pivoted export's guests stay held until it is on disk: a
# write sent meanwhile completes only after the save, and lands in the
# target. Another volume's NBD client is served all along. (The save is
# stalled by a FIFO at its temporary file's name, standing for an fsync
# stuck behind a congested disk.)
import os, select, sys, time
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
# White-box: state-file.c writes STATE.tmp.GEN; FIFOs at every number the
# pivot's save may take.
fifos = ["%s.tmp.%d" % (state, g) for g in range(1, 40)]
for f in fifos:
    os.mkfifo(f)
c.ok("block-job-complete", device="j")
c.wait_event("BLOCK_JOB_COMPLETED")
buf = bytearray(b"P" * 4096)
cookie = guest.aio_pwrite(buf, MiB)
for _ in range(5):
    guest.poll(100)
check(not guest.aio_command_completed(cookie), "a guest write completed before the pivot was saved")
h = qmp.nbd_connect(sock, "other")
h.pwrite(b"still here", 4096)
check(h.pread(10, 4096) == b"still here", "another volume's client was held by the pivot's save")
h.shutdown()
# Let the save go on (it fails at fsync: a FIFO cannot be synced; the
# guests are released either way).
fds = [os.open(f, os.O_RDONLY | os.O_NONBLOCK) for f in fifos]
written = b""
limit = time.monotonic() + 30
while b'"tgt"' not in written or not written.endswith(b"\n"):
    check(time.monotonic() < limit, "the pivot's save wrote nothing: %r" % written[:200])
    ready, _, _ = select.select(fds, [], [], 0.5)
    for fd in ready:
        try:
            written += os.read(fd, 65536)
        except BlockingIOError:
            pass
limit = time.monotonic() + 30
while not guest.aio_command_completed(cookie):
    check(time.monotonic() < limit, "the held guest write never completed")
    guest.poll(100)
guest.shutdown()
for fd in fds:
    os.close(fd)
for f in fifos:
    if os.path.exists(f):
        os.unlink(f)
with open(tgt, "rb") as f:
    f.seek(MiB)
    check(f.read(4096) == b"P" * 4096, "the held write did not land in the target")
with open(src, "rb") as f:
    f.seek(MiB)
    check(f.read(4096) != b"P" * 4096, "the held write landed in the source")
