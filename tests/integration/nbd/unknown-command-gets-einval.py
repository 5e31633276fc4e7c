#!/usr/bin/python3
"""Over a raw socket (old-style NBD_OPT_EXPORT_NAME, simple replies):
unknown command types (5..255 range minus defined ones, and 0xffff) get a
simple reply with EINVAL and the same handle, and a READ after each one on
the same connection returns the right data."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402
import errno  # noqa: E402

SIZE = 1 << 20
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
lib.write_at(img, 0, b"hello, world")
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()
s = lib.raw_connect(d)
size, tflags = lib.raw_export_name(s, "vol0")
lib.check(size == SIZE, "EXPORT_NAME reported size %d" % size)
for i, cmd in enumerate([8, 9, 42, 255, 0x7fff, 0xffff]):
    handle = 0x1000 + i
    lib.raw_request(s, cmd, offset=0, length=512, handle=handle)
    err, got_handle, _ = lib.raw_simple_reply(s)
    lib.check(got_handle == handle, "reply handle %#x, sent %#x" % (got_handle, handle))
    lib.check(err == errno.EINVAL, "command %d: error %d, expected EINVAL" % (cmd, err))
    lib.raw_request(s, lib.CMD_READ, offset=0, length=12, handle=handle + 0x100)
    err, got_handle, data = lib.raw_simple_reply(s, 12)
    lib.check(err == 0 and got_handle == handle + 0x100 and data == b"hello, world",
              "read after unknown command %d: err %d data %r" % (cmd, err, data))
lib.raw_request(s, lib.CMD_DISC)
lib.check(lib.wait_closed(s), "server did not close after NBD_CMD_DISC")
s.close()
lib.still_serves(d, "vol0", SIZE)
print("ok")
