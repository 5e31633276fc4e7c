#!/usr/bin/python3
"""object-del of TLS credentials that are in use succeeds, as with
qemu-storage-daemon, and whoever uses them goes on with them: the running
NBD server's creds are deleted, a new TLS client still connects and
writes (a plaintext one is still refused), and after nbd-server-stop the
id is gone ("object 'srv' not found"). The same for an nbd block node:
it opens a TLS export of a second daemon with client creds, the creds
are deleted, and the node still reads and writes the remote volume."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
import nbd
from qmp import lib, check


Remote = lib.SocketAddr


tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
img = lib.sparse_file(tmp, "a.img", 1 << 20)
d = qmp.MonitorDaemon(tmp).start()
c = d.client()

# --- the server's credentials
sock = qmp.tls_export(c, tmp, pki, img)
h1 = lib.connect(Remote(sock), "e0", tls=pki)      # connected before the delete
c.ok("object-del", id="srv")
h = lib.connect(Remote(sock), "e0", tls=pki)
check(h.get_tls_negotiated(), "TLS not negotiated after object-del")
h.pwrite(b"after object-del", 4096)
check(h.pread(16, 4096) == b"after object-del", "read back over TLS after object-del")
h.shutdown()
check(h1.pread(16, 4096) == b"after object-del", "the client connected before the delete")
h1.shutdown()
try:
    lib.connect(Remote(sock), "e0")
    lib.fail("a plaintext client connected to the TLS server after object-del")
except nbd.Error:
    pass
check(c.err("object-del", "GenericError", id="srv") == "object 'srv' not found",
      "the id is out of the namespace at once")
c.ok("nbd-server-stop")
check(c.err("object-del", "GenericError", id="srv") == "object 'srv' not found",
      "object-del after nbd-server-stop")
# the id is free for a new object
c.ok("object-add", **{"qom-type": "tls-creds-x509", "id": "srv", "dir": pki,
                      "endpoint": "server"})
c.ok("object-del", id="srv")

# --- an nbd node's client credentials
far_img = lib.sparse_file(tmp, "far.img", 1 << 20)
far = lib.Daemon(tmp)
far.blockdev("vol", far_img)
far.export("vol", writable=True)
far.start(tcp=True, tls="tls-creds-x509,id=tls0,dir=%s,endpoint=server" % pki)
c.ok("object-add", **{"qom-type": "tls-creds-x509", "id": "cli", "dir": pki,
                      "endpoint": "client"})
c.ok("blockdev-add", driver="nbd", export="vol", **{
    "node-name": "rv", "tls-creds": "cli",
    "server": {"type": "inet", "host": "127.0.0.1", "port": str(far.port)}})
c.ok("object-del", id="cli")
check(c.err("object-del", "GenericError", id="cli") == "object 'cli' not found",
      "client creds still listed after object-del")
sock2 = os.path.join(tmp, "nbd2.sock")
c.ok("nbd-server-start", addr={"type": "unix", "data": {"path": sock2}})
c.ok("block-export-add", type="nbd", id="g0", name="g0", writable=True, **{"node-name": "rv"})
g = lib.connect(Remote(sock2), "g0")
g.pwrite(b"through the nbd node", 8192)
g.flush()
check(g.pread(20, 8192) == b"through the nbd node", "read back through the nbd node")
g.shutdown()
with open(far_img, "rb") as f:
    f.seek(8192)
    check(f.read(20) == b"through the nbd node", "the remote volume holds the write")
print("ok")
