#!/usr/bin/python3
"""After the STARTTLS ACK the server expects a TLS ClientHello. A client
that sends something else instead - random bytes, a plaintext NBD option,
an HTTP request, a TLS record of a type that is not a handshake, a
handshake record header claiming more than TLS allows -
without ever closing its sending side, has its connection closed by the
server (it may send a TLS alert first, nothing else), and the daemon
still serves a real TLS client after each."""
import os
import socket
import struct
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

SIZE = 1 << 20
tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start(tls="tls-creds-x509,id=tls0,dir=%s,endpoint=server" % pki)

cases = [
    # First byte 0: no TLS content type (nor an SSLv2-style hello).
    ("random bytes", b"\0" + lib.random_bytes(4095, seed=1)),
    ("plaintext NBD option", struct.pack(">QII", lib.IHAVEOPT, lib.OPT_GO, 0)),
    ("HTTP request", b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    ("application data record", b"\x17\x03\x03\x00\x10" + b"\x55" * 16),
    # A handshake record longer than TLS allows (64 KiB - 1 > 16 KiB + 2048).
    ("oversized handshake record", b"\x16\x03\x01\xff\xff" + b"\x01" * 64),
]
for label, junk in cases:
    s = lib.raw_connect(d)
    lib.raw_greeting(s)
    s.sendall(struct.pack(">I", lib.FLAG_C_FIXED_NEWSTYLE | lib.FLAG_C_NO_ZEROES))
    s.sendall(struct.pack(">QII", lib.IHAVEOPT, 5, 0))
    magic, opt, rtype, ln = struct.unpack(">QIII", lib.recv_exact(s, 20))
    lib.check(opt == 5 and rtype == 1 and ln == 0, "STARTTLS: reply %#x len %d" % (rtype, ln))
    try:
        s.sendall(junk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    got = b""
    try:
        # The socket's timeout is the fail-safe: the server must close.
        while True:
            c = s.recv(65536)
            if not c:
                break
            got += c
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        lib.fail("%s after STARTTLS: the server did not close the connection (got %r)"
                 % (label, got[:64]))
    s.close()
    # Whatever came back can only be TLS alert records (type 21).
    i = 0
    while i < len(got):
        lib.check(got[i] == 21 and i + 5 <= len(got),
                  "%s after STARTTLS: server sent %r, not a TLS alert" % (label, got[:64]))
        i += 5 + struct.unpack(">H", got[i + 3:i + 5])[0]
    lib.log("%s: closed after %d bytes" % (label, len(got)))
    lib.check(d.alive(), "daemon died after %s" % label)
    h = lib.connect(d, "vol0", tls=pki)
    h.pwrite(label.encode(), 0)
    lib.check(h.pread(len(label), 0) == label.encode(), "TLS client read back wrong data")
    h.shutdown()
print("ok")
