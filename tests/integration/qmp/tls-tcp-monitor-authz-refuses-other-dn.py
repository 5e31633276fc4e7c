#!/usr/bin/python3
"""tls-authz on the monitor's chardev: a client whose certificate (from
the right CA) has a DN other than the authz object's identity gets no
greeting; the identity is compared as QEMU does, RDNs in certificate
order, so "CN=client,O=Test Org" does not let in "O=Test Org,CN=client".
The daemon goes on running (its unix monitor answers)."""
import os
import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp  # noqa: E402
from qmp import lib  # noqa: E402

tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
for identity in ("O=Test Org,CN=admin", "CN=client,O=Test Org"):
    d = qmp.tls_monitor(tmp, pki, authz=identity)
    lib.check(qmp.tls_refused(d.tls_port, ca=pki, cert=pki),
              "identity %s: client O=Test Org,CN=client was greeted" % identity)
    d.client().ok("query-version")
    d.stop()
print("ok")
