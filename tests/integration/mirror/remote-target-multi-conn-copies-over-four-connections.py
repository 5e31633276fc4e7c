#!/usr/bin/python3
"""A mirror onto an nbd node whose server advertises CAN_MULTI_CONN (a
second volswapd) copies over four connections: the node opens one at
blockdev-add, the job's first copy opens three more (the copies go
round-robin over those), and the volume ends identical with the guest's
writes on it after the pivot."""
import os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import job_events, check, lib, qmp, remote_volume, near_with_remote_target

qmp.volswapd_only("needs two daemons of the implementation under test")


def connections(sock):
    """Established connections the far server accepted on its socket."""
    out = subprocess.run(["ss", "-xH", "state", "established"], capture_output=True,
                         text=True, check=True).stdout
    return sum(1 for line in out.splitlines() if sock in line.split())


SIZE = 32 << 20
tmp = lib.tmpdir()
src = lib.sparse_file(tmp, "src.img", SIZE)
lib.write_at(src, 0, lib.random_bytes(SIZE, 43))
far, fsock, remote = remote_volume(tmp, SIZE)
near, c, h = near_with_remote_target(tmp, src, fsock, "vol")
n = connections(fsock)
check(n == 1, "before any copy the node has %d connections, not 1" % n)
c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt", "sync": "full"})
h.pwrite(b"m" * 4096, 1 << 20)
job_events(c, "BLOCK_JOB_READY")
n = connections(fsock)
check(n == 4, "after the copy the node has %d connections, not 4" % n)
c.ok("block-job-complete", device="j0")
job_events(c, "null")
h.pwrite(b"p" * 4096, 2 << 20)
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
check(r[:1 << 20] == s[:1 << 20] and r[3 << 20:] == s[3 << 20:], "copied data differs")
