#!/usr/bin/python3
"""base:allocation on a sparse file with data at known places (aligned,
unaligned, multi-MiB, the last 4 KiB): no extent flagged HOLE overlaps data
that SEEK_DATA/SEEK_HOLE finds in the backing file, every extent flagged
ZERO reads as zeroes, extents are contiguous, non-empty and never run past
the request, REQ_ONE gives one extent, and the holes of the file are
reported (the server is sparse-aware, not answering "all data")."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402
import nbd  # noqa: E402
import errno  # noqa: E402

SIZE = 64 << 20
STATE_HOLE, STATE_ZERO = 1, 2
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
written = [(1 << 20, 65536), ((10 << 20) + 123, 4097), (20 << 20, 4 << 20),
           (SIZE - 4096, 4096)]
for i, (off, n) in enumerate(written):
    lib.write_at(img, off, lib.random_bytes(n, seed=50 + i))


def file_data_ranges(path):
    out = []
    fd = os.open(path, os.O_RDONLY)
    try:
        pos = 0
        while pos < SIZE:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError as e:
                if e.errno == errno.ENXIO:
                    break
                raise
            end = os.lseek(fd, start, os.SEEK_HOLE)
            out.append((start, end))
            pos = end
    finally:
        os.close(fd)
    return out


data_ranges = file_data_ranges(img)
lib.log("file data ranges: %s" % data_ranges)
for off, n in written:
    lib.check(any(s <= off and off + n <= e for s, e in data_ranges),
              "filesystem does not show written range %d+%d as data" % (off, n))
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()
h = lib.connect(d, "vol0")
lib.check(h.can_meta_context("base:allocation"), "base:allocation not negotiated")


def query(off, length, flags=0):
    got = []

    def cb(ctx, o, entries, err):
        lib.check(ctx == "base:allocation", "unexpected context %r" % ctx)
        lib.check(o == off, "reply offset %d for request at %d" % (o, off))
        got.append(list(entries))
        return 0
    h.block_status(length, off, cb, flags)
    lib.check(len(got) == 1, "%d base:allocation chunks in one reply" % len(got))
    e = got[0]
    lib.check(len(e) >= 2 and len(e) % 2 == 0, "bad descriptor list %r" % e)
    return [(e[i], e[i + 1]) for i in range(0, len(e), 2)]


extents = []
for start, length in [(0, SIZE), (123, 5 << 20), ((10 << 20) + 1000, 3000), (SIZE - 4096 - 7, 4103)]:
    pos, end = start, start + length
    while pos < end:
        ext = query(pos, end - pos)
        total = sum(n for n, _ in ext)
        lib.check(all(n > 0 for n, _ in ext), "zero-length extent at %d" % pos)
        lib.check(total <= end - pos, "extents at %d run %d bytes past the request"
                  % (pos, total - (end - pos)))
        for n, flags in ext:
            extents.append((pos, n, flags))
            pos += n
holes = 0
for off, n, flags in extents:
    if flags & STATE_HOLE:
        holes += 1
        for s, e in data_ranges:
            lib.check(off + n <= s or e <= off,
                      "extent %d+%d reported HOLE but file has data at %d..%d" % (off, n, s, e))
    if flags & STATE_ZERO:
        step = min(n, 8 << 20)
        for o in range(off, off + n, step):
            m = min(step, off + n - o)
            lib.check(h.pread(m, o) == b"\0" * m,
                      "extent %d+%d reported ZERO but reads non-zero near %d" % (off, n, o))
lib.check(holes > 0, "no hole reported on a file that is mostly holes")
ext = query(0, SIZE, nbd.CMD_FLAG_REQ_ONE)
lib.check(len(ext) == 1, "REQ_ONE returned %d extents" % len(ext))
# Data written through NBD into a hole stops being reported as a hole.
h.pwrite(b"\x01" * 4096, 40 << 20)
for n, flags in query(40 << 20, 4096):
    lib.check(not flags & STATE_HOLE, "freshly written block reported as a hole")
h.shutdown()
print("ok: %d extents, %d holes" % (len(extents), holes))
