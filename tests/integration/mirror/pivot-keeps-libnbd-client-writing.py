#!/usr/bin/python3
"""A python3-libnbd client keeps writing random 4 KiB blocks to an exported
volume while it is mirrored (blockdev-mirror) and pivoted
(block-job-complete): every write succeeds, the connection is never
dropped, the target holds every acknowledged write — before, during and
after the pivot — and writes after the pivot never reach the source."""
import os, random, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import check, lib, qmp

SIZE, BS = 64 << 20, 4096
tmp = lib.tmpdir()
src = lib.sparse_file(tmp, "src.img", SIZE)
tgt = lib.sparse_file(tmp, "tgt.img", SIZE)
base = lib.random_bytes(SIZE, 7)
lib.write_at(src, 0, base)
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
qmp.file_node(c, "src", src)
qmp.file_node(c, "tgt", tgt)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
h = qmp.nbd_connect(sock, "src")
rnd = random.Random(3)
model = {}


def write_some(n, tag):
    for _ in range(n):
        blk = rnd.randrange(SIZE // BS)
        data = bytes([tag]) * 8 + rnd.randbytes(BS - 8)
        h.pwrite(data, blk * BS)              # raises on any error
        model[blk] = data


def events_seen():
    """Reads whatever events have arrived, without waiting."""
    while c.buf or not c.no_message(0):
        m = c.recv()
        check("event" in m, "unexpected reply %r" % m)
        c.events.append(m)
    return [e["event"] for e in c.events]


write_some(200, 1)
c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt", "sync": "full"})
while "BLOCK_JOB_READY" not in events_seen():   # writes while copying
    write_some(20, 2)
c.ok("block-job-complete", device="j0")
while "BLOCK_JOB_COMPLETED" not in events_seen():   # writes across the pivot
    write_some(20, 3)
(e,) = c.ok("query-block-exports")
check(e["node-name"] == "tgt", "export on %r" % e["node-name"])
after = {}
for _ in range(300):                          # after the pivot: target only
    blk = rnd.randrange(SIZE // BS)
    data = b"\xaf" * 8 + rnd.randbytes(BS - 8)
    h.pwrite(data, blk * BS)
    model[blk] = data
    after[blk] = data
for blk, data in model.items():               # the client reads its writes
    check(h.pread(BS, blk * BS) == data, f"block {blk} reads back wrong")
h.flush()
h.shutdown()
with open(tgt, "rb") as f:
    t = f.read()
with open(src, "rb") as f:
    s = f.read()
for blk in range(SIZE // BS):
    want = model.get(blk, base[blk * BS:(blk + 1) * BS])
    check(t[blk * BS:(blk + 1) * BS] == want, f"target block {blk} wrong")
for blk, data in after.items():
    check(s[blk * BS:(blk + 1) * BS] != data, f"post-pivot write {blk} reached the source")
