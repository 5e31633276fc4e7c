#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# "id" comes back exactly as sent, whatever JSON it is, on success and error.
tmp = lib.tmpdir()
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
for ident in [1, "x", [1, {"a": None}], {"deep": [True, 2.5]}, None, False, -7]:
    r = c.cmd("query-version", req_id=ident) if ident is not None else None
    if ident is None:
        c.send_raw('{"execute": "query-version", "id": null}\n')
        r = c.reply()
        check("id" in r and r["id"] is None, "null id not echoed: %r" % r)
        continue
    check(r.get("id") == ident and "return" in r, "id %r not echoed: %r" % (ident, r))
    r = c.cmd("no-such-command", req_id=ident)
    check(r.get("id") == ident and r["error"]["class"] == "CommandNotFound", "error id %r: %r" % (ident, r))
r = c.cmd("query-version")
check("id" not in r, "id invented: %r" % r)
