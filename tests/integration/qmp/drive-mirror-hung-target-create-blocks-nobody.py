#!/usr/bin/python3
# drive-mirror creates its target file on the worker pool: a create that
# hangs (the target path is a FIFO nobody reads, standing for a dead NFS
# server) delays only that client's reply; another monitor client is
# answered and the source's NBD client reads and writes. When the open
# returns, drive-mirror fails with the file error and no job is left.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("qemu-storage-daemon creates the target on its main loop")
tmp = lib.tmpdir()
fifo = os.path.join(tmp, "target")
os.mkfifo(fifo)
d, c, sock, a = qmp.exported_volume(tmp)
w = d.client()
w.send("drive-mirror", {"job-id": "j", "device": "n0", "target": fifo, "sync": "full",
                        "format": "raw"}, req_id=1)
check(w.no_message(0.5), "drive-mirror answered before its target was created")
check(c.ok("query-jobs") == [], "a job before its target exists")
qmp.nbd_still_serves(sock, "n0", "NBD I/O blocked by a hung target create")
fd = os.open(fifo, os.O_RDONLY)     # the create's open returns
r = w.reply()
os.close(fd)
check(r.get("id") == 1 and "error" in r, "drive-mirror onto a FIFO: %r" % r)
check("Could not" in r["error"]["desc"], "error: %r" % r)
check(c.ok("query-jobs") == [], "a job left after the failed drive-mirror")
names = [n["node-name"] for n in c.ok("query-named-block-nodes")]
check(names == ["n0"], "a target node left behind: %r" % names)
