#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("QEMU allows 1024 levels and does not resynchronise after them")
# Nesting deeper than the limit gets GenericError; the connection goes on.
tmp = lib.tmpdir()
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
deep = '{"execute": "query-version", "arguments": {"a": ' + "[" * 5000 + "]" * 5000 + "}}\n"
c.send_raw(deep)
r = c.reply()
check(r.get("error", {}).get("class") == "GenericError", "deep nesting: %r" % r)
check("return" in c.cmd("query-version"), "session did not go on")
