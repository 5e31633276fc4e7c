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
    (JOB_STATUS_CHANGE shown as its status). Waits as long as the jobs
    move: a copy slowed down by a loaded machine is not a failure, a job
    that stands still is."""
    out = []
    while True:
        e = next_event(c, busy=lambda: jobs_moved(c))
        name = e["event"]
        if name == "JOB_STATUS_CHANGE":
            out.append(e["data"]["status"])
        elif name.startswith("BLOCK_JOB_"):
            out.append(name)
        if name == until or (name == "JOB_STATUS_CHANGE" and e["data"]["status"] == until):
            return out, e


def jobs_moved(c):
    """Whether the block jobs' progress (or their list) changed since the
    last call on this client."""
    now = [(j["device"], j["offset"], j["len"], j.get("status")) for j in
           c.ok("query-block-jobs")]
    moved = now != getattr(c, "_jobs_seen", None)
    c._jobs_seen = now
    return moved


def next_event(c, busy=None):
    """The next event; fails when none comes within qmp.TIMEOUT, unless
    busy() says what the caller waits for still moves (then it waits
    another qmp.TIMEOUT)."""
    import select
    import time
    limit = time.monotonic() + qmp.TIMEOUT
    while not c.events:
        if time.monotonic() > limit:
            if busy and busy():
                limit = time.monotonic() + qmp.TIMEOUT
                continue
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


def remote_volume(tmp, size, state=None):
    """A second volswapd (another host in production) exporting a fresh
    sparse volume "vol", writable, on far-nbd.sock; with state, restartable
    from that state file. Returns (daemon, socket path, volume path)."""
    remote = lib.sparse_file(tmp, "remote.img", size)
    far = qmp.MonitorDaemon(tmp, state=state).start()
    fc = far.client()
    qmp.file_node(fc, "vol", remote)
    fsock = qmp.start_nbd(fc, tmp, "far-nbd.sock")
    fc.ok("block-export-add", type="nbd", id="x0", writable=True, **{"node-name": "vol"})
    return far, fsock, remote


def near_with_remote_target(tmp, src, fsock, export=None, **tgt_opts):
    """The daemon under test: file node src, exported (near-nbd.sock) and
    opened by an NBD guest, and nbd node tgt on the remote server at fsock.
    Returns (daemon, client, guest handle)."""
    near = qmp.MonitorDaemon(tmp).start()
    c = near.client()
    qmp.file_node(c, "src", src)
    if export is not None:
        tgt_opts["export"] = export
    c.ok("blockdev-add", driver="nbd", server={"type": "unix", "path": fsock},
         **dict(tgt_opts, **{"node-name": "tgt"}))
    sock = qmp.start_nbd(c, tmp, "near-nbd.sock")
    c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
    return near, c, qmp.nbd_connect(sock, "src")


def near_and_restartable_remote(tmp, size, seed, **tgt_opts):
    """A source file of `size` random bytes (seed), a second volswapd
    exporting a blank volume and restartable from far-state.json, and the
    daemon under test with its nbd node tgt on that volume (tgt_opts are
    the node's options, e.g. reconnect-delay). Returns (src, far daemon,
    remote volume path, near daemon, client, guest handle)."""
    src = lib.sparse_file(tmp, "src.img", size)
    lib.write_at(src, 0, lib.random_bytes(size, seed))
    far, fsock, remote = remote_volume(tmp, size, state=os.path.join(tmp, "far-state.json"))
    near, c, h = near_with_remote_target(tmp, src, fsock, "vol", **tgt_opts)
    return src, far, remote, near, c, h


def nbdkit(tmp, args):
    """nbdkit in the foreground on a unix socket in tmp, with these plugin
    arguments; returns (process, socket path) once the socket exists."""
    import shutil
    import subprocess
    import time
    if not shutil.which("nbdkit"):
        lib.skip("nbdkit not installed")
    ksock = os.path.join(tmp, "nbdkit.sock")
    kit = subprocess.Popen(["nbdkit", "-f", "-U", ksock] + list(args),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(500):
        if os.path.exists(ksock) or kit.poll() is not None:
            break
        time.sleep(0.01)          # fail-safe wait for the socket, not a timing check
    return kit, ksock


def wait_copying(c):
    """Until the job has copied something (an order of events)."""
    import time
    while c.ok("query-block-jobs")[0]["offset"] == 0:
        time.sleep(0.05)


def same_files(a, b):
    with open(a, "rb") as f:
        x = f.read()
    with open(b, "rb") as f:
        return x == f.read()


class ModelGuest:
    """A seeded libnbd guest on a thread: 16 requests in flight, never two
    overlapping — writes of 512 B to 200 KiB at 512-byte offsets,
    write-zeroes (with and without NO_HOLE) and trims — keeping a model of
    every byte its acknowledged requests define (`model`; `defined` is 0
    where a trim left the content open). stop() waits for the requests in
    flight; `failures` holds the errors it saw, `done` the counts."""

    def __init__(self, uri, size, initial, seed=20261126):
        import threading
        self.uri, self.size, self.seed = uri, size, seed
        self.model = bytearray(initial)
        self.defined = bytearray(b"\1" * size)
        self.failures = []
        self.done = {"write": 0, "zero": 0, "trim": 0}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run)
        self._t.start()

    def _run(self):
        import random
        import nbd
        h = nbd.NBD()
        h.connect_uri(self.uri)
        rnd = random.Random(self.seed)
        inflight = {}
        while not self._stop.is_set() or inflight:
            while not self._stop.is_set() and len(inflight) < 16:
                ln = rnd.choice([512, 4096, 4096, 8192, 65536, 200 * 1024])
                off = rnd.randrange(0, self.size - ln) // 512 * 512
                if any(o < off + ln and off < o + n for o, n in inflight.values()):
                    continue
                kind = rnd.choices(["write", "zero", "trim"], [70, 15, 15])[0]
                if kind == "write":
                    data = rnd.randbytes(ln)
                    cookie = h.aio_pwrite(data, off)
                    self.model[off:off + ln] = data
                elif kind == "zero":
                    flags = nbd.CMD_FLAG_NO_HOLE if rnd.random() < 0.5 else 0
                    cookie = h.aio_zero(ln, off, flags=flags)
                    self.model[off:off + ln] = bytes(ln)
                else:
                    cookie = h.aio_trim(ln, off)
                self.defined[off:off + ln] = (b"\0" if kind == "trim" else b"\1") * ln
                self.done[kind] += 1
                inflight[cookie] = (off, ln)
            h.poll(1)
            for cookie in list(inflight):
                try:
                    if h.aio_command_completed(cookie):
                        del inflight[cookie]
                except nbd.Error as e:
                    self.failures.append(str(e))
                    del inflight[cookie]
        h.shutdown()

    def progress(self, n):
        """Waits until the guest has issued n more requests (or failed):
        an order of events, with a fail-safe bound."""
        import time
        start = last = sum(self.done.values())
        limit = time.monotonic() + qmp.TIMEOUT
        while sum(self.done.values()) < start + n and not self.failures:
            if sum(self.done.values()) != last:     # slow, but moving
                last = sum(self.done.values())
                limit = time.monotonic() + qmp.TIMEOUT
            check(time.monotonic() < limit, "the guest made no progress")
            time.sleep(0.01)

    def stop(self):
        self._stop.set()
        self._t.join()
        check(not self.failures, "the guest saw errors: %r" % self.failures[:3])
        check(all(self.done.values()), "some kind of request never ran: %r" % self.done)

    def mismatches(self, got):
        """512-byte sectors of `got` (the whole volume) that differ from the
        model where it is defined."""
        return [i for i in range(0, self.size, 512)
                if self.defined[i] and got[i:i + 512] != self.model[i:i + 512]]


def pivot_under_guest(c, tmp, src, size, **mirror_args):
    """Exports node src (file `src`) as e0 and starts a ModelGuest on it;
    while the guest writes, zeroes and trims, mirrors src to node tgt (sync
    full, plus mirror_args), waits for READY, completes, and checks that
    the job ended with BLOCK_JOB_COMPLETED and the export moved to tgt; the
    guest goes on there before it is stopped (stop() fails the test on any
    error it saw). Returns (guest, export socket)."""
    sock = qmp.start_nbd(c, tmp)
    c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
    g = ModelGuest(qmp.nbd_uri(sock, "src"), size, open(src, "rb").read())
    try:
        g.progress(200)
        c.ok("blockdev-mirror", **dict({"job-id": "j0", "device": "src", "target": "tgt",
                                        "sync": "full"}, **mirror_args))
        g.progress(200)
        job_events(c, "BLOCK_JOB_READY")
        g.progress(200)
        c.ok("block-job-complete", device="j0")
        ev, _ = job_events(c, "null")
        check("BLOCK_JOB_COMPLETED" in ev, "job events %r" % ev)
        (e,) = c.ok("query-block-exports")
        check(e["node-name"] == "tgt", "export on %r after the pivot" % e["node-name"])
        g.progress(200)                       # and goes on, on the target
    finally:
        g.stop()
    return g, sock
