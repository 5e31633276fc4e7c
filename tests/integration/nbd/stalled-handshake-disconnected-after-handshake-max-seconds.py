#!/usr/bin/python3
"""Clients that connect and never finish the handshake are disconnected
once handshake-max-seconds (QEMU 9.2's nbd-server-start argument; default
10 s, 1 s here) have passed: one that reads the greeting and sends nothing,
and one that stops in the middle of its TLS handshake. So stalled clients
cannot keep max-connections taken: with max-connections=3, a served client
and the two stalled ones fill it, and a new client gets in once the
stalled ones are gone. The client that finished its handshake in time goes
on being served past the limit."""
import os
import struct
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

if lib.impl() != "volswapd":
    lib.skip("qemu-storage-daemon 7.2 has no handshake-max-seconds")
tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
img = lib.sparse_file(tmp, "disk.img", 1 << 20)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start(tls="tls-creds-x509,id=tls0,dir=%s,endpoint=server" % pki,
        server_opts="handshake-max-seconds=1,max-connections=3")

served = lib.connect(d, "vol0", tls=pki)
served.pwrite(b"first", 0)

silent, _ = lib.raw_option_start(d)          # greeting read, flags sent, then nothing
mid_tls, _ = lib.raw_option_start(d)
rtype, _ = lib.raw_option(mid_tls, 5)         # STARTTLS: ACK
lib.check(rtype == 1, "STARTTLS not acknowledged: %#x" % rtype)
mid_tls.sendall(b"\x16\x03\x01\x02\x00\x01")  # the start of a ClientHello, and no more

# The sockets' timeout (30 s) is the fail-safe; the server closes at ~1 s.
lib.check(lib.wait_closed(silent), "a client that sent nothing was not disconnected")
lib.check(lib.wait_closed(mid_tls), "a client stalled in its TLS handshake was not disconnected")

late = lib.connect(d, "vol0", tls=pki)        # a slot is free again
lib.check(late.pread(5, 0) == b"first", "the new client read the wrong data")
served.pwrite(b"still", 0)                    # past the limit, still served
lib.check(served.pread(5, 0) == b"still", "the client served before the limit lost its data")
served.shutdown()
late.shutdown()
lib.check("handshake not finished within 1 s" in d.log_text(),
          "the disconnects were not logged")
print("ok")
