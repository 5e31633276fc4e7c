#!/usr/bin/python3
"""The last byte of an export whose size is not a multiple of 4096 can be
written and read alone and as the end of a longer request, and that byte
lands at the end of the backing file."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402
import nbd  # noqa: E402

SIZE = (1 << 20) + 512 * 7
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()
h = lib.connect(d, "vol0")
lib.check(h.get_size() == SIZE, "size %d, expected %d" % (h.get_size(), SIZE))
h.pwrite(b"\x7f", SIZE - 1)
lib.check(h.pread(1, SIZE - 1) == b"\x7f", "last byte read back wrong")
tail = lib.random_bytes(4096 + 511, seed=5)
h.pwrite(tail, SIZE - len(tail))
lib.check(h.pread(len(tail), SIZE - len(tail)) == tail, "tail read back wrong")
lib.check(h.pread(1, SIZE - 1) == tail[-1:], "last byte after tail write wrong")
h.pwrite(b"\xee", SIZE - 1, nbd.CMD_FLAG_FUA)
h.shutdown()
with open(img, "rb") as f:
    f.seek(SIZE - len(tail))
    got = f.read()
lib.check(len(got) == len(tail), "backing file size changed")
lib.check(got == tail[:-1] + b"\xee", "backing file tail differs")
print("ok")
