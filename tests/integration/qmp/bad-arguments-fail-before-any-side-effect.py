#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# Unknown keys, wrong types, missing members and bad enum values are
# GenericError, and nothing was opened or started.
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "a.img", 1 << 20)
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
base = {"driver": "file", "node-name": "n0", "filename": img}
c.err("blockdev-add", "GenericError", dict(base, bogus=1))
c.err("blockdev-add", "GenericError", dict(base, **{"read-only": "yes"}))
c.err("blockdev-add", "GenericError", {"driver": "file", "node-name": "n0"})
c.err("blockdev-add", "GenericError", dict(base, driver="qcow7"))
c.err("blockdev-add", "GenericError", dict(base, cache={"direct": 1}))
c.err("blockdev-add", "GenericError", dict(base, cache={"unknown": True}))
c.err("nbd-server-start", "GenericError", addr={"type": "unix", "data": {"path": 7}})
c.err("nbd-server-start", "GenericError", addr={"type": "unix"})
c.err("block-export-del", "GenericError", id="x", mode="gentle")
c.err("query-version", "GenericError", a=1)
c.err("block_resize", "GenericError", **{"node-name": "n0", "size": "big"})
check(c.ok("query-named-block-nodes") == [], "a node was opened by a bad command")
c.err("nbd-server-stop", "GenericError")   # still not running
