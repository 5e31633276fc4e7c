#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only(qmp.MULTI)
# A client that never reads while events pile up is disconnected once its
# queue passes the bound; the daemon keeps serving everyone else.
tmp = lib.tmpdir()
a = lib.sparse_file(tmp, "a.img", 1 << 20)
d = qmp.MonitorDaemon(tmp).start()
slow = d.client()
slow.sock.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 4096)
c = d.client()
qmp.file_node(c, "n0", a)
qmp.start_nbd(c, tmp)
# Each add/del pair raises one event for every client; with long ids the
# slow client's queue passes 8 MiB after a few thousand.
ident = "e" * 3000
for i in range(4000):
    c.ok("block-export-add", type="nbd", id=ident, **{"node-name": "n0"})
    c.ok("block-export-del", id=ident)
    c.events.clear()
check(slow.closed(), "slow reader was not disconnected")
check(d.alive(), "daemon died")
check("return" in c.cmd("query-version"), "fast client affected")
