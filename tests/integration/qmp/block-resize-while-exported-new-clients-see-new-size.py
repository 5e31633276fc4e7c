#!/usr/bin/python3
# volswapd resizes a node while it is exported (the swap workflow grows the
# volume it has just pivoted to, under a running consumer); a client that
# connects afterwards sees the new size. qemu-storage-daemon refuses this
# with a permission conflict.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("qemu-storage-daemon refuses to resize an exported node")
tmp = lib.tmpdir()
d, c, sock, a = qmp.exported_volume(tmp)
old = qmp.nbd_connect(sock, "n0")
c.ok("block_resize", size=8 << 20, **{"node-name": "n0"})
new = qmp.nbd_connect(sock, "n0")
check(new.get_size() == 8 << 20, "new client sees %d" % new.get_size())
new.pwrite(b"tail", (8 << 20) - 4)
check(old.pread(4, 0) == b"\0" * 4, "old client no longer served")
new.shutdown()
old.shutdown()
