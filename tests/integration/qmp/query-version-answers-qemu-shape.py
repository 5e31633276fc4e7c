#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
tmp = lib.tmpdir()
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
v = c.ok("query-version")
check(set(v) == {"qemu", "package"} and set(v["qemu"]) == {"major", "minor", "micro"}, "%r" % v)
check(v == c.greeting["QMP"]["version"], "query-version differs from the greeting: %r" % v)
