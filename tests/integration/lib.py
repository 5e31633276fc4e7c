"""Shared helpers for Python integration tests (run by /usr/bin/python3).

Import from a test one folder below tests/integration/:

    import os, sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import lib

    tmp = lib.tmpdir()                       # removed at exit
    img = lib.sparse_file(tmp, "disk.img", 64 << 20)
    d = lib.Daemon(tmp)
    d.blockdev("vol0", img)                  # file,node-name=vol0,filename=img
    d.export("vol0", writable=True)          # nbd,node=vol0,name=vol0,writable=on
    d.start()                                # waits for the pidfile
    h = lib.connect(d, "vol0")               # nbd.NBD, strict checks off
    ...
    lib.check(cond, "what went wrong")       # fails the test (exit 1) if not cond

Which server runs: volswapd ($VOLSWAP_BUILD/src/daemon/volswapd), or with
VOLSWAP_TEST_IMPL=qsd, qemu-storage-daemon given the equivalent options.
Every daemon still running at exit (atexit, also on SIGTERM/SIGINT) is
stopped with SIGTERM; if it then exits non-zero an otherwise passing test
fails (this is how sanitizer reports at exit are caught), and daemon logs
are printed whenever the test fails.

Helpers:
  tmpdir()                      temp dir removed at exit
  impl()                        "volswapd" or "qsd"
  as_impl(name)                 context: daemons started in it run that one
  Daemon(tmp)                   .blockdev(node, path, **opts) .export(node,
                                name=None, description=None, writable=False)
                                .start(tcp=False) .uri(name) .stop(sig) -> exit
                                status; .sock / .port / .pid / .log_text()
  connect(d, name, structured=True, meta=("base:allocation",))
                                libnbd handle with strict mode off, so what
                                the server answers is what the test sees
  expect_nbd_error(errno_, fn, *args)  call fn, require nbd.Error with errno_
  sparse_file(dir, name, size)  sparse raw file
  random_bytes(n, seed)         deterministic random bytes
  write_at(path, off, data)     pwrite into a file
  same_file(a, b)               byte comparison of two files
  check(cond, msg) fail(msg) skip(msg)   test outcome helpers (exit 1 / 77)
Raw protocol helpers (for what libnbd will not send):
  raw_connect(d)                plain socket to the daemon
  raw_greeting(s)               read the newstyle greeting, return its flags
  raw_export_name(s, name)      handshake via NBD_OPT_EXPORT_NAME (simple
                                replies only) -> (size, transmission flags)
  raw_request(s, cmd, offset, length, flags, handle, payload)
  raw_simple_reply(s, data_len) -> (error, handle, data)
  raw_option_start(d) -> (s, flags)   connected, client flags sent
  raw_option(s, opt, payload) -> (type, data)   one option, its first reply
  raw_option_reply(s, opt)      the next reply to opt
  recv_exact(s, n)  wait_closed(s)
  still_serves(d, name, size)   a fresh libnbd client reads and writes
TLS:
  tls_certs(tmp)                test credentials (gen-tls-certs.sh): a dir with
                                the CA, server and client certificates, and
                                psk/keys.psk for the user "alice"
  Daemon.start(tls="tls-creds-x509,id=tls0,dir=D,endpoint=server[,...]")
                                the server with those credentials (id tls0):
                                clients must STARTTLS; tls_authz=ID adds
                                tls-authz, tls_objects=[...] more --objects;
                                server_opts="k=v,..." more --nbd-server options
  connect(d, name, tls=DIR | psk=(FILE, USER))   a TLS client; d may be
                                SocketAddr(path) for a server started over QMP
Tunable: VS_START_TIMEOUT (seconds to wait for the pidfile, default 30: a
fail-safe for a daemon that never comes up, not a timing assertion).
"""

import atexit
import contextlib
import errno
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import nbd

SRC = os.environ.get("VOLSWAP_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("VOLSWAP_BUILD") or os.path.join(SRC, "build")

_daemons = []
_tmpdirs = []
_failed = False
_skipped = False


def log(msg):
    print("[%s] %s" % (os.path.basename(sys.argv[0]), msg), file=sys.stderr, flush=True)


def fail(msg):
    global _failed
    _failed = True
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def skip(msg):
    global _skipped
    _skipped = True
    print("SKIP: " + msg, flush=True)
    sys.exit(77)


def check(cond, msg):
    if not cond:
        fail(msg)


def impl():
    v = os.environ.get("VOLSWAP_TEST_IMPL", "volswapd")
    if v in ("qsd", "qemu-storage-daemon"):
        return "qsd"
    if v == "volswapd":
        return "volswapd"
    fail("VOLSWAP_TEST_IMPL must be volswapd or qsd, not %r" % v)


@contextlib.contextmanager
def as_impl(name):
    """Daemons built and started inside `with as_impl("qsd"):` run that
    implementation whatever the test's own (for tests that run both)."""
    old = os.environ.get("VOLSWAP_TEST_IMPL")
    os.environ["VOLSWAP_TEST_IMPL"] = name
    try:
        yield
    finally:
        if old is None:
            del os.environ["VOLSWAP_TEST_IMPL"]
        else:
            os.environ["VOLSWAP_TEST_IMPL"] = old


def daemon_bin():
    if impl() == "qsd":
        b = shutil.which("qemu-storage-daemon")
        if not b:
            skip("qemu-storage-daemon not installed")
        return b
    b = os.path.join(BUILD, "src", "daemon", "volswapd")
    if not os.access(b, os.X_OK):
        fail("volswapd not built: %s missing (run scripts/build)" % b)
    return b


def _cleanup():
    # Stop daemons still running with SIGTERM (the clean shutdown path), so a
    # sanitizer build reports leaks and errors at exit; a daemon that then
    # exits non-zero fails an otherwise passing test.
    bad = None
    for d in list(_daemons):
        rc = d.terminate()
        if rc not in (0, None) and not _failed and not _skipped:
            bad = (d, rc)
    for t in _tmpdirs:
        shutil.rmtree(t, ignore_errors=True)
    if bad:
        print("FAIL: daemon exited with status %d on SIGTERM at the end of the test"
              % bad[1], flush=True)
        os._exit(1)


def _on_signal(signum, frame):
    global _failed
    _failed = True
    sys.exit(128 + signum)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def _excepthook(tp, val, tb):
    # An uncaught exception is a failure: show the daemon logs with it.
    global _failed
    _failed = True
    sys.__excepthook__(tp, val, tb)


sys.excepthook = _excepthook


def tmpdir():
    t = tempfile.mkdtemp(prefix="volswap-test.", dir=os.environ.get("TMPDIR", "/tmp"))
    _tmpdirs.append(t)
    return t


def sparse_file(d, name, size):
    p = os.path.join(d, name)
    with open(p, "wb") as f:
        f.truncate(size)
    return p


def random_bytes(n, seed=1):
    return random.Random(seed).randbytes(n)


def write_at(path, off, data):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, off)
    finally:
        os.close(fd)


def same_file(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def loops_opts():
    """--loops N for volswapd when VOLSWAP_TEST_LOOPS=N (scripts/test-loops)."""
    n = os.environ.get("VOLSWAP_TEST_LOOPS")
    return ["--loops", n] if n and impl() == "volswapd" else []


def _free_port():
    """A free TCP port for a daemon to listen on, below the kernel's
    ephemeral range (32768 and up): a port from bind(0) is one that a
    concurrent test's outgoing connection may take before our daemon binds
    it. Random in 20000..32767, checked free now; two tests picking the
    same one at the same moment is left to the retry in Daemon.start."""
    rnd = random.SystemRandom()
    for _ in range(200):
        port = rnd.randrange(20000, 32768)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    fail("no free TCP port in 20000..32767")


class Daemon:
    """One volswapd (or qsd) process with its block nodes and exports."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.opts = []
        self.proc = None
        self.sock = None
        self.port = None
        self.pid = None
        n = len(_daemons)
        self.pidfile = os.path.join(tmp, "daemon%d.pid" % n)
        self.logfile = os.path.join(tmp, "daemon%d.log" % n)
        _daemons.append(self)

    def blockdev(self, node, path, **opts):
        """opts: read_only, direct, discard (bools) -> read-only=on etc."""
        parts = ["node-name=" + node, "filename=" + path]
        if opts.get("read_only"):
            parts.append("read-only=on")
        if opts.get("direct"):
            parts.append("cache.direct=on")
        if opts.get("discard"):
            parts.append("discard=unmap")
        if impl() == "qsd":
            drv = "host_device" if os.path.exists(path) and \
                os.path.stat.S_ISBLK(os.stat(path).st_mode) else "file"
            self.opts += ["--blockdev", "driver=%s,%s" % (drv, ",".join(parts))]
        else:
            self.opts += ["--blockdev", "file," + ",".join(parts)]

    def export(self, node, name=None, description=None, writable=False):
        parts = []
        if name is not None:
            parts.append("name=" + name)
        if description is not None:
            parts.append("description=" + description.replace(",", ",,"))
        if writable:
            parts.append("writable=on")
        if impl() == "qsd":
            parts = ["id=exp-%s" % (name or node), "node-name=" + node] + parts
            self.opts += ["--export", "type=nbd," + ",".join(parts)]
        else:
            self.opts += ["--export", "nbd," + ",".join(["node=" + node] + parts)]

    def start(self, tcp=False, extra=(), tls=None, tls_authz=None, tls_objects=(),
              server_opts=None, _attempt=0):
        q = impl() == "qsd" or tls or server_opts
        if tcp:
            self.port = _free_port()
            listen = ("addr.type=inet,addr.host=127.0.0.1,addr.port=%d" if q
                      else "tcp:127.0.0.1:%d") % self.port
        else:
            self.sock = os.path.join(self.tmp, "nbd%d.sock" % _daemons.index(self))
            listen = ("addr.type=unix,addr.path=" if q else "unix:") + self.sock
        objects = []
        if server_opts:
            listen += "," + server_opts
        if tls:
            listen += ",tls-creds=tls0"
            objects = ["--object", tls]
            if tls_authz:
                listen += ",tls-authz=" + tls_authz
        for o in tls_objects:
            objects += ["--object", o]
        # --nbd-server first: qsd creates exports in option order and needs
        # the server to exist by then (and the objects it names before it).
        argv = [daemon_bin()] + loops_opts() + objects + ["--nbd-server", listen] + \
            self.opts + list(extra) + ["--pidfile", self.pidfile]
        log("starting: " + " ".join(argv))
        self.logf = open(self.logfile, "wb")
        # SIGINT/SIGQUIT at their defaults in the daemon whatever this test
        # inherited, as if it were started from a terminal.
        def reset():
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGQUIT, signal.SIG_DFL)
        self.proc = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=reset)
        limit = time.monotonic() + float(os.environ.get("VS_START_TIMEOUT", "30"))
        # The contract: the pidfile appears only once every socket listens.
        while not (os.path.exists(self.pidfile) and os.path.getsize(self.pidfile) > 0):
            rc = self.proc.poll()
            if rc is not None and tcp and _attempt < 5 and "in use" in self.log_text():
                # Another test took the port between _free_port and our bind.
                self.logf.close()
                return self.start(tcp, extra, tls, tls_authz, tls_objects, server_opts,
                                  _attempt + 1)
            if rc is not None:
                fail("%s exited with status %d before writing its pidfile: %s"
                     % (impl(), rc, self.log_text()[-500:]))
            if time.monotonic() > limit:
                fail("%s did not write %s in time" % (impl(), self.pidfile))
            time.sleep(0.05)
        with open(self.pidfile) as f:
            self.pid = int(f.read().strip())
        check(self.pid == self.proc.pid,
              "pidfile holds %d, daemon pid is %d" % (self.pid, self.proc.pid))
        return self

    def uri(self, name=""):
        if self.port:
            return "nbd://127.0.0.1:%d/%s" % (self.port, name)
        return "nbd+unix:///%s?socket=%s" % (name, self.sock)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM):
        """Signal the daemon and wait; returns its exit status (negative: signal)."""
        self.proc.send_signal(sig)
        try:
            # Bounded fail-safe so a daemon ignoring the signal fails the
            # test instead of hanging it; not a timing assertion.
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            global _failed
            _failed = True
            self.terminate(sig=signal.SIGKILL)
            fail("daemon still running 30 s after signal %d" % sig)
        if self in _daemons:
            _daemons.remove(self)
        self.logf.close()
        return rc

    def terminate(self, sig=signal.SIGTERM):
        """SIGTERM, wait (bounded fail-safe), SIGKILL if need be; prints the
        log if the test failed or the exit was unclean. Returns the status."""
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                # 30 s fail-safe when the clean exit is being checked, 2 s
                # when the test already failed (tests/run's timeout kills
                # the test 10 s after SIGTERM; the daemon must not outlive it).
                rc = self.proc.wait(timeout=2 if _failed else 30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        if self in _daemons:
            _daemons.remove(self)
        if _failed or rc not in (0, None):
            t = self.log_text()
            if t:
                print("--- %s\n%s" % (self.logfile, t[-3000:]), file=sys.stderr)
        return rc


class SocketAddr:
    """What connect() needs to reach an NBD server this module did not
    start (one a test started over QMP): its unix socket."""
    port = None

    def __init__(self, sock):
        self.sock = sock


def tls_certs(tmp):
    """Test TLS credentials in tmp/pki (made once per test directory)."""
    d = os.path.join(tmp, "pki")
    if not os.path.exists(os.path.join(d, "client-key.pem")):
        subprocess.run(["bash", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             "gen-tls-certs.sh"), d], check=True)
    return d


def connect(d, name="", structured=True, meta=("base:allocation",), tls=None, psk=None):
    """Connected libnbd handle. Strict mode is off: libnbd would otherwise
    refuse out-of-range or badly flagged requests itself, and the test
    would never learn what the server does with them. tls: a certificate
    directory (tls_certs); psk: (keys file, username). Either makes TLS
    required."""
    h = nbd.NBD()
    if tls or psk:
        h.set_tls(nbd.TLS_REQUIRE)
        if tls:
            h.set_tls_certificates(tls)
            h.set_tls_verify_peer(True)
        else:
            h.set_tls_psk_file(psk[0])
            h.set_tls_username(psk[1])
    h.set_strict_mode(0)
    h.set_request_structured_replies(structured)
    if structured:
        for m in meta:
            h.add_meta_context(m)
    h.set_export_name(name)
    if d.port:
        h.connect_tcp("127.0.0.1", str(d.port))
    else:
        h.connect_unix(d.sock)
    return h


def expect_nbd_error(want, fn, *args):
    """Call fn(*args); require it to fail with nbd.Error carrying errno want
    (an errno number, or a tuple of acceptable ones). Python libnbd gives
    the errno as its name ("EINVAL"), so names are compared."""
    wants = want if isinstance(want, tuple) else (want,)
    names = [errno.errorcode[w] for w in wants]
    what = "%s%r" % (getattr(fn, "__name__", fn), tuple(a for a in args if not callable(a) and not isinstance(a, (bytes, bytearray))))
    try:
        fn(*args)
    except nbd.Error as e:
        got = e.errno if isinstance(e.errno, str) else errno.errorcode.get(e.errno, e.errno)
        check(got in names, "%s: expected %s, got %s (%s)"
              % (what, "/".join(names), got, e.string))
        return e
    fail("%s: expected %s, it succeeded" % (what, "/".join(names)))


# --- Raw protocol helpers, for scenarios libnbd will not produce (garbage,
# truncated messages, unknown commands). Constants from the NBD spec.
NBDMAGIC = 0x4E42444D41474943
IHAVEOPT = 0x49484156454F5054
OPT_EXPORT_NAME = 1
OPT_ABORT = 2
OPT_GO = 7
REQUEST_MAGIC = 0x25609513
SIMPLE_REPLY_MAGIC = 0x67446698
FLAG_C_FIXED_NEWSTYLE = 1
FLAG_C_NO_ZEROES = 2
CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH = 0, 1, 2, 3


def raw_connect(d, timeout=30.0):
    """A plain socket to the daemon. The timeout is a fail-safe against a
    hang, not a timing assertion."""
    if d.port:
        s = socket.create_connection(("127.0.0.1", d.port))
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d.sock)
    s.settimeout(timeout)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def raw_greeting(s):
    """Read the fixed-newstyle greeting; returns the handshake flags."""
    magic, opt, flags = struct.unpack(">QQH", recv_exact(s, 18))
    check(magic == NBDMAGIC and opt == IHAVEOPT,
          "bad greeting magic %#x %#x" % (magic, opt))
    return flags


REP_MAGIC = 0x3E889045565A9


def raw_option_start(d):
    """A raw connection past the greeting, client flags sent (fixed
    newstyle, no zeroes): ready for options. Returns (socket, flags)."""
    s = raw_connect(d)
    flags = raw_greeting(s)
    s.sendall(struct.pack(">I", FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES))
    return s, flags


def raw_option_reply(s, opt):
    """One option reply, checked for magic and option: (type, payload)."""
    magic, ropt, rtype, ln = struct.unpack(">QIII", recv_exact(s, 20))
    data = recv_exact(s, ln)
    check(magic == REP_MAGIC, "option %d: reply magic %#x" % (opt, magic))
    check(ropt == opt, "option %d: reply for option %d" % (opt, ropt))
    return rtype, data


def raw_option(s, opt, payload=b""):
    """Send option opt and read its first reply: (type, payload)."""
    s.sendall(struct.pack(">QII", IHAVEOPT, opt, len(payload)) + payload)
    return raw_option_reply(s, opt)


def raw_export_name(s, name):
    """Fixed newstyle up to NBD_OPT_EXPORT_NAME (no structured replies, so
    every reply is simple). Returns (size, transmission flags)."""
    hflags = raw_greeting(s)
    cflags = FLAG_C_FIXED_NEWSTYLE | (hflags & FLAG_C_NO_ZEROES)
    s.sendall(struct.pack(">I", cflags))
    n = name.encode()
    s.sendall(struct.pack(">QII", IHAVEOPT, OPT_EXPORT_NAME, len(n)) + n)
    size, tflags = struct.unpack(">QH", recv_exact(s, 10))
    if not cflags & FLAG_C_NO_ZEROES:
        recv_exact(s, 124)
    return size, tflags


def raw_request(s, cmd, offset=0, length=0, flags=0, handle=1, payload=b""):
    s.sendall(struct.pack(">IHHQQI", REQUEST_MAGIC, flags, cmd, handle, offset, length)
              + payload)


def raw_simple_reply(s, data_len=0):
    """Read one simple reply; returns (error, handle, data). data_len bytes
    of data are read only when error is 0."""
    magic, err, handle = struct.unpack(">IIQ", recv_exact(s, 16))
    check(magic == SIMPLE_REPLY_MAGIC, "expected a simple reply, got magic %#x" % magic)
    data = recv_exact(s, data_len) if err == 0 and data_len else b""
    return err, handle, data


def wait_closed(s):
    """Read until the peer closes; returns True if it did (EOF or reset)."""
    try:
        while s.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    return True


def still_serves(d, name, size=None):
    """A fresh libnbd client can read and write: the daemon survived."""
    check(d.alive(), "daemon is no longer running")
    h = connect(d, name)
    if size is not None:
        check(h.get_size() == size, "export size %d, expected %d" % (h.get_size(), size))
    if not h.is_read_only():
        h.pwrite(b"alive!", 512)
        check(h.pread(6, 512) == b"alive!", "read back after write failed")
    else:
        h.pread(512, 0)
    h.shutdown()
