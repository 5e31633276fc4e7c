#!/usr/bin/python3
"""The model guest (writes, write-zeroes with and without NO_HOLE, trims,
16 in flight) runs while a background-mode mirror copies and after READY;
then it stops and a soft cancel brings the target in sync without a
pivot. The target is then byte for byte the source, trimmed ranges
included (the granules a guest zeroed or discarded are asked about and
zeroed, or copied where the source still holds bytes), and the source
matches the model. Passes against qemu-storage-daemon too."""
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import setup, job_events, check, qmp, ModelGuest, same_files

SIZE = 32 << 20
tmp, d, c, src, tgt = setup(SIZE)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
g = ModelGuest(qmp.nbd_uri(sock, "src"), SIZE, open(src, "rb").read(), seed=7)
try:
    time.sleep(0.2)                          # the guest is under way
    c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt",
                               "sync": "full"})
    job_events(c, "BLOCK_JOB_READY")
    time.sleep(0.3)                          # and goes on after READY
finally:
    g.stop()
c.ok("block-job-cancel", device="j0")
events, _ = job_events(c, "null")
check("BLOCK_JOB_COMPLETED" in events, "a soft cancel after READY ended in %r" % events)
check(same_files(src, tgt), "the target differs from the source")
with open(src, "rb") as f:
    bad = g.mismatches(f.read())
check(not bad, "%d sectors differ from the model, the first at offset %r" % (len(bad), bad[:4]))
