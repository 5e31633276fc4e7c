#!/usr/bin/python3
# reconnect-delay 0 (the default): while the remote daemon is down, a
# guest write through the nbd node fails with EIO without waiting for the
# server; the node reconnects in the background once the daemon is back,
# and the same write then succeeds and reads back.
import os, select, signal, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
import nbd
from qmp import lib, check
qmp.volswapd_only("needs two daemons of the implementation under test")
tmp = lib.tmpdir()
far, d, h = qmp.guest_of_remote_volume(tmp)
data = lib.random_bytes(65536, seed=83)
far.stop(signal.SIGKILL)
# Asynchronous, so that a write that waits for the server (what this
# guards against) fails the test instead of hanging it. The 30 s bound is a
# fail-safe, not a timing check: the server stays down all along.
cookie = h.aio_pwrite(nbd.Buffer.from_bytearray(bytearray(data)), 0)
limit = time.monotonic() + 30
while not h.aio_peek_command_completed() and time.monotonic() < limit:
    fd = h.aio_get_fd()
    want = h.aio_get_direction()
    r, w, _ = select.select([fd] if want & nbd.AIO_DIRECTION_READ else [],
                            [fd] if want & nbd.AIO_DIRECTION_WRITE else [], [], 0.1)
    if r:
        h.aio_notify_read()
    if w:
        h.aio_notify_write()
check(h.aio_peek_command_completed() == cookie, "the write waited for the server")
try:
    h.aio_command_completed(cookie)
    lib.fail("a write with the server down succeeded")
except nbd.Error as e:
    check(e.errno == "EIO", "errno %r: %s" % (e.errno, e))
far.start()
for _ in range(100):          # the reconnect's backoff is at most 2 s
    try:
        h.pwrite(data, 0)
        break
    except nbd.Error:
        time.sleep(0.1)       # a retry pace, not a timing check
else:
    lib.fail("the node never reconnected")
check(h.pread(65536, 0) == data, "the write after the reconnect reads back differently")
h.shutdown()
