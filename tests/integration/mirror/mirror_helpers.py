"""Helpers for the QMP mirror tests in this folder (not a test: not
executable). Builds on ../qmp/qmp.py, so every scenario runs against
volswapd, or with VOLSWAP_TEST_IMPL=qsd against qemu-storage-daemon."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmp"))
import qmp  # noqa: E402
from qmp import lib, check  # noqa: E402,F401


def setup(size=16 << 20, data=True):
    """A daemon with file nodes src and tgt of the same size; src holds
    deterministic data in its first half when data is true."""
    tmp = lib.tmpdir()
    src = lib.sparse_file(tmp, "src.img", size)
    tgt = lib.sparse_file(tmp, "tgt.img", size)
    if data:
        lib.write_at(src, 0, lib.random_bytes(size // 2, 11))
    d = qmp.MonitorDaemon(tmp).start()
    c = d.client()
    qmp.file_node(c, "src", src)
    qmp.file_node(c, "tgt", tgt)
    return tmp, d, c, src, tgt


def job_events(c, until):
    """Names of the job events up to and including `until`, in order
    (JOB_STATUS_CHANGE shown as its status)."""
    out = []
    while True:
        e = next_event(c)
        name = e["event"]
        if name == "JOB_STATUS_CHANGE":
            out.append(e["data"]["status"])
        elif name.startswith("BLOCK_JOB_"):
            out.append(name)
        if name == until or (name == "JOB_STATUS_CHANGE" and e["data"]["status"] == until):
            return out, e


def next_event(c):
    import select
    import time
    limit = time.monotonic() + qmp.TIMEOUT
    while not c.events:
        if time.monotonic() > limit:
            lib.fail("no event in time")
        # A message already buffered needs no wait (several often come in
        # one read).
        r = b"\r\n" in c.buf or select.select([c.sock], [], [], 0.5)[0]
        if r:
            m = c.recv()
            check("event" in m, "unexpected reply: %r" % m)
            c.events.append(m)
    return c.events.pop(0)


def wait_written(path, proc):
    """Waits until something writes to the file at path (its mtime moves)
    or proc exits: that the load has reached the volume is an order of
    events, not a time."""
    import select
    before = os.stat(path).st_mtime_ns
    while os.stat(path).st_mtime_ns == before and proc.poll() is None:
        select.select([], [], [], 0.02)
