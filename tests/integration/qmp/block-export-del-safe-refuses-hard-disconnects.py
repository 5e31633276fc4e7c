#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# block-export-del: unknown id is GenericError; mode safe (default) fails
# while a client is connected; mode hard disconnects it, the export shows
# shutting-down no longer and BLOCK_EXPORT_DELETED arrives.
tmp = lib.tmpdir()
a = lib.sparse_file(tmp, "a.img", 1 << 20)
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
qmp.file_node(c, "n0", a)
sock = qmp.start_nbd(c, tmp)
c.err("block-export-del", "GenericError", id="nope")
c.ok("block-export-add", type="nbd", id="e0", **{"node-name": "n0"})
h = qmp.nbd_connect(sock, "n0")
c.err("block-export-del", "GenericError", id="e0")
c.err("block-export-del", "GenericError", id="e0", mode="safe")
check(c.ok("query-block-exports")[0]["shutting-down"] is False, "shutting down after a refused del")
c.ok("block-export-del", id="e0", mode="hard")
ev = c.wait_event("BLOCK_EXPORT_DELETED")
check(ev["data"] == {"id": "e0"}, "event %r" % ev)
check(c.ok("query-block-exports") == [], "export still listed")
c.err("block-export-del", "GenericError", id="e0")
