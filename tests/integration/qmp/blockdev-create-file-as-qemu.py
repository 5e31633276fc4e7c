#!/usr/bin/python3
# blockdev-create of raw image files in one scripted session against
# qemu-storage-daemon (the reference) and volswapd: the same replies, the
# same JOB_STATUS_CHANGE sequences (created, running, then waiting,
# pending, concluded; or aborting, concluded on a failure),
# the same query-jobs entries (type create, progress 1/1, QEMU's error
# texts for a missing directory and an impossible size), the same
# argument errors, no entry in query-block-jobs, and files of the same
# size and allocation (full preallocation writes every byte, off leaves
# the file sparse). An existing file is reused and cleared. On volswapd the
# created file then takes a mirror: blockdev-add, blockdev-mirror in mode
# existing, and it holds the source's data.
import os, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.both_servers()
M = 1 << 20


def session(impl):
    tmp, d, c = qmp.session_on(impl)
    out = []

    def events():
        ev = [(e["event"], e["data"]) for e in c.events]
        c.events.clear()
        return ev

    def create(job, **opts):
        opts = {k: (v.replace("TMP", tmp) if isinstance(v, str) else v) for k, v in opts.items()}
        r = c.cmd("blockdev-create", {"job-id": job, "options": opts})
        if "error" in r:
            out.append(("create", job, "error", r["error"]["desc"].replace(tmp, "TMP")))
            return
        before = events()
        for _ in range(500):
            jobs = c.ok("query-jobs")
            if all(j["status"] == "concluded" for j in jobs):
                break
            time.sleep(0.01)
        c.ok("query-version")
        # QEMU may end a failed create before its reply (the open does not
        # yield); volswapd opens on the worker pool: the sequence is compared
        out.append(("create", job, before + events(),
                    [{k: (v.replace(tmp, "TMP") if isinstance(v, str) else v)
                      for k, v in j.items()} for j in jobs],
                    c.ok("query-block-jobs")))
        c.ok("job-dismiss", id=job)
        out.append(("dismissed", events()))

    def size(name):
        st = os.stat(os.path.join(tmp, name))
        return (st.st_size, st.st_blocks * 512 >= st.st_size)

    create("c1", driver="file", filename="TMP/new.raw", size=M)
    out.append(("c1 file", size("new.raw")[0]))
    create("c2", driver="file", filename="TMP/new.raw", size=2 * M, preallocation="full")
    out.append(("c2 file", size("new.raw")))
    create("c3", driver="file", filename="TMP/nodir/x.raw", size=M)
    create("c4", driver="file", filename="TMP/y.raw", size=-1)
    create("c5", driver="file", filename="TMP/y.raw")
    create("1bad", driver="file", filename="TMP/y.raw", size=1)
    create("c6", driver="file", filename="TMP/z.raw", size=1000, preallocation="falloc",
           nocow=True)
    out.append(("c6 file", size("z.raw")))
    r = c.cmd("block-job-cancel", {"device": "nope"})
    out.append(("cancel unknown", r["error"]["class"]))
    return out, tmp, d, c


ref = session("qsd")[0]
ours, tmp, d, c = session("volswapd")
qmp.same_steps(ref, ours)
check(("c2 file", (2 * M, True)) in ours, "full preallocation: %r" % ours)

# the created file as a mirror target
src = lib.sparse_file(tmp, "src.img", M)
subprocess.run(["qemu-io", "-f", "raw", "-c", "write -P 0x5c 0 1M", src], check=True,
               capture_output=True)
c.ok("blockdev-create", **{"job-id": "t", "options": {"driver": "file",
                                                      "filename": tmp + "/tgt.raw", "size": M}})
for _ in range(500):
    if c.ok("query-jobs")[0]["status"] == "concluded":
        break
    time.sleep(0.01)
c.ok("job-dismiss", id="t")
qmp.file_node(c, "s0", src)
qmp.file_node(c, "t0", tmp + "/tgt.raw")
c.ok("blockdev-mirror", **{"job-id": "m", "device": "s0", "target": "t0", "sync": "full"})
c.wait_event("BLOCK_JOB_READY")
c.ok("block-job-cancel", device="m")
c.wait_event("BLOCK_JOB_COMPLETED")
check(open(tmp + "/tgt.raw", "rb").read() == b"\x5c" * M, "the created target holds the data")
