#!/usr/bin/python3
"""With x509 credentials (verify-peer on, the default) a TLS client that
presents no certificate gets no greeting; the daemon goes on serving a
client that does."""
import os
import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp  # noqa: E402
from qmp import lib  # noqa: E402

tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
d = qmp.tls_monitor(tmp, pki)
lib.check(qmp.tls_refused(d.tls_port, ca=pki, cert=None), "a client without certificate was greeted")
qmp.TlsClient(d.tls_port, ca=pki, cert=pki).ok("query-version")
print("ok")
