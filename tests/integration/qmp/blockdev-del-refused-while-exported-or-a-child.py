#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# blockdev-del fails while the node is exported or is another node's child,
# succeeds once it is not; an unknown node is GenericError; an inline child
# is not the monitor's to delete and goes with its parent.
tmp = lib.tmpdir()
a = lib.sparse_file(tmp, "a.img", 1 << 20)
b = lib.sparse_file(tmp, "b.img", 1 << 20)
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
qmp.file_node(c, "fa", a)
c.ok("blockdev-add", driver="raw", file="fa", **{"node-name": "ra"})
c.err("blockdev-del", "GenericError", **{"node-name": "fa"})          # child of ra
qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", **{"node-name": "ra"})
c.err("blockdev-del", "GenericError", **{"node-name": "ra"})          # exported
c.ok("block-export-del", id="e0")
c.ok("blockdev-del", **{"node-name": "ra"})
c.ok("blockdev-del", **{"node-name": "fa"})
desc = c.err("blockdev-del", "GenericError", **{"node-name": "fa"})
check("fa" in desc, "unknown node desc %r" % desc)
c.ok("blockdev-add", driver="raw", file={"driver": "file", "filename": b}, **{"node-name": "rb"})
child = [n["node-name"] for n in c.ok("query-named-block-nodes") if n["node-name"] != "rb"]
check(len(child) == 1, "inline child not listed: %r" % child)
c.err("blockdev-del", "GenericError", **{"node-name": child[0]})
c.ok("blockdev-del", **{"node-name": "rb"})
check(c.ok("query-named-block-nodes") == [], "inline child left behind")
