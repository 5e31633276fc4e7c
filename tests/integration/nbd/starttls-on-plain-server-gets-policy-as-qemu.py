#!/usr/bin/python3
"""On a server without tls-creds, NBD_OPT_STARTTLS gets the same replies
from volswapd as from qemu-storage-daemon (the reference, started by this
test too): NBD_REP_ERR_POLICY "TLS not configured" and the connection stays
open, so a following LIST lists the export; STARTTLS with a payload gets
NBD_REP_ERR_INVALID "option 'starttls' has unexpected length" and the
connection still stays open (LIST again, then ABORT is acknowledged).
Skips without qemu-storage-daemon, and under VOLSWAP_TEST_IMPL=qsd (the
test runs both servers itself)."""
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

OPT_LIST, OPT_STARTTLS = 3, 5
REP_ACK, REP_SERVER = 1, 2
ERR_POLICY, ERR_INVALID = 0x80000002, 0x80000003


def start(impl, tmp, img):
    """A plain server of IMPL."""
    with lib.as_impl(impl):
        d = lib.Daemon(tmp)
        d.blockdev("vol0", img)
        d.export("vol0", writable=True)
        d.start()
    return d


reply, option = lib.raw_option_reply, lib.raw_option


def list_exports(s):
    """LIST: the SERVER replies up to the ACK, as (type, payload) pairs."""
    s.sendall(struct.pack(">QII", lib.IHAVEOPT, OPT_LIST, 0))
    got = []
    while True:
        rtype, data = reply(s, OPT_LIST)
        got.append((hex(rtype), data))
        if rtype != REP_SERVER:
            break
    lib.check(got[-1] == (hex(REP_ACK), b""), "LIST did not end with an ACK: %r" % got)
    names = [d[4:4 + struct.unpack(">I", d[:4])[0]] for t, d in got[:-1]]
    lib.check(names == [b"vol0"], "LIST names %r, expected [b'vol0']" % names)
    return got


def session(impl, d):
    out = []
    s, flags = lib.raw_option_start(d)
    out.append(("greeting flags", flags))

    rtype, data = option(s, OPT_STARTTLS)
    out.append(("STARTTLS", hex(rtype), data))
    lib.check(rtype == ERR_POLICY and data == b"TLS not configured",
              "%s: STARTTLS on a plain server: reply %#x %r" % (impl, rtype, data))
    out.append(("LIST", list_exports(s)))

    rtype, data = option(s, OPT_STARTTLS, b"\0\0\0\0")
    out.append(("STARTTLS with payload", hex(rtype), data))
    lib.check(rtype == ERR_INVALID and data == b"option 'starttls' has unexpected length",
              "%s: STARTTLS with a payload: reply %#x %r" % (impl, rtype, data))
    out.append(("LIST again", list_exports(s)))

    rtype, data = option(s, lib.OPT_ABORT)
    out.append(("ABORT", hex(rtype), data))
    lib.check(rtype == REP_ACK, "%s: ABORT: reply %#x %r" % (impl, rtype, data))
    try:
        while s.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        lib.fail("%s: the connection stayed open after ABORT" % impl)
    s.close()
    lib.still_serves(d, "vol0", 1 << 20)
    return out


tmp = lib.tmpdir()
results = {}
for impl in ("qsd", "volswapd"):
    t = os.path.join(tmp, impl)
    os.mkdir(t)
    d = start(impl, t, lib.sparse_file(t, "disk.img", 1 << 20))
    results[impl] = session(impl, d)

for a, b in zip(results["qsd"], results["volswapd"]):
    lib.check(a == b, "qemu-storage-daemon %r, volswapd %r" % (a, b))
lib.check(len(results["qsd"]) == len(results["volswapd"]), "step counts differ")
print("ok")
