#!/usr/bin/python3
"""16 clients each queue 2048 reads of 1 MiB and never read the replies
(2 GiB each if the server kept every reply). The server must stop taking
requests from a connection once its replies back up, so each stuck
connection pins a bounded amount of memory: resident size stays under
512 MiB in all, 32 MiB per stuck connection (qemu-storage-daemon, which
allows 16 requests in flight per connection, peaks near 270 MiB here), and
a well-behaved client is still served meanwhile. Memory is a size, not a
time: the check does not depend on speed."""
import os
import struct
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

CONNS, REQS, LIMIT_MIB = 16, 2048, 512
SIZE = 64 << 20
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()


def rss_mib():
    with open("/proc/%d/status" % d.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


reqs = b"".join(struct.pack(">IHHQQI", lib.REQUEST_MAGIC, 0, lib.CMD_READ, i,
                            (i % 64) << 20, 1 << 20) for i in range(REQS))
socks = []
for c in range(CONNS):
    s = lib.raw_connect(d)
    lib.raw_export_name(s, "vol0")
    # 56 KiB of requests: small enough for the socket buffers, so the
    # send completes whatever the server does with them.
    s.sendall(reqs)
    socks.append(s)
# A well-behaved client on another connection is served meanwhile; its
# round trips also give the server time to process what it has queued.
h = lib.connect(d, "vol0")
peak = 0
for i in range(50):
    h.pwrite(b"x" * 4096, 4096 * i)
    lib.check(h.pread(4096, 4096 * i) == b"x" * 4096, "good client got wrong data")
    peak = max(peak, rss_mib())
    time.sleep(0.02)
lib.log("peak resident size with %d stuck clients: %d MiB" % (CONNS, peak))
lib.check(peak < LIMIT_MIB, "resident size reached %d MiB (%d MiB per connection) with %d "
          "clients not reading replies; limit %d MiB: too much reply data held "
          "per stuck connection" % (peak, peak // CONNS, CONNS, LIMIT_MIB))
for s in socks:
    s.close()
h.shutdown()
lib.still_serves(d, "vol0", SIZE)
print("ok: peak %d MiB" % peak)
