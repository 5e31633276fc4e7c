#!/usr/bin/python3
"""An nbd node opened with tls-creds keeps working after object-del of
those credentials (as with qemu-storage-daemon), and the state file must
still be one a restart can replay: after object-del of the node's client
creds and a SIGKILL, volswapd restarted with the same --state comes up,
the node is back (TLS to the remote server, which requires it), and it
reads and writes the remote volume. (The running server's creds get the
same treatment in state.c; a node's creds must not be forgotten.)"""
import os, signal, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.volswapd_only("--state is volswapd's")
tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
far_img = lib.sparse_file(tmp, "far.img", 1 << 20)
far = lib.Daemon(tmp)
far.blockdev("vol", far_img)
far.export("vol", writable=True)
far.start(tcp=True, tls="tls-creds-x509,id=tls0,dir=%s,endpoint=server" % pki)

state = os.path.join(tmp, "state.json")
d = qmp.MonitorDaemon(tmp, state=state).start()
c = d.client()
c.ok("object-add", **{"qom-type": "tls-creds-x509", "id": "cli", "dir": pki,
                      "endpoint": "client"})
c.ok("blockdev-add", driver="nbd", export="vol", **{
    "node-name": "rv", "tls-creds": "cli",
    "server": {"type": "inet", "host": "127.0.0.1", "port": str(far.port)}})
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="g0", name="g0", writable=True, **{"node-name": "rv"})
c.ok("object-del", id="cli")
qmp.nbd_still_serves(sock, "g0", "the node works after object-del of its creds")
d.stop(signal.SIGKILL)

d2 = qmp.MonitorDaemon(tmp, state=state)
d2.start()
c2 = d2.client()
check("rv" in [n["node-name"] for n in c2.ok("query-named-block-nodes")], "node rv not restored")
h = qmp.nbd_connect(sock, "g0")
h.pwrite(b"after the restart", 12288)
h.flush()
check(h.pread(17, 12288) == b"after the restart", "read back through the restored node")
h.shutdown()
with open(far_img, "rb") as f:
    f.seek(12288)
    check(f.read(17) == b"after the restart", "the remote volume holds the write")
print("ok")
