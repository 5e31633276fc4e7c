#!/usr/bin/python3
"""The running NBD server's credentials deleted with object-del (allowed,
the server goes on with them) are still in the state file: after a
SIGKILL, volswapd restarted with only --state comes up, serves the export
over TLS (a TLS client reads what was written, a plaintext client is
refused), and the credentials are an object again under their id."""
import os, signal, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
import nbd
from qmp import lib, check

qmp.volswapd_only("--state is volswapd's")


Remote = lib.SocketAddr


tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
img = lib.sparse_file(tmp, "a.img", 1 << 20)
state = os.path.join(tmp, "state.json")
d = qmp.MonitorDaemon(tmp, state=state).start()
c = d.client()
sock = qmp.tls_export(c, tmp, pki, img)
c.ok("object-del", id="srv")
h = lib.connect(Remote(sock), "e0", tls=pki)
h.pwrite(b"before the kill", 4096)
h.flush()
h.shutdown()
d.stop(signal.SIGKILL)

d2 = qmp.MonitorDaemon(tmp, state=state).start()
c2 = d2.client()
h = lib.connect(Remote(sock), "e0", tls=pki)
check(h.get_tls_negotiated(), "TLS not negotiated after the restart")
check(h.pread(15, 4096) == b"before the kill", "data read over TLS after the restart")
h.shutdown()
try:
    lib.connect(Remote(sock), "e0").shutdown()
    lib.fail("a plaintext client connected after the restart")
except nbd.Error:
    pass
c2.ok("nbd-server-stop")
c2.ok("object-del", id="srv")
print("ok")
