#!/usr/bin/python3
"""One base:allocation query over a file with 300 separate data extents
gets them all in one reply, each boundary where the file has it, for a file
on disk (SEEK_HOLE) and one in /dev/shm (SEEK_DATA probes). The server
takes the block layer's answers 128 extents at a time and merges them into
the reply; this checks the boundaries and the coverage that come out."""
import os
import random
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

SIZE = 256 << 20
EXT = 64 << 10
STATE_HOLE = 1
rnd = random.Random(7)
# Every other 64 KiB slot at most, so no two data extents touch.
slots = sorted(rnd.sample(range(SIZE // EXT // 2), 300))
want = [(s * 2 * EXT, EXT) for s in slots]

dirs = [lib.tmpdir()]
if os.path.isdir("/dev/shm"):
    shm = os.path.join("/dev/shm", os.path.basename(lib.tmpdir()))
    os.mkdir(shm)
    lib._tmpdirs.append(shm)
    dirs.append(shm)
d = lib.Daemon(lib.tmpdir())
for i, where in enumerate(dirs):
    img = lib.sparse_file(where, "disk.img", SIZE)
    for off, n in want:
        lib.write_at(img, off, b"\xa5" * n)
    d.blockdev("vol%d" % i, img)
    d.export("vol%d" % i)
d.start()
for i, where in enumerate(dirs):
    h = lib.connect(d, "vol%d" % i)
    replies = []

    def cb(ctx, off, entries, err):
        replies.append(list(entries))
        return 0
    h.block_status(SIZE, 0, cb)
    lib.check(len(replies) == 1, "%d replies" % len(replies))
    e = replies[0]
    got = []
    pos = 0
    for k in range(0, len(e), 2):
        if not e[k + 1] & STATE_HOLE:
            got.append((pos, e[k]))
        pos += e[k]
    lib.check(pos == SIZE, "%s: the reply covers %d of %d bytes" % (where, pos, SIZE))
    lib.check(got == want, "%s: data extents differ: %d reported, first %s"
              % (where, len(got), got[:3]))
    h.shutdown()
    print("ok: %s, %d descriptors in one reply" % (where, len(e) // 2))
