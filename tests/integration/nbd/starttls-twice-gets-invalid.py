#!/usr/bin/python3
"""After a successful STARTTLS (ACK, then a TLS handshake with the client
certificate, the server verified against the test CA as "localhost"), a
second STARTTLS inside TLS gets NBD_REP_ERR_INVALID "TLS already enabled",
STARTTLS with a payload inside TLS gets NBD_REP_ERR_INVALID "option
'starttls' has unexpected length", and the connection stays open: GO for
the export then succeeds (INFO replies, the first NBD_INFO_EXPORT with the
export's size, then ACK) and a read in transmission works, all over TLS."""
import os
import socket
import ssl
import struct
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

SIZE = 1 << 20
OPT_STARTTLS = 5
REP_ACK, REP_INFO = 1, 3
ERR_INVALID = 0x80000003
INFO_EXPORT = 0

tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
img = lib.sparse_file(tmp, "disk.img", SIZE)
lib.write_at(img, 4096, b"over tls")
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start(tls="tls-creds-x509,id=tls0,dir=%s,endpoint=server" % pki)


option = lib.raw_option

s, _ = lib.raw_option_start(d)
rtype, data = option(s, OPT_STARTTLS)
lib.check(rtype == REP_ACK and data == b"", "STARTTLS: reply %#x %r" % (rtype, data))

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(os.path.join(pki, "ca-cert.pem"))
ctx.load_cert_chain(os.path.join(pki, "client-cert.pem"), os.path.join(pki, "client-key.pem"))
t = ctx.wrap_socket(s, server_hostname="localhost")
lib.log("TLS: %s %s" % (t.version(), t.cipher()[0]))

rtype, data = option(t, OPT_STARTTLS)
lib.check(rtype == ERR_INVALID and data == b"TLS already enabled",
          "STARTTLS inside TLS: reply %#x %r" % (rtype, data))
rtype, data = option(t, OPT_STARTTLS, b"\0\0\0\0")
lib.check(rtype == ERR_INVALID and data == b"option 'starttls' has unexpected length",
          "STARTTLS with a payload inside TLS: reply %#x %r" % (rtype, data))

name = b"vol0"
t.sendall(struct.pack(">QII", lib.IHAVEOPT, lib.OPT_GO, 4 + len(name) + 2)
          + struct.pack(">I", len(name)) + name + struct.pack(">H", 0))
infos = []
while True:
    rtype, data = lib.raw_option_reply(t, lib.OPT_GO)
    if rtype != REP_INFO:
        break
    infos.append(data)
lib.check(rtype == REP_ACK and data == b"", "GO inside TLS: final reply %#x %r" % (rtype, data))
exp = [i for i in infos if struct.unpack(">H", i[:2])[0] == INFO_EXPORT]
lib.check(len(exp) == 1 and len(exp[0]) == 12, "GO: NBD_INFO_EXPORT replies %r" % exp)
size, tflags = struct.unpack(">QH", exp[0][2:])
lib.check(size == SIZE, "GO: export size %d, expected %d" % (size, SIZE))

lib.raw_request(t, lib.CMD_READ, offset=4096, length=8, handle=42)
err, handle, got = lib.raw_simple_reply(t, 8)
lib.check(err == 0 and handle == 42 and got == b"over tls",
          "read over TLS: error %d handle %d data %r" % (err, handle, got))
lib.raw_request(t, lib.CMD_DISC, handle=43)
try:
    t.unwrap()
except (OSError, ssl.SSLError):
    pass  # the server may close without its own close_notify
t.close()
lib.check(d.alive(), "daemon died")
h = lib.connect(d, "vol0", tls=pki)
lib.check(h.pread(8, 4096) == b"over tls", "a fresh TLS client read wrong data")
h.shutdown()
print("ok")
