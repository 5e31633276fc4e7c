#!/usr/bin/python3
"""A target on a tmpfs too small for the data: with on-target-error=enospc
the job stops (BLOCK_JOB_ERROR action stop, status paused, io-status
nospace) while an NBD client of the source goes on writing without an
error; with room made, block-job-resume finishes the copy and the pivot
succeeds. Needs root to mount the small tmpfs."""
import os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import job_events, next_event, check, lib, qmp

if os.geteuid() != 0:
    lib.skip("mounting a small tmpfs needs root")
SIZE = 32 << 20
tmp = lib.tmpdir()
mnt = os.path.join(tmp, "small")
os.mkdir(mnt)
if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8M", "tmpfs", mnt]).returncode:
    lib.skip("cannot mount a tmpfs here")
try:
    src = lib.sparse_file(tmp, "src.img", SIZE)
    lib.write_at(src, 0, lib.random_bytes(16 << 20, 21))
    tgt = lib.sparse_file(mnt, "tgt.img", SIZE)
    filler = os.path.join(mnt, "filler")
    d = qmp.MonitorDaemon(tmp).start()
    c = d.client()
    qmp.file_node(c, "src", src)
    qmp.file_node(c, "tgt", tgt)
    sock = qmp.start_nbd(c, tmp)
    c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
    h = qmp.nbd_connect(sock, "src")
    c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt",
                               "sync": "full", "on-target-error": "enospc"})
    while True:
        e = next_event(c)
        if e["event"] == "BLOCK_JOB_ERROR":
            break
        check(e["event"] == "JOB_STATUS_CHANGE", "unexpected %r" % e)
    check(e["data"] == {"device": "j0", "operation": "write", "action": "stop"}, "%r" % e)
    for i in range(64):                       # the guest does not notice
        h.pwrite(b"g" * 4096, (20 << 20) + i * 4096)
    h.flush()
    c.wait_event("JOB_STATUS_CHANGE")         # paused
    (j,) = c.ok("query-block-jobs")
    check(j["status"] == "paused" and j["io-status"] == "nospace" and j["paused"], "%r" % j)
    subprocess.run(["mount", "-o", "remount,size=64M", mnt], check=True)
    c.events.clear()
    c.ok("block-job-resume", device="j0")
    (j,) = c.ok("query-block-jobs")
    check(j["io-status"] == "ok", "io-status after resume %r" % j)
    job_events(c, "BLOCK_JOB_READY")
    c.ok("block-job-complete", device="j0")
    seen, _ = job_events(c, "null")
    check("BLOCK_JOB_COMPLETED" in seen, "events %r" % seen)
    h.flush()
    h.shutdown()
    check(lib.same_file(src, tgt), "target differs from the source")
    d.stop()
finally:
    subprocess.run(["umount", "-l", mnt])
