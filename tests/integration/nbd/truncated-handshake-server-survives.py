#!/usr/bin/python3
"""Clients that vanish mid-message - before the greeting is read, inside
the client flags, inside an option header or its payload, inside a
request header, inside a write payload - close only their connection.
Stalled half-open connections (one mid-handshake, one mid-request) do not
stop the daemon from serving a real client meanwhile."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

import struct  # noqa: E402
SIZE = 1 << 20
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()

REQ = struct.pack(">IHHQQI", lib.REQUEST_MAGIC, 0, lib.CMD_WRITE, 7, 0, 65536)


def nothing(s):
    pass


def after_greeting(s):
    lib.raw_greeting(s)


def half_flags(s):
    lib.raw_greeting(s)
    s.sendall(b"\0\0")


def half_option_header(s):
    lib.raw_greeting(s)
    s.sendall(struct.pack(">I", lib.FLAG_C_FIXED_NEWSTYLE))
    s.sendall(struct.pack(">QII", lib.IHAVEOPT, lib.OPT_GO, 0)[:9])


def short_option_payload(s):
    lib.raw_greeting(s)
    s.sendall(struct.pack(">I", lib.FLAG_C_FIXED_NEWSTYLE))
    s.sendall(struct.pack(">QII", lib.IHAVEOPT, lib.OPT_GO, 100) + b"\0" * 10)


def half_request_header(s):
    lib.raw_export_name(s, "vol0")
    s.sendall(REQ[:14])


def short_write_payload(s):
    lib.raw_export_name(s, "vol0")
    s.sendall(REQ + b"\xee" * 100)


cases = [nothing, after_greeting, half_flags, half_option_header,
         short_option_payload, half_request_header, short_write_payload]
for case in cases:
    s = lib.raw_connect(d)
    case(s)
    s.close()
    lib.log("survived: " + case.__name__)
    lib.still_serves(d, "vol0", SIZE)

# Two stalled connections stay open while a real client does its work.
stalled = []
for case in (short_option_payload, short_write_payload):
    s = lib.raw_connect(d)
    case(s)
    stalled.append(s)
h = lib.connect(d, "vol0")
data = lib.random_bytes(256 << 10, seed=3)
h.pwrite(data, 65536)
h.flush()
lib.check(h.pread(len(data), 65536) == data, "I/O wrong while other connections stall")
h.shutdown()
for s in stalled:
    s.close()
lib.still_serves(d, "vol0", SIZE)
print("ok: %d truncation cases" % len(cases))
