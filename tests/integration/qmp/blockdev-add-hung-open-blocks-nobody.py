#!/usr/bin/python3
# blockdev-add of a file whose open(2) hangs (here a FIFO opened read-only,
# which waits for a writer, as an open on a dead NFS server waits for the
# server) stops nobody: the open runs on the worker pool. Meanwhile another
# monitor client is answered, the name is taken but the node is not
# visible, and an NBD client reads and writes. The waiting client's later
# command is answered after its blockdev-add, in order. When the open
# returns, blockdev-add fails with the driver's error and the name is free.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("qemu-storage-daemon opens files on its main loop; its monitor waits too")
tmp = lib.tmpdir()
fifo = os.path.join(tmp, "hung")
os.mkfifo(fifo)
d, c, sock, a = qmp.exported_volume(tmp)

w = d.client()
w.send("blockdev-add", {"driver": "file", "node-name": "slow", "filename": fifo,
                        "read-only": True}, req_id=1)
w.send("query-version", req_id=2)
check(w.no_message(0.5), "blockdev-add answered before its open returned")

names = [n["node-name"] for n in c.ok("query-named-block-nodes")]
check(names == ["n0"], "a node still opening is visible: %r" % names)
desc = c.err("blockdev-add", "GenericError", driver="file", **{"node-name": "slow",
                                                               "filename": a})
check("Duplicate" in desc, "the opening node's name was not taken: %r" % desc)
qmp.nbd_still_serves(sock, "n0", "NBD I/O blocked by a hung open")
check(w.no_message(0.2), "blockdev-add answered before its open returned")

# Let the open return: a writer on the FIFO releases the reader.
fd = os.open(fifo, os.O_WRONLY)
r1 = w.reply()
os.close(fd)
check(r1.get("id") == 1 and "error" in r1, "blockdev-add of a FIFO: %r" % r1)
check("not a regular file or block device" in r1["error"]["desc"], "error: %r" % r1)
r2 = w.reply()
check(r2.get("id") == 2 and "return" in r2, "the next command after the deferred one: %r" % r2)
qmp.file_node(c, "slow", a + "", **{"read-only": True})
names = sorted(n["node-name"] for n in c.ok("query-named-block-nodes"))
check(names == ["n0", "slow"], "nodes after the retry: %r" % names)
