#!/usr/bin/python3
# blockdev-add of a raw node over a file given inline opens the file on the
# worker pool: while that open hangs (a FIFO nobody writes to, standing for
# a dead NFS server) another client is answered; when it fails, neither
# node is left. The same command on a real file then gives both nodes, the
# raw one named and its file under a generated name, as QEMU does.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("qemu-storage-daemon opens files on its main loop")
tmp = lib.tmpdir()
a = lib.sparse_file(tmp, "a.img", 1 << 20)
fifo = os.path.join(tmp, "hung")
os.mkfifo(fifo)
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
w = d.client()
w.send("blockdev-add", {"driver": "raw", "node-name": "r0", "read-only": True,
                        "file": {"driver": "file", "filename": fifo, "read-only": True}},
       req_id=1)
check(w.no_message(0.5), "answered before the inline file was open")
check(c.ok("query-named-block-nodes") == [], "a node visible while its file opens")
fd = os.open(fifo, os.O_WRONLY)
r = w.reply()
os.close(fd)
check(r.get("id") == 1 and "error" in r, "raw over a FIFO: %r" % r)
check(c.ok("query-named-block-nodes") == [], "a node left after the failed open")
w.ok("blockdev-add", {"driver": "raw", "node-name": "r0",
                      "file": {"driver": "file", "filename": a}})
nodes = {n["node-name"]: n["drv"] for n in c.ok("query-named-block-nodes")}
check(nodes.get("r0") == "raw" and len(nodes) == 2, "nodes: %r" % nodes)
child = [n for n in nodes if n != "r0"][0]
check(child.startswith("#block") and nodes[child] == "file", "child: %r" % nodes)
