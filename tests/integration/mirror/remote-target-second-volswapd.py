#!/usr/bin/python3
"""The target is a volume exported by a second volswapd (another host in
production), added with blockdev-add driver nbd: the mirror copies over
NBD, pivots, and the local export now writes through to the remote
volume."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import job_events, check, lib, qmp, remote_volume, near_with_remote_target

qmp.volswapd_only("needs two daemons of the implementation under test")
SIZE = 32 << 20
tmp = lib.tmpdir()
src = lib.sparse_file(tmp, "src.img", SIZE)
lib.write_at(src, 4 << 20, lib.random_bytes(4 << 20, 41))
far, fsock, remote = remote_volume(tmp, SIZE)
near, c, h = near_with_remote_target(tmp, src, fsock, "vol")
c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt", "sync": "full"})
h.pwrite(b"m" * 4096, 1 << 20)
job_events(c, "BLOCK_JOB_READY")
c.ok("block-job-complete", device="j0")
job_events(c, "null")
h.pwrite(b"p" * 4096, 2 << 20)         # after the pivot: to the remote volume
h.flush()
h.shutdown()
near.stop()
far.stop()
with open(remote, "rb") as f:
    r = f.read()
with open(src, "rb") as f:
    s = f.read()
check(r[1 << 20:(1 << 20) + 4096] == b"m" * 4096, "remote lacks the write made during the job")
check(r[2 << 20:(2 << 20) + 4096] == b"p" * 4096, "remote lacks the write made after the pivot")
check(s[2 << 20:(2 << 20) + 4096] != b"p" * 4096, "post-pivot write reached the source")
check(r[4 << 20:8 << 20] == s[4 << 20:8 << 20], "copied data differs")
