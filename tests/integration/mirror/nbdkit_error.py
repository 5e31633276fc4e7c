"""The nbdkit error-filter scenario shared by nbdkit-error-target-*.py (not
a test: not executable). A remote target served by nbdkit with the error
filter, switched on and off through its error-file."""
import os
from mirror_helpers import job_events, next_event, check, lib, qmp, nbdkit, near_with_remote_target

SIZE = 16 << 20


def run(policy):
    tmp = lib.tmpdir()
    src = lib.sparse_file(tmp, "src.img", SIZE)
    lib.write_at(src, 0, lib.random_bytes(8 << 20, 31))
    remote = lib.sparse_file(tmp, "remote.img", SIZE)
    errfile = os.path.join(tmp, "errors-on")
    open(errfile, "w").close()
    kit, ksock = nbdkit(tmp, ["--filter=error", "file", remote, "error=EIO",
                              "error-pwrite-rate=100%", "error-file=" + errfile])
    try:
        d, c, h = near_with_remote_target(tmp, src, ksock)
        c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt",
                                   "sync": "full", "on-target-error": policy})
        while True:
            e = next_event(c)
            if e["event"] == "BLOCK_JOB_ERROR":
                break
        check(e["data"] == {"device": "j0", "operation": "write",
                            "action": "stop" if policy == "stop" else "report"}, "%r" % e)
        for i in range(32):                    # the guest never sees it
            h.pwrite(b"q" * 4096, (10 << 20) + i * 4096)
        h.flush()
        if policy == "report":
            seen, done = job_events(c, "BLOCK_JOB_COMPLETED")
            check("error" in done["data"], "no error in %r" % done)
            job_events(c, "null")
            (x,) = c.ok("query-block-exports")
            check(x["node-name"] == "src", "export moved to %r" % x["node-name"])
        else:
            c.events.clear()
            (j,) = c.ok("query-block-jobs")
            while j["status"] != "paused":       # the pause lands at the next step
                next_event(c)
                (j,) = c.ok("query-block-jobs")
            check(j["io-status"] == "failed", "%r" % j)
            os.unlink(errfile)
            c.ok("block-job-resume", device="j0")
            job_events(c, "BLOCK_JOB_READY")
            c.ok("block-job-complete", device="j0")
            job_events(c, "null")
            h.flush()
            (x,) = c.ok("query-block-exports")
            check(x["node-name"] == "tgt", "export on %r" % x["node-name"])
        h.shutdown()
        d.stop()
        if policy == "stop":
            check(lib.same_file(src, remote), "remote volume differs from the source")
    finally:
        kit.terminate()
        kit.wait()

