#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# block_resize grows the file and the node; an NBD client sees the new
# size; errors for an unknown node and a negative size. (qemu-storage-daemon
# refuses to resize an exported node; volswapd allows it, see
# block-resize-while-exported-new-clients-see-new-size.py.)
tmp = lib.tmpdir()
a = lib.sparse_file(tmp, "a.img", 1 << 20)
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
qmp.file_node(c, "n0", a)
c.ok("block_resize", size=4 << 20, **{"node-name": "n0"})
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "n0"})
check(os.path.getsize(a) == 4 << 20, "file size %d" % os.path.getsize(a))
(n,) = c.ok("query-named-block-nodes")
check(n["image"]["virtual-size"] == 4 << 20, "node size %r" % n["image"])
h = qmp.nbd_connect(sock, "n0")
check(h.get_size() == 4 << 20, "NBD size %d" % h.get_size())
h.pwrite(b"end", (4 << 20) - 3)
h.shutdown()
c.err("block_resize", "GenericError", size=1, **{"node-name": "nope"})
c.err("block_resize", "GenericError", size=-1, **{"node-name": "n0"})
c.err("block_resize", "GenericError", size=1)
