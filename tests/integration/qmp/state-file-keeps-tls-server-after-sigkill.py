#!/usr/bin/python3
"""TLS objects and the NBD server's tls-creds and tls-authz made over QMP
are in the state file: after SIGKILL a restart with only --state serves
the export over TLS again. A plaintext client is refused, a TLS client
with the certificates reads what was written before the kill, and
query-block-exports lists the export. tls-authz survives too: the authz
object is back (the client is allowed at first, object-del finds it), and
the server still names it (after object-del the next client is refused,
and an object-add under that id with another identity keeps refusing)."""
import os, signal, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
import nbd
from qmp import lib, check

qmp.volswapd_only("--state is volswapd's")


Remote = lib.SocketAddr


def refused(sock, what, **tls):
    try:
        h = lib.connect(Remote(sock), "e0", **tls)
    except nbd.Error:
        return
    h.shutdown()
    lib.fail(what)


tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
img = lib.sparse_file(tmp, "a.img", 4 << 20)
state = os.path.join(tmp, "state.json")
d = qmp.MonitorDaemon(tmp, state=state).start()
c = d.client()
c.ok("object-add", **{"qom-type": "authz-simple", "id": "az",
                      "identity": "O=Test Org,CN=client"})
sock = qmp.tls_export(c, tmp, pki, img, authz="az")
h = lib.connect(Remote(sock), "e0", tls=pki)
data = lib.random_bytes(65536, seed=5)
h.pwrite(data, 1 << 20)
h.flush()
h.shutdown()
d.stop(signal.SIGKILL)

d2 = qmp.MonitorDaemon(tmp, state=state).start()
c2 = d2.client()
check(c2.ok("query-block-exports") == [{"type": "nbd", "id": "e0", "node-name": "n0",
                                         "shutting-down": False}], "export not restored")
refused(sock, "a plaintext client connected after the restart")
h = lib.connect(Remote(sock), "e0", tls=pki)
check(h.get_tls_negotiated(), "TLS not negotiated after the restart")
check(h.pread(65536, 1 << 20) == data, "data read over TLS after the restart differs")
h.shutdown()
# the authz object came back and the server still checks it
check(c2.err("object-add", "GenericError", **{"qom-type": "authz-simple", "id": "az",
                                              "identity": "x"})
      == "attempt to add duplicate property 'az' to object (type 'container')",
      "authz object not restored")
c2.ok("object-del", id="az")
refused(sock, "a TLS client was allowed with the server's authz object deleted", tls=pki)
c2.ok("object-add", **{"qom-type": "authz-simple", "id": "az",
                       "identity": "CN=client,O=Test Org"})
refused(sock, "a TLS client was allowed by an identity that is not its DN", tls=pki)
check(c2.err("object-add", "GenericError", **{"qom-type": "tls-creds-x509", "id": "srv",
                                              "dir": pki, "endpoint": "server"})
      == "attempt to add duplicate property 'srv' to object (type 'container')",
      "server creds object not restored")
print("ok")
