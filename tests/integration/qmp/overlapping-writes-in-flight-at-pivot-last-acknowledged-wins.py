#!/usr/bin/python3
# Overlapping guest writes in flight across the switch to write-through and
# the pivot: a client keeps pairs of overlapping writes in flight (the
# second sent before the first is answered) over a few ranges while the job
# is completed, with the pivot's state save stalled so that the writes go on
# while each one is applied to both volumes. Every byte must end up as the
# write answered last among those covering it, read through the export
# after the switch, and the same after a SIGKILL in the save window (the
# restart serves the source, which must have been written in the same
# order). A write-through, a held request moved to the target or a forwarded
# source half that reorders two overlapping writes leaves an older write's
# bytes somewhere.
import os, signal, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("--state is volswapd's")
import nbd

MiB = 1 << 20
SIZE = 8 * MiB
RANGES = [i * MiB + 12288 for i in range(6)]    # six areas of 48 KiB
tmp = lib.tmpdir()
src = os.path.join(tmp, "src.img")
with open(src, "wb") as f:
    f.write(lib.random_bytes(SIZE, seed=31))
tgt = lib.sparse_file(tmp, "tgt.img", SIZE)
state = os.path.join(tmp, "state.json")
d = qmp.MonitorDaemon(tmp, state=state).start()
c = d.client()
qmp.file_node(c, "src", src)
qmp.file_node(c, "tgt", tgt)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", name="vol", writable=True, **{"node-name": "src"})
# Write-blocking: the guest writes go through to the target from the start.
c.ok("blockdev-mirror", device="src", target="tgt", sync="full", **{"job-id": "j",
     "copy-mode": "write-blocking"})
c.wait_event("BLOCK_JOB_READY")

g = qmp.nbd_connect(sock, "vol")
model = bytearray(open(src, "rb").read())
inflight = {}          # cookie -> (offset, data, buffer)
answered = 0
seq = [0]


def complete(off, data):
    global answered
    model[off:off + len(data)] = data
    answered += 1


def send(off, length):
    seq[0] += 1
    data = bytes([seq[0] & 0xff]) * 8 + lib.random_bytes(length - 8, seed=1000 + seq[0])
    buf = nbd.Buffer.from_bytearray(bytearray(data))
    cookie = g.aio_pwrite(buf, off)
    inflight[cookie] = (off, data, buf)


# Answers are applied to the model in the order the client finds them. When
# one poll finds several, the server answered them before the client looked,
# and their order is unknown: the bytes they share may hold either.
ambiguous = set()


def round_exact():
    for r in RANGES:
        send(r, 16384)
        send(r + 4096, 16384)
    while inflight:
        g.poll(-1)
        done = [ck for ck in list(inflight) if g.aio_command_completed(ck)]
        if len(done) > 1:
            for ck in done:
                off, data, _ = inflight[ck]
                ambiguous.update(range(off, off + len(data)))
        for ck in done:
            off, data, _ = inflight.pop(ck)
            complete(off, data)


for _ in range(10):
    round_exact()
stalled = qmp.StalledSaves(state)
for r in RANGES:                       # a pair in flight at the complete
    send(r, 16384)
    send(r + 4096, 16384)
c.ok("block-job-complete", device="j")
while inflight:
    g.poll(-1)
    done = [ck for ck in list(inflight) if g.aio_command_completed(ck)]
    if len(done) > 1:
        for ck in done:
            off, data, _ = inflight[ck]
            ambiguous.update(range(off, off + len(data)))
    for ck in done:
        off, data, _ = inflight.pop(ck)
        complete(off, data)
while c.wait_event("JOB_STATUS_CHANGE")["data"]["status"] != "pending":
    pass
for _ in range(10):                    # switched, the save stalled
    round_exact()
check(not any(ev["event"] == "BLOCK_JOB_COMPLETED" for ev in c.events),
      "BLOCK_JOB_COMPLETED before the pivot was saved")


def compare(read, where):
    for r in RANGES:
        lo, hi = r, r + 20480
        got = read(hi - lo, lo)
        for i in range(lo, hi):
            if got[i - lo] != model[i] and i not in ambiguous:
                lib.fail("%s: byte %d holds %#x, the write answered last wrote %#x"
                         % (where, i, got[i - lo], model[i]))


(e,) = c.ok("query-block-exports")
check(e["node-name"] == "tgt", "the export is not on the target: %r" % e)
compare(g.pread, "on the target")
g.flush()
d.stop(signal.SIGKILL)
stalled.remove()

d2 = qmp.MonitorDaemon(tmp, state=state).start()
c2 = d2.client()
(e2,) = c2.ok("query-block-exports")
check(e2["node-name"] == "src", "the restart serves %r, not the source" % e2["node-name"])
h = qmp.nbd_connect(sock, "vol")
compare(h.pread, "on the source after a restart")
check(h.pread(4096, 0) == lib.random_bytes(SIZE, seed=31)[:4096], "source data changed")
h.shutdown()
d2.stop()
lib.log("%d writes answered, %d bytes answered together (either order accepted)"
        % (answered, len(ambiguous)))
print("ok")
