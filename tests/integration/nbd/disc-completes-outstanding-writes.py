#!/usr/bin/python3
"""NBD_CMD_DISC sent right behind eight 1 MiB writes, before any reply was
read (spec: on DISC the server "MUST handle all outstanding requests"):
the server closes the connection, and every one of the writes is in the
export and in the backing file."""
import os
import struct
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

SIZE = 16 << 20
MIB = 1 << 20
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()
s = lib.raw_connect(d)
lib.raw_export_name(s, "vol0")
msg = b"".join(struct.pack(">IHHQQI", lib.REQUEST_MAGIC, 0, lib.CMD_WRITE, i, (4 + i) * MIB, MIB)
               + bytes([i + 1]) * MIB for i in range(8))
msg += struct.pack(">IHHQQI", lib.REQUEST_MAGIC, 0, lib.CMD_DISC, 99, 0, 0)
s.sendall(msg)
replies = 0
try:
    while True:
        err, handle, _ = lib.raw_simple_reply(s)
        lib.check(err == 0, "write %d failed with error %d" % (handle, err))
        replies += 1
except (EOFError, ConnectionResetError):
    pass
s.close()
lib.log("%d write replies before the server closed" % replies)
h = lib.connect(d, "vol0")
for i in range(8):
    lib.check(h.pread(MIB, (4 + i) * MIB) == bytes([i + 1]) * MIB,
              "write %d sent before NBD_CMD_DISC was dropped" % i)
h.shutdown()
lib.check(d.stop() == 0, "unclean exit")
with open(img, "rb") as f:
    f.seek(4 * MIB)
    for i in range(8):
        lib.check(f.read(MIB) == bytes([i + 1]) * MIB, "backing file lacks write %d" % i)
print("ok")
