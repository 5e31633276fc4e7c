#!/usr/bin/python3
# The state file is written on the worker pool: a save that cannot go on
# (its temporary file is a FIFO nobody reads, standing for an fsync stuck
# behind a congested disk) delays only the reply to the command that made
# the change — the change is on disk before its client hears of it — while
# another monitor client is answered and an NBD client reads and writes.
import os, select, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("qemu-storage-daemon has no state file")
tmp = lib.tmpdir()
a = lib.sparse_file(tmp, "a.img", 1 << 20)
state = os.path.join(tmp, "state.json")
d = qmp.MonitorDaemon(tmp, state=state).start()
c = d.client()
qmp.file_node(c, "n0", a)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "n0"})
# White-box: state-file.c writes STATE.tmp.GEN, GEN counting the saves
# since start. FIFOs stand at every number the next save may take (those
# of earlier saves are never used again).
fifos = ["%s.tmp.%d" % (state, g) for g in range(1, 16)]
for f in fifos:
    os.mkfifo(f)
w = d.client()
w.send("blockdev-add", {"driver": "memory", "node-name": "m1", "size": 1 << 20}, req_id=1)
check(w.no_message(0.5), "replied before the state with the change was written")
check(len(c.ok("query-named-block-nodes")) == 2, "other client not answered")
h = qmp.nbd_connect(sock, "n0")
h.pwrite(b"still here", 4096)
check(h.pread(10, 4096) == b"still here", "NBD I/O blocked by a stalled state save")
h.shutdown()
check(w.no_message(0.2), "replied before the state with the change was written")
# Drain the FIFO: the save goes on (and fails at fsync, a FIFO cannot be
# synced); the change stands and the reply comes.
written = b""
fds = [os.open(f, os.O_RDONLY | os.O_NONBLOCK) for f in fifos]
limit = time.monotonic() + 30
while b'"m1"' not in written or not written.endswith(b"\n"):
    check(time.monotonic() < limit, "the stalled save wrote nothing: %r" % written[:200])
    ready, _, _ = select.select(fds, [], [], 0.5)
    for fd in ready:
        try:
            written += os.read(fd, 65536)
        except BlockingIOError:
            pass
check(b'"m1"' in written, "the stalled save did not hold the change: %r" % written[:200])
r = w.reply()
check(r.get("id") == 1 and "return" in r, "blockdev-add after the save: %r" % r)
check("state not saved" in d.log_text(), "a failed save was not reported")
for fd in fds:
    os.close(fd)
for f in fifos:
    if os.path.exists(f):      # the failed save removed its own
        os.unlink(f)
# The next change is saved normally and carries both.
c.ok("blockdev-add", driver="memory", **{"node-name": "m2", "size": 1 << 20})
with open(state) as f:
    text = f.read()
check('"m1"' in text and '"m2"' in text, "state after the next change: %r" % text[:300])
