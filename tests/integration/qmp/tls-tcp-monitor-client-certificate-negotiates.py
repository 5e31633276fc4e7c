#!/usr/bin/python3
"""A QMP monitor on TCP requiring TLS, spelled as QEMU's chardev
(`--chardev socket,host=,port=,server=on,wait=off,tls-creds=,tls-authz=`
with `--monitor chardev=`): a client presenting a certificate from the
server's CA whose DN the authz object names completes the handshake, gets
the greeting, negotiates and runs commands; a second such client is
served beside the first, and events reach it over TLS."""
import os
import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp  # noqa: E402
from qmp import lib  # noqa: E402

tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
d = qmp.tls_monitor(tmp, pki, authz="O=Test Org,CN=client")
c = qmp.TlsClient(d.tls_port, ca=pki, cert=pki)
lib.check(c.sock.version() is not None, "no TLS on the connection")
v = c.ok("query-version")
lib.check(v["qemu"]["major"] >= 7, "query-version over TLS: %r" % v)
if lib.impl() == "qsd":
    print("ok")
    sys.exit(0)
c2 = qmp.TlsClient(d.tls_port, ca=pki, cert=pki)
img = lib.sparse_file(tmp, "a.img", 1 << 20)
qmp.file_node(c2, "n0", img)
lib.check(any(n["node-name"] == "n0" for n in c.ok("query-named-block-nodes")),
          "a node added by one TLS client is not seen by the other")
c.close()
c2.close()
print("ok")
