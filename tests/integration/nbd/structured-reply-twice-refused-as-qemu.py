#!/usr/bin/python3
"""NBD_OPT_STRUCTURED_REPLY a second time is refused with
NBD_REP_ERR_INVALID "structured reply already negotiated", as
qemu-storage-daemon does (libnbd's nbd_opt_structured_reply then returns
false), and structured replies stay negotiated: GO after it offers DF. Runs against whichever implementation is under test."""
import os
import struct
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", 1 << 20)
lib.write_at(img, 512, b"structured")
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()

s, _ = lib.raw_option_start(d)
rtype, data = lib.raw_option(s, 8)
lib.check(rtype == 1 and data == b"", "first STRUCTURED_REPLY: %#x %r" % (rtype, data))
rtype, data = lib.raw_option(s, 8)
lib.check(rtype == 0x80000003 and data == b"structured reply already negotiated",
          "second STRUCTURED_REPLY: %#x %r" % (rtype, data))
# GO: the export's transmission flags still offer DF, which only a
# connection with structured replies gets.
name = b"vol0"
s.sendall(struct.pack(">QII", lib.IHAVEOPT, lib.OPT_GO, 4 + len(name) + 2) +
          struct.pack(">I", len(name)) + name + struct.pack(">H", 0))
flags = None
while True:
    rtype, data = lib.raw_option_reply(s, lib.OPT_GO)
    if rtype == 3 and struct.unpack(">H", data[:2])[0] == 0:
        flags = struct.unpack(">QH", data[2:])[1]
    if rtype != 3:
        break
lib.check(rtype == 1, "GO: %#x %r" % (rtype, data))
lib.check(flags is not None and flags & (1 << 7), "transmission flags %r lack DF" % flags)
s.close()
print("ok")
