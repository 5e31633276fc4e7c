#!/usr/bin/python3
"""Reads of clients on other loops than the node's go straight to the file
from their own loop; a pivot's drained section must still cover them.
Two python3-libnbd writers and two readers, each on a loop of its own
(--loops 5), while the volume is mirrored and pivoted: the writers write
sequence-stamped 4 KiB blocks of their own, the readers read random
written blocks and check each against the last write acknowledged before
the read began: never older (a read served by the source after the
switch, or overtaking the drain, would be), never a write not yet sent."""
import os, random, sys, threading
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import check, lib, qmp

if lib.impl() != "volswapd":
    lib.skip("--loops is volswapd's")
SIZE, BS, WRITERS, READERS = 32 << 20, 4096, 2, 2
tmp = lib.tmpdir()
src = lib.sparse_file(tmp, "src.img", SIZE)
tgt = lib.sparse_file(tmp, "tgt.img", SIZE)
d = qmp.MonitorDaemon(tmp, extra=["--loops", "5"]).start()
c = d.client()
qmp.file_node(c, "src", src)
qmp.file_node(c, "tgt", tgt)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
handles = [qmp.nbd_connect(sock, "src") for _ in range(WRITERS + READERS)]

acked = {}                     # block -> last acknowledged seq
sent = {}                      # block -> last seq sent (acknowledged or not)
lock = threading.Lock()        # the test's own bookkeeping, not the daemon's
stop = threading.Event()
errors = []
reads = [0]


def stamp(i, seq):
    return (b"%02d:%08d:" % (i, seq)).ljust(16, b".") * (BS // 16)


def writer(i):
    h, rnd, seq = handles[i], random.Random(200 + i), 0
    blocks = [b for b in range(SIZE // BS) if b % WRITERS == i][:512]
    try:
        while not stop.is_set() or seq < 50:
            seq += 1
            blk = rnd.choice(blocks)
            with lock:
                sent[blk] = seq
            h.pwrite(stamp(i, seq), blk * BS)     # acknowledged on return
            with lock:
                acked[blk] = seq
    except Exception as e:  # noqa: BLE001 - reported below
        errors.append("writer %d: %r" % (i, e))
        stop.set()


def reader(k):
    h, rnd = handles[WRITERS + k], random.Random(300 + k)
    try:
        while not stop.is_set():
            with lock:
                if not acked:
                    continue
                blk = rnd.choice(list(acked))
                low = acked[blk]
            got = h.pread(BS, blk * BS)
            with lock:
                high = sent[blk]
            i, seq = int(got[0:2]), int(got[3:11])
            if i != blk % WRITERS or not low <= seq <= high or got != stamp(i, seq):
                errors.append("block %d read %r: acknowledged %d before the read, "
                              "%d sent by its end" % (blk, got[:16], low, high))
                stop.set()
            reads[0] += 1
    except Exception as e:  # noqa: BLE001 - reported below
        errors.append("reader %d: %r" % (k, e))
        stop.set()


threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
threads += [threading.Thread(target=reader, args=(k,)) for k in range(READERS)]
for t in threads:
    t.start()
c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt", "sync": "full"})
c.wait_event("BLOCK_JOB_READY")
c.ok("block-job-complete", device="j0")
c.wait_event("BLOCK_JOB_COMPLETED")
stop.set()
for t in threads:
    t.join()
check(not errors, "; ".join(errors[:3]))
(e,) = c.ok("query-block-exports")
check(e["node-name"] == "tgt", "export on %r after the pivot" % e["node-name"])
check(reads[0] > 50, "only %d reads" % reads[0])
# The source's counters have the direct reads (blockstats adds them in).
st = {s["node-name"]: s["stats"] for s in c.ok("query-blockstats", **{"query-nodes": True})}
check(st["src"]["rd_operations"] + st["tgt"]["rd_operations"] >= reads[0],
      "blockstats count %d + %d reads, the readers did %d"
      % (st["src"]["rd_operations"], st["tgt"]["rd_operations"], reads[0]))
for h in handles:
    h.shutdown()
with open(tgt, "rb") as f:
    t = f.read()
for blk, seq in acked.items():
    check(t[blk * BS:(blk + 1) * BS] == stamp(blk % WRITERS, seq),
          "target block %d is not its last acknowledged write" % blk)
lib.log("%d reads checked, %d blocks on the target" % (reads[0], len(acked)))
