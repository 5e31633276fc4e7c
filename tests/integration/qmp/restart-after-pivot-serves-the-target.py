#!/usr/bin/python3
# The state file follows a mirror's pivot: after blockdev-mirror and
# block-job-complete the export serves the target, a write lands there,
# and after SIGKILL a restart with --state serves the target (with that
# write), never the source. The same for drive-mirror, whose target node
# the job opens under a generated name.
import os, signal, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("--state is volswapd's")

MiB = 1 << 20


def run(kind):
    tmp = lib.tmpdir()
    src = lib.sparse_file(tmp, "src.img", 4 * MiB)
    lib.write_at(src, 0, b"S" * 4096)
    tgt = os.path.join(tmp, "tgt.img")
    state = os.path.join(tmp, "state.json")
    d = qmp.MonitorDaemon(tmp, state=state).start()
    c = d.client()
    qmp.file_node(c, "src", src)
    sock = qmp.start_nbd(c, tmp)
    c.ok("block-export-add", type="nbd", id="e0", name="vol", writable=True, **{"node-name": "src"})
    if kind == "blockdev-mirror":
        lib.sparse_file(tmp, "tgt.img", 4 * MiB)
        qmp.file_node(c, "tgt", tgt)
        c.ok("blockdev-mirror", device="src", target="tgt", sync="full", **{"job-id": "j"})
    else:
        c.ok("drive-mirror", device="src", target=tgt, sync="full", format="raw", **{"job-id": "j"})
    c.wait_event("BLOCK_JOB_READY")
    c.ok("block-job-complete", device="j")
    c.wait_event("BLOCK_JOB_COMPLETED")
    (e,) = c.ok("query-block-exports")
    check(e["node-name"] != "src", "export still on the source: %r" % e)
    h = qmp.nbd_connect(sock, "vol")
    h.pwrite(b"T" * 4096, MiB)
    h.flush()
    h.shutdown()
    with open(src, "rb") as f:
        f.seek(MiB)
        check(f.read(4096) == b"\0" * 4096, "%s: write after the pivot reached the source" % kind)
    d.stop(signal.SIGKILL)
    d2 = qmp.MonitorDaemon(tmp, state=state).start()
    c2 = d2.client()
    (e2,) = c2.ok("query-block-exports")
    nodes = {n["node-name"]: n for n in c2.ok("query-named-block-nodes")}
    check(nodes[e2["node-name"]]["file"] == tgt, "%s: restarted export serves %r" % (kind, nodes[e2["node-name"]]))
    h = qmp.nbd_connect(sock, "vol")
    check(h.pread(4096, 0) == b"S" * 4096, "%s: mirrored data missing after restart" % kind)
    check(h.pread(4096, MiB) == b"T" * 4096, "%s: post-pivot write missing after restart" % kind)
    h.shutdown()
    d2.stop()


run("blockdev-mirror")
run("drive-mirror")
