#!/usr/bin/python3
"""TLS clients that vanish while writing harm nobody else: a libnbd TLS
client in a child process keeps sixteen 4 MiB writes in flight and is
killed with SIGKILL (no close_notify, records cut anywhere), and a raw TLS
client sends a write request for 4 MiB, 1 MiB of its payload, then the
first bytes of a TLS record that claims 16 KiB, and closes its socket.
Meanwhile another TLS client, connected before either, keeps its session:
its writes and reads go on afterwards, a fresh TLS client is served, the
daemon closes both dead connections (its socket count comes back down),
none of the cut-off write reaches the file, and the daemon exits 0 on
SIGTERM at the end."""
import os
import select
import signal
import ssl
import struct
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # noqa: E402

SIZE = 64 << 20
tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
img = lib.sparse_file(tmp, "disk.img", SIZE)
d = lib.Daemon(tmp)
d.blockdev("vol0", img)
d.export("vol0", writable=True)
d.start(tls="tls-creds-x509,id=tls0,dir=%s,endpoint=server" % pki)

# The bystander: connected before, and its region (the last MiB) is its own.
BY = SIZE - (1 << 20)
other = lib.connect(d, "vol0", tls=pki)
lib.check(other.get_tls_negotiated(), "TLS was not negotiated")
other.pwrite(lib.random_bytes(1 << 20, seed=7), BY)


def sockets():
    n = 0
    for fd in os.listdir("/proc/%d/fd" % d.pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (d.pid, fd)).startswith("socket:")
        except OSError:
            pass
    return n


baseline = sockets()
lib.check(baseline >= 2, "daemon shows %d sockets, with a listener and a client" % baseline)

CHILD = r"""
import sys, nbd
sock, pki = sys.argv[1], sys.argv[2]
h = nbd.NBD()
h.set_tls(nbd.TLS_REQUIRE)
h.set_tls_certificates(pki)
h.set_export_name("vol0")
h.connect_unix(sock)
buf = nbd.Buffer.from_bytearray(bytearray(b"\xc5" * (4 << 20)))
done, off, told = 0, 0, False
def completed(err):
    global done
    done += 1
    return 0
while True:
    while h.aio_in_flight() < 16:
        h.aio_pwrite(buf, off, completion=completed)
        off = (off + (4 << 20)) % (32 << 20)
    h.poll(-1)
    if done and not told:
        print("ready", flush=True)
        told = True
"""
child = subprocess.Popen([sys.executable, "-c", CHILD, d.sock, pki],
                         stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
try:
    # Fail-safe against a child that never gets going, not a timing check.
    r, _, _ = select.select([child.stdout], [], [], 60)
    line = child.stdout.readline() if r else b""
    lib.check(line == b"ready\n", "the writing client did not get going (%r, exit %r)"
              % (line, child.poll()))
finally:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
lib.log("killed the writing client mid-write; daemon sockets %d, before %d"
        % (sockets(), baseline))

# A raw TLS client cut off inside a write payload and inside a TLS record.
s = lib.raw_connect(d)
lib.raw_greeting(s)
s.sendall(struct.pack(">I", lib.FLAG_C_FIXED_NEWSTYLE | lib.FLAG_C_NO_ZEROES))
s.sendall(struct.pack(">QII", lib.IHAVEOPT, 5, 0))
magic, opt, rtype, ln = struct.unpack(">QIII", lib.recv_exact(s, 20))
lib.check(opt == 5 and rtype == 1 and ln == 0, "STARTTLS: reply %#x len %d" % (rtype, ln))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(os.path.join(pki, "ca-cert.pem"))
ctx.load_cert_chain(os.path.join(pki, "client-cert.pem"), os.path.join(pki, "client-key.pem"))
t = ctx.wrap_socket(s, server_hostname="localhost")
name = b"vol0"
t.sendall(struct.pack(">QII", lib.IHAVEOPT, lib.OPT_GO, 4 + len(name) + 2)
          + struct.pack(">I", len(name)) + name + struct.pack(">H", 0))
while True:
    magic, opt, rtype, ln = struct.unpack(">QIII", lib.recv_exact(t, 20))
    lib.recv_exact(t, ln)
    if rtype != 3:  # NBD_REP_INFO
        break
lib.check(rtype == 1, "GO over TLS: reply %#x" % rtype)
lib.raw_request(t, lib.CMD_WRITE, offset=0, length=4 << 20, handle=9)
t.sendall(b"\xee" * (1 << 20))
# Straight onto the socket, under TLS: a record header for 16 KiB of
# application data and 100 bytes of it. Then the socket goes away.
# (The socket is non-blocking: it has a timeout. select's is a fail-safe.)
cut = b"\x17\x03\x03\x40\x00" + lib.random_bytes(100, seed=3)
while cut:
    _, w, _ = select.select([], [t.fileno()], [], 30)
    lib.check(w, "the server stopped reading the write payload")
    try:
        cut = cut[os.write(t.fileno(), cut):]
    except BlockingIOError:
        pass
t.close()
lib.log("closed the raw client inside a TLS record")

# The daemon notices both (a fresh client is served after it), and the
# bystander's session goes on.
lib.check(d.alive(), "daemon died")
h = lib.connect(d, "vol0", tls=pki)
h.pwrite(b"fresh client", 40 << 20)
lib.check(h.pread(12, 40 << 20) == b"fresh client", "fresh TLS client read back wrong data")
h.shutdown()
data = lib.random_bytes(1 << 20, seed=8)
other.pwrite(data, BY)
other.flush()
lib.check(other.pread(1 << 20, BY) == data, "the bystander's session read back wrong data")
# Both vanished connections are closed by the daemon: its socket count
# comes back to what it was with only the bystander connected (the
# deadline is a fail-safe against a leak, not a timing check).
limit = time.monotonic() + 30
while sockets() != baseline:
    lib.check(time.monotonic() < limit, "daemon holds %d sockets, %d before the clients "
              "vanished: a dead connection was never closed" % (sockets(), baseline))
    time.sleep(0.05)
other.shutdown()
# The raw client's write never got its whole payload: none of it landed.
with open(img, "rb") as f:
    f.seek(BY)
    lib.check(f.read(1 << 20) == data, "the bystander's data is not in the file")
    f.seek(0)
    head = f.read(1 << 20)
lib.check(b"\xee" not in head, "part of the cut-off write reached the file")
print("ok")
