#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
tmp = lib.tmpdir()
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
desc = c.err("no-such-command", "CommandNotFound")
check("no-such-command" in desc, "desc %r" % desc)
c.err("block_set_io_throttle", "CommandNotFound", device="x")
c.ok("query-version")
