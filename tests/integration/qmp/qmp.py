"""QMP helpers for the tests in this folder (run by /usr/bin/python3).

    import os, sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import qmp
    from qmp import lib                      # tests/integration/lib.py

    tmp = lib.tmpdir()
    d = qmp.MonitorDaemon(tmp).start()       # volswapd (or qsd) with a monitor
    c = d.client()                           # connected, greeting read, negotiated
    r = c.cmd("query-version")               # the whole reply: {"return": ...}
    c.ok("blockdev-add", driver="file", ...) # the "return" value; fails the test on error
    c.err("blockdev-del", "GenericError", **{"node-name": "x"})   # the error's desc
    c.wait_event("BLOCK_EXPORT_DELETED")     # events are kept aside while waiting

MonitorDaemon(tmp, extra=(), state=None, form="path"|"chardev") starts the
server with only a monitor (and --state PATH when given): no NBD server, no
node, so each test builds what it needs through QMP. With
VOLSWAP_TEST_IMPL=qsd it starts qemu-storage-daemon in the chardev form.

A monitor on TCP with TLS: tls_monitor(tmp, pki, authz=IDENTITY) starts a
daemon whose second monitor is QEMU's `--chardev socket,host=,port=,
tls-creds=[,tls-authz=]`; TlsClient(d.tls_port, ca=pki, cert=DIR) connects
to it (cert=None: no client certificate), and refused(d.tls_port, ...)
says whether such a client gets no greeting.
Kept out of tests/run's way: this file is not executable.
"""

import json
import os
import select
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

check = lib.check
fail = lib.fail

# Fail-safe against a hang, not a timing assertion.
TIMEOUT = float(os.environ.get("VS_QMP_TIMEOUT", "30"))


def volswapd_only(why):
    """Skips under VOLSWAP_TEST_IMPL=qsd, saying why the scenario is not
    one qemu-storage-daemon can run."""
    if lib.impl() != "volswapd":
        lib.skip(why)


MULTI = "qemu-storage-daemon's socket chardev serves one client at a time"


def both_servers():
    """For a test that runs one scripted session against qemu-storage-daemon
    (the reference) and volswapd itself: skips when qsd is missing, and
    under VOLSWAP_TEST_IMPL=qsd (the test covers that already)."""
    import shutil
    if not shutil.which("qemu-storage-daemon"):
        lib.skip("qemu-storage-daemon not installed")
    if lib.impl() != "volswapd":
        lib.skip("this test runs both servers itself")


def session_on(impl):
    """A fresh daemon of IMPL ("qsd" or "volswapd") in the chardev form,
    with a negotiated client: returns (tmp, daemon, client). The test's
    implementation is volswapd again once the sessions are compared."""
    os.environ["VOLSWAP_TEST_IMPL"] = impl
    tmp = lib.tmpdir()
    d = MonitorDaemon(tmp, form="chardev").start()
    return tmp, d, d.client()


def same_steps(ref, ours):
    """Fails at the first step where the two sessions' records differ."""
    os.environ["VOLSWAP_TEST_IMPL"] = "volswapd"
    for a, b in zip(ref, ours):
        check(a == b, "qemu-storage-daemon %r, volswapd %r" % (a, b))
    check(len(ref) == len(ours), "step counts: %d and %d" % (len(ref), len(ours)))


class Client:
    """One QMP connection. Replies and events are told apart as they come;
    events are kept in self.events until a test asks for them."""

    def __init__(self, path, negotiate=True, sock=None):
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(TIMEOUT)
            sock.connect(path)
        self.sock = sock
        self.buf = b""
        self.events = []
        self.greeting = self.recv()
        check("QMP" in self.greeting, "no greeting: %r" % self.greeting)
        if negotiate:
            self.ok("qmp_capabilities")

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def send(self, name, args=None, req_id=None):
        msg = {"execute": name}
        if args is not None:
            msg["arguments"] = args
        if req_id is not None:
            msg["id"] = req_id
        self.send_raw(json.dumps(msg) + "\n")

    def recv_line(self):
        """One raw line (without its CRLF); checks the CRLF ending."""
        limit = time.monotonic() + TIMEOUT
        while b"\r\n" not in self.buf:
            if time.monotonic() > limit:
                fail("no complete QMP line in time; have %r" % self.buf[:200])
            d = self.sock.recv(1 << 20)
            if not d:
                raise EOFError("QMP connection closed; pending %r" % self.buf[:200])
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        check(b"\n" not in line, "bare LF inside a QMP line: %r" % line[:200])
        return line

    def recv(self):
        return json.loads(self.recv_line())

    def reply(self):
        """The next reply (return or error); events on the way are kept."""
        while True:
            m = self.recv()
            if "event" in m:
                check("timestamp" in m and "data" in m, "event without timestamp/data: %r" % m)
                self.events.append(m)
                continue
            return m

    def cmd(self, name, args=None, /, req_id=None, **kw):
        """Keyword arguments are command arguments; req_id is the
        request's "id"."""
        if kw:
            args = dict(args or {}, **kw)
        self.send(name, args, req_id)
        return self.reply()

    def ok(self, name, args=None, /, **kw):
        r = self.cmd(name, args, **kw)
        check("return" in r, "%s failed: %r" % (name, r))
        return r["return"]

    def err(self, name, cls, args=None, /, **kw):
        r = self.cmd(name, args, **kw)
        check("error" in r, "%s %r: expected %s, got %r" % (name, args or kw, cls, r))
        check(r["error"]["class"] == cls, "%s: expected class %s, got %r" % (name, cls, r))
        check(isinstance(r["error"]["desc"], str) and r["error"]["desc"], "empty desc: %r" % r)
        return r["error"]["desc"]

    def wait_event(self, name):
        limit = time.monotonic() + TIMEOUT
        while True:
            for i, e in enumerate(self.events):
                if e["event"] == name:
                    return self.events.pop(i)
            if time.monotonic() > limit:
                fail("no %s event in time; saw %r" % (name, self.events))
            r, _, _ = select.select([self.sock], [], [], 0.5)
            if r or b"\r\n" in self.buf:
                m = self.recv()
                check("event" in m, "unexpected reply while waiting for %s: %r" % (name, m))
                self.events.append(m)

    def no_message(self, wait=0.3):
        """True if nothing arrives for a moment (used only to assert that
        something is NOT sent, never to wait for something)."""
        if self.buf:
            return False
        r, _, _ = select.select([self.sock], [], [], wait)
        return not r

    def closed(self):
        """True once the server has closed the connection."""
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (ConnectionResetError, BrokenPipeError):
            return True


class MonitorDaemon(lib.Daemon):
    """volswapd (or qsd) with a QMP monitor and nothing else."""

    def __init__(self, tmp, extra=(), state=None, form="path"):
        super().__init__(tmp)
        n = len(lib._daemons)
        self.qmp_path = os.path.join(tmp, "qmp%d.sock" % n)
        self.extra = list(extra)
        self.state = state
        self.form = "chardev" if lib.impl() == "qsd" else form

    def argv(self):
        a = [lib.daemon_bin()] + lib.loops_opts()
        if self.form == "chardev":
            a += ["--chardev", "socket,path=%s,server=on,wait=off,id=mon0" % self.qmp_path,
                  "--monitor", "chardev=mon0"]
        else:
            a += ["--monitor", self.qmp_path]
        if self.state:
            a += ["--state", self.state]
        return a + self.extra + ["--pidfile", self.pidfile]

    def start(self, expect_fail=False):
        argv = self.argv()
        lib.log("starting: " + " ".join(argv))
        if os.path.exists(self.pidfile):
            os.unlink(self.pidfile)
        self.logf = open(self.logfile, "ab")
        self.proc = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        if self not in lib._daemons:
            lib._daemons.append(self)
        if expect_fail:
            rc = self.proc.wait(timeout=TIMEOUT)
            lib._daemons.remove(self)
            self.logf.close()
            return rc
        limit = time.monotonic() + TIMEOUT
        while not (os.path.exists(self.pidfile) and os.path.getsize(self.pidfile) > 0):
            rc = self.proc.poll()
            if rc is not None:
                fail("%s exited with status %d before writing its pidfile: %s"
                     % (lib.impl(), rc, self.log_text()[-500:]))
            if time.monotonic() > limit:
                fail("%s did not write %s in time" % (lib.impl(), self.pidfile))
            time.sleep(0.05)
        self.pid = self.proc.pid
        return self

    def client(self, negotiate=True):
        return Client(self.qmp_path, negotiate)

    def wait_exit(self):
        rc = self.proc.wait(timeout=TIMEOUT)
        if self in lib._daemons:
            lib._daemons.remove(self)
        self.logf.close()
        return rc


def file_node(c, name, path, **extra):
    """blockdev-add of a raw file, qsd-compatible."""
    args = {"driver": "file", "node-name": name, "filename": path}
    args.update(extra)
    return c.ok("blockdev-add", args)


def start_nbd(c, tmp, name="nbd.sock"):
    path = os.path.join(tmp, name)
    c.ok("nbd-server-start", addr={"type": "unix", "data": {"path": path}})
    return path


def nbd_uri(sock, export):
    return "nbd+unix:///%s?socket=%s" % (export, sock)


def exported_volume(tmp, **daemon_opts):
    """A daemon serving a fresh 1 MiB file as node n0, exported writable
    as e0 (export name n0) on tmp's NBD socket. Returns (daemon, client,
    socket path, file path)."""
    a = lib.sparse_file(tmp, "a.img", 1 << 20)
    d = MonitorDaemon(tmp, **daemon_opts).start()
    c = d.client()
    file_node(c, "n0", a)
    sock = start_nbd(c, tmp)
    c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "n0"})
    return d, c, sock, a


def tls_export(c, tmp, pki, img, authz=None, writable=True):
    """Over client c: server TLS credentials "srv" (x509 from pki), file
    node n0 on img, an NBD server on tmp/nbd.sock requiring them (and
    tls-authz=authz when given), and export e0 (name e0) of n0. Returns the
    socket path."""
    c.ok("object-add", **{"qom-type": "tls-creds-x509", "id": "srv", "dir": pki,
                          "endpoint": "server"})
    file_node(c, "n0", img)
    sock = os.path.join(tmp, "nbd.sock")
    extra = {"tls-creds": "srv"}
    if authz:
        extra["tls-authz"] = authz
    c.ok("nbd-server-start", addr={"type": "unix", "data": {"path": sock}}, **extra)
    c.ok("block-export-add", type="nbd", id="e0", name="e0", writable=writable,
         **{"node-name": "n0"})
    return sock


def guest_of_remote_volume(tmp, **nbd_opts):
    """A second daemon (restartable from its state file) serves a volume;
    this one opens it as nbd node rv with nbd_opts and exports it again,
    and a guest connects. Returns (far daemon, near daemon, guest handle)."""
    far, _, fsock, _ = exported_volume(tmp, state=os.path.join(tmp, "far-state.json"))
    d = MonitorDaemon(tmp).start()
    c = d.client()
    c.ok("blockdev-add", driver="nbd", server={"type": "unix", "path": fsock}, export="n0",
         **dict(nbd_opts, **{"node-name": "rv"}))
    sock = os.path.join(tmp, "near-nbd.sock")
    c.ok("nbd-server-start", addr={"type": "unix", "data": {"path": sock}})
    c.ok("block-export-add", type="nbd", id="g0", writable=True, **{"node-name": "rv"})
    return far, d, nbd_connect(sock, "rv")


def guest_writes_through_remote_restart(far, d, h, seed):
    """The remote daemon `far` behind near daemon d's nbd node is killed
    (SIGKILL) and restarted from its state file while guest h's write is in
    the air: the write waits and succeeds on the new connection (it raises
    if the guest sees an error), both writes read back, and d logged the
    loss and the reconnect. Returns (before, during): 64 KiB written at 0
    and at 128 KiB."""
    import signal
    import threading
    before = lib.random_bytes(65536, seed=seed)
    h.pwrite(before, 0)
    h.flush()
    far.stop(signal.SIGKILL)
    restart = threading.Timer(0.3, far.start)   # back while the write below waits
    restart.start()
    during = lib.random_bytes(65536, seed=seed + 1)
    h.pwrite(during, 128 << 10)
    restart.join()
    h.flush()
    check(h.pread(65536, 0) == before, "data written before the outage differs")
    check(h.pread(65536, 128 << 10) == during, "the write made during the outage differs")
    h.shutdown()
    log = d.log_text()
    check("connection lost" in log and "reconnected" in log, "no reconnect: %s" % log[-600:])
    return before, during


def nbd_still_serves(sock, export, why):
    """A fresh NBD client of `export` writes and reads back."""
    h = nbd_connect(sock, export)
    h.pwrite(b"still here", 4096)
    check(h.pread(10, 4096) == b"still here", why)
    h.shutdown()


class StalledSaves:
    """Stalls the daemon's next state save, standing for an fsync stuck
    behind a congested disk. White-box: state-file.c writes STATE.tmp.GEN,
    GEN counting the saves since start; a FIFO stands at every number the
    next save may take (those of earlier saves are never used again), and
    the save's open waits until release() reads it."""

    def __init__(self, state, count=40):
        self.fifos = ["%s.tmp.%d" % (state, g) for g in range(1, count)]
        for f in self.fifos:
            os.mkfifo(f)
        self.fds = []

    def release(self, marker, what):
        """Reads the stalled save until it has written `marker` and its
        last newline (it then fails at fsync: a FIFO cannot be synced);
        returns what it wrote."""
        self.fds = [os.open(f, os.O_RDONLY | os.O_NONBLOCK) for f in self.fifos]
        written = b""
        limit = time.monotonic() + TIMEOUT
        while marker not in written or not written.endswith(b"\n"):
            check(time.monotonic() < limit, "%s wrote nothing: %r" % (what, written[:200]))
            ready, _, _ = select.select(self.fds, [], [], 0.5)
            for fd in ready:
                try:
                    written += os.read(fd, 65536)
                except BlockingIOError:
                    pass
        return written

    def remove(self):
        for fd in self.fds:
            os.close(fd)
        for f in self.fifos:
            if os.path.exists(f):      # the failed save removed its own
                os.unlink(f)


def nbd_connect(sock, export):
    import nbd
    h = nbd.NBD()
    h.set_export_name(export)
    h.connect_unix(sock)
    return h


def shape(v):
    """The shape of a JSON value: keys and types, not values. Lists are
    reduced to the shape of their first element."""
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(v[0])] if v else []
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    return type(v).__name__


def tls_monitor(tmp, pki, authz=None, extra=()):
    """A daemon (volswapd, or qsd under VOLSWAP_TEST_IMPL=qsd) with its
    usual unix monitor and a second one on 127.0.0.1:d.tls_port requiring
    TLS with server credentials from pki (and, with authz, a client whose
    certificate's DN is that identity)."""
    port = lib._free_port()
    opts = ["--object", "tls-creds-x509,id=qtls,dir=%s,endpoint=server" % pki]
    chardev = "socket,id=qtcp,host=127.0.0.1,port=%d,server=on,wait=off,tls-creds=qtls" % port
    if authz:
        opts += ["--object", "authz-simple,id=qaz,identity=" + authz.replace(",", ",,")]
        chardev += ",tls-authz=qaz"
    opts += ["--chardev", chardev, "--monitor", "chardev=qtcp"]
    d = MonitorDaemon(tmp, extra=opts + list(extra)).start()
    d.tls_port = port
    return d


class TlsClient(Client):
    """A QMP client over TCP and TLS (Python's ssl, OpenSSL: a peer that
    shares no code with the server). ca: the directory whose ca-cert.pem
    the server's certificate must chain to; cert: the directory holding
    client-cert.pem and client-key.pem, or None to present none."""

    def __init__(self, port, ca, cert=None, negotiate=True):
        import ssl
        ctx = ssl.create_default_context(cafile=os.path.join(ca, "ca-cert.pem"))
        if cert:
            ctx.load_cert_chain(os.path.join(cert, "client-cert.pem"),
                                os.path.join(cert, "client-key.pem"))
        raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        super().__init__(None, negotiate, sock=ctx.wrap_socket(raw, server_hostname="localhost"))

    def send(self, name, args=None, req_id=None):
        # The newline in a record of its own: qemu-storage-daemon 7.2 reads
        # a TLS chardev one byte per wakeup and would otherwise answer a
        # command only when the next bytes arrive.
        msg = {"execute": name}
        if args is not None:
            msg["arguments"] = args
        if req_id is not None:
            msg["id"] = req_id
        self.send_raw(json.dumps(msg))
        self.send_raw("\n")


def tls_refused(port, ca, cert=None):
    """True if a TLS client with these credentials gets no greeting: the
    handshake fails, or the server closes the connection (an alert, or
    EOF) before greeting."""
    import ssl
    try:
        c = TlsClient(port, ca, cert, negotiate=False)
    except (ssl.SSLError, ConnectionError, EOFError) as e:
        lib.log("refused: %s" % e)
        return True
    c.close()
    return False


def loop_device(tmp, name, size):
    """A loop device over a fresh sparse file of SIZE bytes in tmp (a pool
    device standing for a disk), detached at exit (lazily, after the
    daemons have closed it). Skips without root or losetup."""
    import atexit
    import shutil
    if os.geteuid() != 0 or not shutil.which("losetup"):
        lib.skip("loop devices need root and losetup")
    backing = lib.sparse_file(tmp, name, size)
    p = subprocess.run(["losetup", "-f", "--show", backing], capture_output=True, text=True)
    if p.returncode != 0:
        lib.skip("losetup cannot attach a loop device here: " + p.stderr.strip())
    dev = p.stdout.strip()
    atexit.register(lambda: subprocess.run(["losetup", "-d", dev], capture_output=True))
    return dev


def pool_device_state(c, dev):
    """The device's entry in x-volswap-query-pools."""
    for p in c.ok("x-volswap-query-pools"):
        if p["path"] == dev:
            return p
    fail("%s is not among the pools" % dev)


def wait_device_ready(c, dev):
    """Polls x-volswap-query-pools until DEV's wipe has ended."""
    limit = time.monotonic() + TIMEOUT
    while True:
        st = pool_device_state(c, dev)
        if st["state"] == "ready":
            return st
        check(st["state"] == "wiping", "device %s: %s" % (dev, st))
        check(time.monotonic() < limit, "device %s still wiping: %s" % (dev, st))
        time.sleep(0.05)
