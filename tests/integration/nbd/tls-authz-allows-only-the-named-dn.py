#!/usr/bin/python3
"""tls-authz names an authz-simple object whose identity is the client
certificate's DN as QEMU writes it (RDNs in certificate order, "O=Test
Org,CN=client"; commas doubled on the command line): that client
connects. A server whose identity has the same RDNs in the other order
("CN=client,O=Test Org") refuses it and goes on serving. A server whose
tls-authz names an object that does not exist refuses every client, since
the object is looked up per connection: once `object-add authz-simple`
adds it over QMP, the next client is accepted, and after `object-del` of
it clients are refused again."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmp"))
import lib  # noqa: E402
import nbd  # noqa: E402
import qmp  # noqa: E402

SIZE = 1 << 20
tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
img = lib.sparse_file(tmp, "disk.img", SIZE)
X509 = "tls-creds-x509,id=tls0,dir=%s,endpoint=server" % pki


def server(identity=None, authz="az", extra=()):
    d = lib.Daemon(tmp)
    d.blockdev("vol0", img, read_only=True)
    d.export("vol0")
    objs = ["authz-simple,id=az,identity=" + identity.replace(",", ",,")] if identity else []
    return d.start(tls=X509, tls_authz=authz, tls_objects=objs, extra=extra)


def accepted(d):
    h = lib.connect(d, "vol0", tls=pki)
    ok = h.get_tls_negotiated() and h.get_size() == SIZE
    h.shutdown()
    return ok


def refused(d, what):
    try:
        h = lib.connect(d, "vol0", tls=pki)
    except nbd.Error as e:
        lib.log("%s: refused as expected: %s" % (what, e.string))
        lib.check(d.alive(), "%s: daemon died refusing a client" % what)
        return True
    h.shutdown()
    lib.fail("%s: the client was accepted" % what)


d = server("O=Test Org,CN=client")
lib.check(accepted(d), "identity O=Test Org,CN=client: the client was not served")
lib.check(accepted(d), "identity O=Test Org,CN=client: a second client was not served")

d = server("CN=client,O=Test Org")
refused(d, "identity CN=client,O=Test Org")
refused(d, "identity CN=client,O=Test Org, second client")

# No object "late" yet; the server starts anyway and refuses everyone.
mon = os.path.join(tmp, "qmp.sock")
d = server(authz="late", extra=["--chardev", "socket,path=%s,server=on,wait=off,id=mon0" % mon,
                                "--monitor", "chardev=mon0"])
refused(d, "tls-authz naming a missing object")
refused(d, "tls-authz naming a missing object, second client")
c = qmp.Client(mon)
c.ok("object-add", {"qom-type": "authz-simple", "id": "late", "identity": "O=Test Org,CN=client"})
lib.check(accepted(d), "after object-add of the authz object the client was not served")
c.ok("object-del", id="late")
refused(d, "after object-del of the authz object")
c.close()
print("ok")
