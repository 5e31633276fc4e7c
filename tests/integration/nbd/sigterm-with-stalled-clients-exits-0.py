#!/usr/bin/python3
"""SIGTERM while clients are stalled - one mid-handshake, one idle after
the handshake, one that sent a WRITE header and only part of its payload -
still shuts the daemon down: it closes those connections, keeps the
acknowledged writes of another client, and exits 0 (qemu-storage-daemon
does the same). A client that never finishes its request must not be able
to keep the daemon from stopping."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

SIZE = 4 << 20
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start()
h = lib.connect(d, "vol0")
data = lib.random_bytes(65536, seed=8)
h.pwrite(data, 8192)
mid_handshake = lib.raw_connect(d)
lib.raw_greeting(mid_handshake)
idle = lib.raw_connect(d)
lib.raw_export_name(idle, "vol0")
half_write = lib.raw_connect(d)
lib.raw_export_name(half_write, "vol0")
lib.raw_request(half_write, lib.CMD_WRITE, offset=0, length=65536, payload=b"\xee" * 1000)
# Make sure the daemon has read what was sent before it is signalled: a
# full round trip on another connection after the partial write.
h.pread(1, 0)
rc = d.stop()
lib.check(rc == 0, "exit status %d on SIGTERM with stalled clients, expected 0" % rc)
for s in (mid_handshake, idle, half_write):
    lib.check(lib.wait_closed(s), "connection left open")
    s.close()
with open(img, "rb") as f:
    f.seek(8192)
    lib.check(f.read(len(data)) == data, "acknowledged write missing after shutdown")
print("ok")
