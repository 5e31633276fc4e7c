#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only(qmp.MULTI)
# quit: the reply arrives, then the connection closes and the daemon exits 0
# after flushing; another client is disconnected too.
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "a.img", 1 << 20)
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
other = d.client()
qmp.file_node(c, "n0", img)
r = c.cmd("quit", req_id="bye")
check(r == {"return": {}, "id": "bye"}, "quit reply %r" % r)
check(c.closed(), "connection not closed after quit")
check(other.closed(), "other client not closed after quit")
rc = d.wait_exit()
check(rc == 0, "exit status %d after quit" % rc)
