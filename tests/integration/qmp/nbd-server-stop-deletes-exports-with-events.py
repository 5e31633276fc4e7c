#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# nbd-server-stop (QEMU 7.2): every NBD export is deleted, with a
# BLOCK_EXPORT_DELETED each before the reply; connected clients are cut;
# stopping twice or adding an export without a server is GenericError.
tmp = lib.tmpdir()
a = lib.sparse_file(tmp, "a.img", 1 << 20)
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
qmp.file_node(c, "n0", a)
c.err("block-export-add", "GenericError", type="nbd", id="e0", **{"node-name": "n0"})
sock = qmp.start_nbd(c, tmp)
c.err("nbd-server-start", "GenericError", addr={"type": "unix", "data": {"path": sock + "2"}})
c.ok("block-export-add", type="nbd", id="e0", **{"node-name": "n0"})
c.ok("block-export-add", type="nbd", id="e1", name="other", **{"node-name": "n0"})
h = qmp.nbd_connect(sock, "n0")
c.ok("nbd-server-stop")
ids = sorted(c.events.pop(0)["data"]["id"] for _ in range(2)) if len(c.events) == 2 else c.events
check(ids == ["e0", "e1"], "events before the reply: %r" % ids)
check(c.ok("query-block-exports") == [], "exports left after nbd-server-stop")
c.err("nbd-server-stop", "GenericError")
import nbd
try:
    h.pread(512, 0)
    lib.fail("NBD client still served after nbd-server-stop")
except nbd.Error:
    pass
check(not os.path.exists(sock), "socket file left behind")
qmp.start_nbd(c, tmp, "again.sock")
