#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# Bad JSON and bad envelopes get GenericError; the same connection then
# runs a command normally.
tmp = lib.tmpdir()
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
bad = [b"garbage\n", b"123\n", b'"str"\n', b'{"execute": }\n', b'{"execute": "query-version",}\n',
       b"[1, 2]\n", b'{"arguments": {}}\n', b'{"execute": 5}\n',
       b'{"execute": "query-version", "arguments": []}\n',
       b'{"execute": "query-version", "bogus": 1}\n',
       b'{"execute": "query-version", "execute": "quit"}\n']
for b in bad:
    c.send_raw(b)
    r = c.reply()
    check("error" in r and r["error"]["class"] == "GenericError",
          "%r: expected GenericError, got %r" % (b, r))
check("return" in c.cmd("query-version"), "session did not go on")
check(d.alive(), "daemon died")
