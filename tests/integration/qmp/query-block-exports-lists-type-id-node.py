#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
tmp = lib.tmpdir()
a = lib.sparse_file(tmp, "a.img", 1 << 20)
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
check(c.ok("query-block-exports") == [], "exports before any")
qmp.file_node(c, "n0", a)
qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", name="vol", description="d", writable=True,
     **{"node-name": "n0"})
r = c.ok("query-block-exports")
check(r == [{"type": "nbd", "id": "e0", "node-name": "n0", "shutting-down": False}], "%r" % r)
c.err("block-export-add", "GenericError", type="nbd", id="e0", **{"node-name": "n0"})
c.err("block-export-add", "GenericError", type="nbd", id="e1", **{"node-name": "nope"})
