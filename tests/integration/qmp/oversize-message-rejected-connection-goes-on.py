#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only(qmp.MULTI)
# A message over 1 MiB gets one GenericError (the rest of its line is
# dropped unread) and the next line is served; other clients never notice.
tmp = lib.tmpdir()
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
other = d.client()
big = '{"execute": "query-version", "arguments": {"a": "' + "x" * (2 << 20) + '"}}\n'
c.send_raw(big)
r = c.reply()
check(r.get("error", {}).get("class") == "GenericError", "oversize: %r" % r)
check("return" in c.cmd("query-version"), "session did not go on after an oversize message")
check("return" in other.cmd("query-version"), "another client was affected")
