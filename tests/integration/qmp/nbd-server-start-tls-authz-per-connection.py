#!/usr/bin/python3
"""tls-authz is looked up by id for each connection, as QEMU does: a
server started with tls-authz naming an object that does not exist yet
refuses TLS clients (after the handshake); once an authz-simple object
with the client certificate's DN in certificate order ("O=Test
Org,CN=client") is added the next client is accepted and reads, while
one already refused stays refused; an identity in the reversed order
("CN=client,O=Test Org") does not match; after object-del of the allowing
object the next client is refused again, the one accepted before goes
on."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
import nbd
from qmp import lib, check


Remote = lib.SocketAddr


tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
img = lib.sparse_file(tmp, "a.img", 1 << 20)
lib.write_at(img, 0, b"authorized")
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
sock = qmp.tls_export(c, tmp, pki, img, authz="az", writable=False)


def client():
    h = lib.connect(Remote(sock), "e0", tls=pki)
    check(h.pread(10, 0) == b"authorized", "read over TLS")
    return h


def refused(what):
    try:
        h = lib.connect(Remote(sock), "e0", tls=pki)
    except nbd.Error:
        return
    h.shutdown()
    lib.fail(what)


refused("a client was accepted while the tls-authz object does not exist")
c.ok("object-add", **{"qom-type": "authz-simple", "id": "az", "identity": "CN=client,O=Test Org"})
refused("a client was accepted by an identity in reversed (RFC 4514) order")
c.ok("object-del", id="az")
c.ok("object-add", **{"qom-type": "authz-simple", "id": "az", "identity": "O=Test Org,CN=client"})
h = client()
c.ok("object-del", id="az")
refused("a client was accepted after object-del of the authz object")
check(h.pread(10, 0) == b"authorized", "the client accepted before the object-del goes on")
h.shutdown()
c.ok("object-add", **{"qom-type": "authz-simple", "id": "az", "identity": "O=Test Org,CN=client"})
client().shutdown()
print("ok")
