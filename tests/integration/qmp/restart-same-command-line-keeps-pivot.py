#!/usr/bin/python3
# A restart runs the same command line as the first start (a service
# manager knows no other): the objects the state file holds are taken from
# it, so after a pivot and SIGKILL the export given on the command line
# as serving the source serves the target, with a write made after the
# pivot. An option naming a new object still adds it.
import os, signal, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("--state is volswapd's")
MiB = 1 << 20
tmp = lib.tmpdir()
src = lib.sparse_file(tmp, "src.img", 4 * MiB)
tgt = lib.sparse_file(tmp, "tgt.img", 4 * MiB)
new = lib.sparse_file(tmp, "new.img", 4 * MiB)
lib.write_at(src, 0, b"S" * 4096)
state = os.path.join(tmp, "state.json")
sock = os.path.join(tmp, "nbd.sock")
line = ["--blockdev", "file,node-name=src,filename=%s" % src,
        "--blockdev", "file,node-name=tgt,filename=%s" % tgt,
        "--nbd-server", "unix:%s" % sock,
        "--export", "nbd,id=e0,node=src,name=vol,writable=on"]
d = qmp.MonitorDaemon(tmp, extra=line, state=state).start()
c = d.client()
c.ok("blockdev-mirror", device="src", target="tgt", sync="full", **{"job-id": "j"})
c.wait_event("BLOCK_JOB_READY")
c.ok("block-job-complete", device="j")
c.wait_event("BLOCK_JOB_COMPLETED")
h = qmp.nbd_connect(sock, "vol")
h.pwrite(b"T" * 4096, MiB)
h.flush()
h.shutdown()
d.stop(signal.SIGKILL)
more = ["--blockdev", "file,node-name=new,filename=%s" % new,
        "--export", "nbd,id=e1,node=new,name=new"]
d2 = qmp.MonitorDaemon(tmp, extra=line + more, state=state).start()
c2 = d2.client()
exports = {e["id"]: e["node-name"] for e in c2.ok("query-block-exports")}
check(exports == {"e0": "tgt", "e1": "new"}, "restarted exports: %r" % exports)
h = qmp.nbd_connect(sock, "vol")
check(h.pread(4096, 0) == b"S" * 4096, "mirrored data missing after the restart")
check(h.pread(4096, MiB) == b"T" * 4096, "the post-pivot write missing after the restart")
h.shutdown()
d2.stop()
with open(d2.logfile, "rb") as f:
    log = f.read()
check(b"'e0' kept as the state file has it" in log, "the kept export is not logged")
