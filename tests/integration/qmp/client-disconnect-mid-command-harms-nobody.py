#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only(qmp.MULTI)
# Clients that vanish — with a command half sent, or right after sending
# one before reading its reply, or with replies queued — do not disturb the
# daemon or the other clients.
import socket
tmp = lib.tmpdir()
a = lib.sparse_file(tmp, "a.img", 1 << 20)
d = qmp.MonitorDaemon(tmp).start()
keeper = d.client()
for i in range(20):
    c = d.client()
    if i % 3 == 0:
        c.send_raw('{"execute": "blockdev-add", "arguments": {"driver": "fi')
    elif i % 3 == 1:
        c.send("blockdev-add", {"driver": "file", "node-name": "n%d" % i, "filename": a})
    else:
        for _ in range(200):
            c.send("query-commands")
    c.sock.shutdown(socket.SHUT_RDWR)
    c.close()
check(d.alive(), "daemon died")
check("return" in keeper.cmd("query-version"), "other client affected")
names = {n["node-name"] for n in keeper.ok("query-named-block-nodes")}
check(names <= {"n%d" % i for i in range(20)}, "unexpected nodes %r" % names)
