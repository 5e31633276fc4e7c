#!/usr/bin/python3
"""A client that speaks plain QMP to a monitor requiring TLS gets no
greeting and no reply: its bytes are not a TLS handshake, and the
connection is closed. The daemon goes on serving a TLS client."""
import os
import socket
import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp  # noqa: E402
from qmp import lib  # noqa: E402

tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
d = qmp.tls_monitor(tmp, pki)
s = socket.create_connection(("127.0.0.1", d.tls_port), timeout=qmp.TIMEOUT)
s.sendall(b'{"execute": "qmp_capabilities"}\r\n{"execute": "query-version"}\r\n')
got = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
except ConnectionResetError:
    pass
s.close()
lib.check(b"QMP" not in got and b"return" not in got,
          "a plaintext client got QMP output: %r" % got[:200])
c = qmp.TlsClient(d.tls_port, ca=pki, cert=pki)
c.ok("query-version")
c.close()
lib.check(d.alive(), "daemon died refusing a plaintext client")
print("ok")
