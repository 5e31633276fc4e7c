#!/usr/bin/python3
"""Garbage during negotiation and transmission closes only that connection
(or gets an error reply), never the daemon: random bytes instead of client
flags, unknown client flags, a bad option magic, an HTTP request, an
oversized export name, an option claiming a 4 GiB payload, an unknown
option (answered with NBD_REP_ERR_UNSUP, after which NBD_OPT_ABORT still
works) and a bad request magic after the handshake. After each, a real
client reads and writes."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

import socket  # noqa: E402
import struct  # noqa: E402
SIZE = 1 << 20
REP_MAGIC = 0x3E889045565A9
REP_ACK, REP_ERR_UNSUP = 1, (1 << 31) + 1
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()


def flags_ok(s):
    lib.raw_greeting(s)
    s.sendall(struct.pack(">I", lib.FLAG_C_FIXED_NEWSTYLE))


def garbage_first(s):
    s.sendall(lib.random_bytes(4096, seed=1))


def unknown_client_flags(s):
    lib.raw_greeting(s)
    s.sendall(struct.pack(">I", 0xFFFFFFFC))


def bad_option_magic(s):
    flags_ok(s)
    s.sendall(struct.pack(">QII", 0x1122334455667788, lib.OPT_GO, 0))


def http(s):
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 4)


def long_export_name(s):
    flags_ok(s)
    name = b"n" * 100000
    s.sendall(struct.pack(">QII", lib.IHAVEOPT, lib.OPT_EXPORT_NAME, len(name)) + name)


def huge_option(s):
    flags_ok(s)
    s.sendall(struct.pack(">QII", lib.IHAVEOPT, lib.OPT_GO, 0xFFFFFFFF) + b"\0" * 1024)


def bad_request_magic(s):
    lib.raw_export_name(s, "vol0")
    s.sendall(lib.random_bytes(1024, seed=2))


cases = [garbage_first, unknown_client_flags, bad_option_magic, http,
         long_export_name, huge_option, bad_request_magic]
for case in cases:
    s = lib.raw_connect(d)
    try:
        case(s)
    except (BrokenPipeError, ConnectionResetError, EOFError):
        pass
    # Stop sending so a server waiting for more bytes sees EOF, then wait
    # for it to close its end (a reply, if any, is read and ignored).
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    lib.wait_closed(s)
    s.close()
    lib.log("survived: " + case.__name__)
    lib.still_serves(d, "vol0", SIZE)

# An unknown option gets NBD_REP_ERR_UNSUP and negotiation goes on.
s = lib.raw_connect(d)
flags_ok(s)
s.sendall(struct.pack(">QII", lib.IHAVEOPT, 0x7ABCDEF0, 16) + b"x" * 16)
magic, opt, rep, ln = struct.unpack(">QIII", lib.recv_exact(s, 20))
lib.recv_exact(s, ln)
lib.check(magic == REP_MAGIC and opt == 0x7ABCDEF0 and rep == REP_ERR_UNSUP,
          "unknown option: reply magic %#x option %#x type %#x" % (magic, opt, rep))
s.sendall(struct.pack(">QII", lib.IHAVEOPT, lib.OPT_ABORT, 0))
try:
    magic, opt, rep, ln = struct.unpack(">QIII", lib.recv_exact(s, 20))
    lib.check(opt == lib.OPT_ABORT and rep == REP_ACK, "NBD_OPT_ABORT reply type %#x" % rep)
except EOFError:
    pass  # the spec lets the server close without acknowledging ABORT
lib.wait_closed(s)
s.close()
lib.still_serves(d, "vol0", SIZE)
print("ok: %d garbage cases" % (len(cases) + 1))
