#!/usr/bin/python3
# blockdev-add driver=nbd to a server that accepts the connection but never
# speaks (the NBD handshake waits, as it waits on a host that hung) stops
# nobody: the connect runs on the worker pool. Meanwhile another monitor
# client is answered and an NBD client of another export reads and writes.
# When the server hangs up, blockdev-add fails with a connect error, and
# the same name can then be added against a real server.
import os, socket, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("qemu-storage-daemon connects nbd nodes on its main loop")
tmp = lib.tmpdir()
d, c, sock, a = qmp.exported_volume(tmp)

silent_path = os.path.join(tmp, "silent.sock")
silent = socket.socket(socket.AF_UNIX)
silent.bind(silent_path)
silent.listen(4)
w = d.client()
w.send("blockdev-add", {"driver": "nbd", "node-name": "far",
                        "server": {"type": "unix", "path": silent_path}}, req_id=1)
conn, _ = silent.accept()      # connected; the handshake now waits on us
check(c.ok("query-version")["qemu"]["major"] >= 0, "another client not answered")
qmp.nbd_still_serves(sock, "n0", "NBD I/O blocked by a hanging nbd connect")
check(w.no_message(0.2), "blockdev-add answered before its connect ended")
conn.close()                   # hang up: the handshake fails
silent.close()
r1 = w.reply()
check(r1.get("id") == 1 and "error" in r1, "blockdev-add to a silent server: %r" % r1)
check("Failed to connect to" in r1["error"]["desc"], "error: %r" % r1)
c.ok("blockdev-add", driver="nbd", server={"type": "unix", "path": sock}, export="n0",
     **{"node-name": "far"})
names = sorted(n["node-name"] for n in c.ok("query-named-block-nodes"))
check(names == ["far", "n0"], "nodes: %r" % names)
