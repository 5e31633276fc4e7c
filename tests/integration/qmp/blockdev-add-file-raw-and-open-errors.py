#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# blockdev-add: file, raw over a named file node, raw with an inline file
# child; QEMU's errors for a missing file, a bad or duplicate node-name and
# a missing root node-name.
tmp = lib.tmpdir()
a = lib.sparse_file(tmp, "a.img", 1 << 20)
b = lib.sparse_file(tmp, "b.img", 2 << 20)
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
qmp.file_node(c, "fa", a)
c.ok("blockdev-add", driver="raw", file="fa", **{"node-name": "ra"})
c.ok("blockdev-add", driver="raw", file={"driver": "file", "filename": b}, **{"node-name": "rb"})
c.ok("blockdev-add", {"driver": "file", "node-name": "ro0", "filename": a, "read-only": True,
                      "cache": {"direct": False}, "discard": "unmap", "aio": "io_uring"})
nodes = {n["node-name"]: n for n in c.ok("query-named-block-nodes")}
check({"fa", "ra", "rb", "ro0"} <= set(nodes), "nodes %r" % list(nodes))
check(nodes["rb"]["image"]["virtual-size"] == 2 << 20 and nodes["rb"]["file"] == b, "rb %r" % nodes["rb"])
check(nodes["ra"]["drv"] == "raw" and nodes["ra"]["image"]["filename"] == a, "ra %r" % nodes["ra"])
check(nodes["ro0"]["ro"] is True, "ro0 not read-only")
desc = c.err("blockdev-add", "GenericError", driver="file", filename=os.path.join(tmp, "nope"),
             **{"node-name": "x"})
check("No such file" in desc, "missing file: %r" % desc)
c.err("blockdev-add", "GenericError", driver="file", filename=a, **{"node-name": "1bad"})
desc = c.err("blockdev-add", "GenericError", driver="file", filename=a, **{"node-name": "fa"})
check("Duplicate" in desc, "duplicate: %r" % desc)
desc = c.err("blockdev-add", "GenericError", driver="file", filename=a)
check("node-name" in desc, "root without node-name: %r" % desc)
c.err("blockdev-add", "GenericError", driver="raw", file="nosuchnode", **{"node-name": "r9"})
