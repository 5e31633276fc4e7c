#!/usr/bin/python3
"""The source is a sparse volume on another host's NBD server (nbdkit's
file plugin, with its log filter), added with blockdev-add driver nbd: the
scan learns its 200 data extents from a handful of base:allocation queries
(not one per extent), the mirror copies exactly them, and the local file
target ends as sparse as the remote source and equal to it."""
import os, random, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import job_events, check, lib, qmp, nbdkit, same_files

SIZE = 64 << 20
EXT = 64 << 10
tmp = lib.tmpdir()
remote = lib.sparse_file(tmp, "remote.img", SIZE)
rnd = random.Random(11)
for i, slot in enumerate(sorted(rnd.sample(range(SIZE // EXT // 2), 200))):
    lib.write_at(remote, slot * 2 * EXT, lib.random_bytes(EXT, 100 + i))
tgt = lib.sparse_file(tmp, "tgt.img", SIZE)
klog = os.path.join(tmp, "nbdkit.log")
kit, ksock = nbdkit(tmp, ["-r", "--filter=log", "file", remote, "logfile=" + klog])
try:
    d = qmp.MonitorDaemon(tmp).start()
    c = d.client()
    c.ok("blockdev-add", driver="nbd", server={"type": "unix", "path": ksock},
         **{"node-name": "src", "read-only": True})
    qmp.file_node(c, "tgt", tgt)
    c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt", "sync": "full"})
    job_events(c, "BLOCK_JOB_READY")
    c.ok("block-job-cancel", device="j0")
    job_events(c, "null")
    d.stop()
finally:
    kit.terminate()
    kit.wait()
check(same_files(remote, tgt), "target differs from the remote source")
used = os.stat(tgt).st_blocks * 512
check(used <= 2 * 200 * EXT, "target allocates %d bytes for %d of data" % (used, 200 * EXT))
with open(klog) as f:
    queries = sum(1 for line in f if " Extents id=" in line)
check(0 < queries <= 10, "%d base:allocation queries for 400 extents" % queries)
print("ok: %d queries; target allocates %d KiB for %d KiB of data"
      % (queries, used >> 10, 200 * EXT >> 10))
