#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only(qmp.MULTI)
# BLOCK_EXPORT_DELETED reaches two negotiated clients (one of which did not
# issue the command) with QEMU's timestamp; an unnegotiated one gets nothing.
tmp = lib.tmpdir()
a = lib.sparse_file(tmp, "a.img", 1 << 20)
d = qmp.MonitorDaemon(tmp).start()
c1, c2 = d.client(), d.client()
c3 = d.client(negotiate=False)
qmp.file_node(c1, "n0", a)
qmp.start_nbd(c1, tmp)
c1.ok("block-export-add", type="nbd", id="e0", **{"node-name": "n0"})
c1.ok("block-export-del", id="e0")
for c in (c1, c2):
    e = c.wait_event("BLOCK_EXPORT_DELETED")
    check(set(e) == {"event", "data", "timestamp"}, "event keys %r" % e)
    check(e["data"] == {"id": "e0"}, "data %r" % e)
    ts = e["timestamp"]
    check(set(ts) == {"seconds", "microseconds"} and 0 <= ts["microseconds"] < 1000000, "ts %r" % ts)
check(c3.no_message(), "unnegotiated client got an event")
