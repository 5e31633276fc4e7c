#!/usr/bin/python3
"""object-del of an iothread that an export is bound to is refused (the
export's clients run on its thread; qemu-storage-daemon lets it go), the
export's client goes on reading and writing, and once the export is
deleted the object-del succeeds: the thread is gone from the daemon and
query-iothreads no longer lists it; the id can be used again."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.volswapd_only("qemu-storage-daemon deletes an iothread in use")
tmp = lib.tmpdir()
a = lib.sparse_file(tmp, "a.img", 1 << 20)
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
c.ok("object-add", **{"qom-type": "iothread", "id": "io0"})
tid = c.ok("query-iothreads")[0]["thread-id"]
qmp.file_node(c, "n0", a)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, iothread="io0",
     **{"node-name": "n0"})
h = qmp.nbd_connect(sock, "n0")
h.pwrite(b"x" * 4096, 0)
desc = c.err("object-del", "GenericError", id="io0")
check(desc == "iothread 'io0' is in use by export 'e0'", "refusal: %r" % desc)
check(h.pread(4096, 0) == b"x" * 4096, "the bound export's client stopped working")
h.shutdown()
c.ok("block-export-del", id="e0", mode="hard")
c.wait_event("BLOCK_EXPORT_DELETED")
c.ok("object-del", id="io0")
check(c.ok("query-iothreads") == [], "query-iothreads still lists io0")
check(not os.path.exists("/proc/%d/task/%d" % (d.pid, tid)), "io0's thread is still running")
c.ok("object-add", **{"qom-type": "iothread", "id": "io0"})
check([t["id"] for t in c.ok("query-iothreads")] == ["io0"], "io0 not added again")
