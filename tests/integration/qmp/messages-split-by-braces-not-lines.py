#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# Several commands on one line, one command over several lines and one sent
# a byte at a time each get their own reply, in order.
tmp = lib.tmpdir()
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
c.send_raw('{"execute": "query-version", "id": 1}{"execute": "query-commands", "id": 2} '
           '{"execute": "nope", "id": 3}\n')
ids = [c.reply().get("id") for _ in range(3)]
check(ids == [1, 2, 3], "replies out of order or missing: %r" % ids)
c.send_raw('{\n  "execute":\n  "query-version",\n  "id": "multi"\n}\n')
check(c.reply().get("id") == "multi", "multi-line command not answered")
for b in b'{"execute": "query-version", "id": "slow", "arguments": {}}':
    c.send_raw(bytes([b]))
check(c.reply().get("id") == "slow", "byte-at-a-time command not answered")
# Braces inside strings do not count.
c.send_raw('{"execute": "no-such-}}{{", "id": "str"}\n')
r = c.reply()
check(r.get("id") == "str" and r["error"]["class"] == "CommandNotFound", "braces in string: %r" % r)
