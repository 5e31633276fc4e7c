#!/usr/bin/python3
# blockdev-add of raw over raw over a file, all inline, opens the file on
# the worker pool like a single level does: while that open hangs (a FIFO
# nobody writes to, opened read-only) another client is answered; when it fails no node of
# the three is left. On a real file all three open, the unnamed ones under
# generated names in QEMU's order (the outer child first), and blockdev-del
# of the top takes its inline children with it.
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


def chain(filename, ro):
    return {"driver": "raw", "node-name": "r0", "read-only": ro,
            "file": {"driver": "raw", "read-only": ro,
                     "file": {"driver": "file", "filename": filename, "read-only": ro}}}


# Read-only: opening a FIFO for reading waits for a writer.
w.send("blockdev-add", chain(fifo, True), req_id=1)
check(w.no_message(0.5), "answered before the innermost file was open")
check(c.ok("query-version")["qemu"]["major"] >= 0, "another client not answered")
check(c.ok("query-named-block-nodes") == [], "a node visible while the chain opens")
fd = os.open(fifo, os.O_WRONLY)
r = w.reply()
os.close(fd)
check(r.get("id") == 1 and "error" in r, "chain over a FIFO: %r" % r)
check(c.ok("query-named-block-nodes") == [], "a node left after the failed open")
w.ok("blockdev-add", chain(a, False))
nodes = {n["node-name"]: n["drv"] for n in c.ok("query-named-block-nodes")}
gen = sorted(n for n in nodes if n != "r0")
check(nodes.get("r0") == "raw" and len(gen) == 2, "nodes: %r" % nodes)
check(all(n.startswith("#block") for n in gen), "generated names: %r" % gen)
check([nodes[n] for n in gen] == ["raw", "file"], "outer child named first: %r" % nodes)
c.ok("blockdev-del", **{"node-name": "r0"})
left = [n["node-name"] for n in c.ok("query-named-block-nodes")]
check(left == [], "inline children left after blockdev-del: %r" % left)
