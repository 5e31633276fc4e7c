#!/usr/bin/python3
"""A TLS client whose certificate was issued by another CA (same subject,
O=Test Org,CN=client) gets no greeting, even with tls-authz naming that
DN: the certificate must chain to the server's CA before its DN counts.
The daemon goes on serving a client of its own CA."""
import os
import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp  # noqa: E402
from qmp import lib  # noqa: E402

tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
other = lib.tls_certs(os.path.join(tmp, "other"))
d = qmp.tls_monitor(tmp, pki, authz="O=Test Org,CN=client")
lib.check(qmp.tls_refused(d.tls_port, ca=pki, cert=other),
          "a client certificate from another CA was greeted")
qmp.TlsClient(d.tls_port, ca=pki, cert=pki).ok("query-version")
print("ok")
