#!/usr/bin/python3
"""On a server that requires TLS, options sent before NBD_OPT_STARTTLS get
the same replies from volswapd as from qemu-storage-daemon (the reference,
started by this test too): LIST, INFO, GO, STRUCTURED_REPLY,
LIST_META_CONTEXT, SET_META_CONTEXT and an unknown option 99 with a payload
each get NBD_REP_ERR_TLS_REQD with the text "Option 0x%x not permitted
before TLS", and the connection stays open for the next option; ABORT gets
the same error and then the server closes. On separate connections:
EXPORT_NAME before TLS is closed with no bytes sent, and STARTTLS with a
4-byte payload gets NBD_REP_ERR_INVALID "option 'starttls' has unexpected
length" and is then closed. Skips without qemu-storage-daemon, and under
VOLSWAP_TEST_IMPL=qsd (the test runs both servers itself)."""
import os
import shutil
import socket
import struct
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

if not shutil.which("qemu-storage-daemon"):
    lib.skip("qemu-storage-daemon not installed")
if lib.impl() != "volswapd":
    lib.skip("this test runs both servers itself")

OPT_STARTTLS, OPT_LIST, OPT_INFO = 5, 3, 6
OPT_STRUCTURED_REPLY, OPT_LIST_META, OPT_SET_META = 8, 9, 10
ERR_INVALID, ERR_TLS_REQD = 0x80000003, 0x80000005


def start(impl, tmp, pki, img):
    """A TLS-requiring server of IMPL; the test's implementation is
    volswapd again afterwards."""
    with lib.as_impl(impl):
        d = lib.Daemon(tmp)
        d.blockdev("vol0", img)
        d.export("vol0", writable=True)
        d.start(tls="tls-creds-x509,id=tls0,dir=%s,endpoint=server" % pki)
    return d


open_session, option = lib.raw_option_start, lib.raw_option


def rest_until_close(s):
    """Bytes the server sends before it closes; fails if it does not close
    (the socket timeout is the fail-safe)."""
    got = b""
    try:
        while True:
            c = s.recv(65536)
            if not c:
                return got
            got += c
    except (ConnectionResetError, BrokenPipeError):
        return got
    except socket.timeout:
        lib.fail("server did not close the connection; received %r" % got[:100])


def name_payload(name, extra=b""):
    n = name.encode()
    return struct.pack(">I", len(n)) + n + extra


def session(d):
    """The whole script on one server: a list of (step, outcome)."""
    out = []
    s, flags = open_session(d)
    out.append(("greeting flags", flags))
    steps = [
        ("LIST", OPT_LIST, b""),
        ("INFO", OPT_INFO, name_payload("vol0", struct.pack(">H", 0))),
        ("GO", lib.OPT_GO, name_payload("vol0", struct.pack(">HH", 1, 3))),
        ("STRUCTURED_REPLY", OPT_STRUCTURED_REPLY, b""),
        ("LIST_META_CONTEXT", OPT_LIST_META,
         name_payload("vol0", struct.pack(">I", 1) + name_payload("base:"))),
        ("SET_META_CONTEXT", OPT_SET_META,
         name_payload("vol0", struct.pack(">I", 1) + name_payload("base:allocation"))),
        ("unknown 99", 99, b"some payload"),
        ("LIST again", OPT_LIST, b""),
    ]
    for label, opt, payload in steps:
        rtype, data = option(s, opt, payload)
        out.append((label, hex(rtype), data))
        lib.check(rtype == ERR_TLS_REQD, "%s before TLS: reply type %#x (%r), expected "
                  "NBD_REP_ERR_TLS_REQD" % (label, rtype, data))
        lib.check(data == b"Option 0x%x not permitted before TLS" % opt,
                  "%s before TLS: message %r" % (label, data))
    rtype, data = option(s, lib.OPT_ABORT)
    out.append(("ABORT", hex(rtype), data))
    lib.check(rtype == ERR_TLS_REQD and data == b"Option 0x2 not permitted before TLS",
              "ABORT before TLS: reply %#x %r" % (rtype, data))
    tail = rest_until_close(s)
    out.append(("after ABORT", "closed", tail))
    lib.check(tail == b"", "bytes after the ABORT reply: %r" % tail[:100])
    s.close()

    # EXPORT_NAME has no error reply: the server just hangs up.
    s, _ = open_session(d)
    n = b"vol0"
    s.sendall(struct.pack(">QII", lib.IHAVEOPT, lib.OPT_EXPORT_NAME, len(n)) + n)
    tail = rest_until_close(s)
    out.append(("EXPORT_NAME", "closed", tail))
    lib.check(tail == b"", "EXPORT_NAME before TLS: got %r before the close" % tail[:100])
    s.close()

    # STARTTLS must have no payload: an error, then the server closes.
    s, _ = open_session(d)
    rtype, data = option(s, OPT_STARTTLS, b"\0\0\0\0")
    out.append(("STARTTLS with payload", hex(rtype), data))
    lib.check(rtype == ERR_INVALID and data == b"option 'starttls' has unexpected length",
              "STARTTLS with a payload: reply %#x %r" % (rtype, data))
    tail = rest_until_close(s)
    out.append(("after STARTTLS with payload", "closed", tail))
    lib.check(tail == b"", "bytes after the STARTTLS error: %r" % tail[:100])
    s.close()
    lib.check(d.alive(), "daemon died")
    return out


tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
results = {}
for impl in ("qsd", "volswapd"):
    t = os.path.join(tmp, impl)
    os.mkdir(t)
    d = start(impl, t, pki, lib.sparse_file(t, "disk.img", 1 << 20))
    lib.log("session against " + impl)
    results[impl] = session(d)
    # The server still serves a TLS client after all that.
    h = lib.connect(d, "vol0", tls=pki)
    h.pwrite(b"still here", 0)
    lib.check(h.pread(10, 0) == b"still here", "%s: TLS client read back wrong data" % impl)
    h.shutdown()

for a, b in zip(results["qsd"], results["volswapd"]):
    lib.check(a == b, "qemu-storage-daemon %r, volswapd %r" % (a, b))
lib.check(len(results["qsd"]) == len(results["volswapd"]), "step counts differ")
print("ok")
