#!/usr/bin/python3
"""qemu-storage-daemon's spelling on the command line: `--object
iothread,id=io0` starts an event loop on a thread of its own, and
`--export ...,iothread=io0` has the export's clients served there.
query-iothreads names it with the fields QEMU's answer has (checked
against qemu-system-x86_64's own reply when it is installed: qsd 7.2 has
no query-iothreads) and the daemon's thread of that id; a libnbd client
of the bound export writes and reads back, and the daemon's log shows its
connection moved to the iothread's loop, while a client of an unbound
export stays on the pool (--loops 1: the first loop)."""
import json, os, shutil, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.volswapd_only("the test reads volswapd's debug log")
FIELDS = {"id", "thread-id", "poll-max-ns", "poll-grow", "poll-shrink", "aio-max-batch"}


def qemu_fields(tmp):
    """The keys of qemu-system-x86_64's query-iothreads entries, or None."""
    q = shutil.which("qemu-system-x86_64")
    if not q:
        return None
    path = os.path.join(tmp, "qemu.qmp")
    p = subprocess.Popen([q, "-machine", "none", "-nodefaults", "-display", "none",
                          "-object", "iothread,id=x", "-qmp",
                          "unix:%s,server=on,wait=off" % path],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if os.path.exists(path):
                break
            time.sleep(0.05)
        c = qmp.Client(path)
        return set(c.ok("query-iothreads")[0])
    finally:
        p.kill()
        p.wait()


tmp = lib.tmpdir()
want = qemu_fields(tmp)
if want is not None:
    check(want == FIELDS, "qemu-system-x86_64 answers query-iothreads with %r" % sorted(want))
a = lib.sparse_file(tmp, "a.img", 1 << 20)
b = lib.sparse_file(tmp, "b.img", 1 << 20)
sock = os.path.join(tmp, "nbd.sock")
d = qmp.MonitorDaemon(tmp, extra=[
    "-v", "--loops", "1", "--object", "iothread,id=io0,poll-max-ns=1000",
    "--blockdev", "file,node-name=n0,filename=" + a,
    "--blockdev", "file,node-name=n1,filename=" + b,
    "--nbd-server", "addr.type=unix,addr.path=" + sock,
    "--export", "type=nbd,id=e0,node-name=n0,writable=on,iothread=io0",
    "--export", "type=nbd,id=e1,node-name=n1,writable=on"]).start()
c = d.client()
ts = c.ok("query-iothreads")
check(len(ts) == 1 and set(ts[0]) == FIELDS, "query-iothreads: %r" % ts)
t = ts[0]
check(t["id"] == "io0" and t["poll-max-ns"] == 1000 and t["poll-grow"] == 0 and
      t["poll-shrink"] == 0 and t["aio-max-batch"] == 0, "iothread's properties: %r" % t)
check(t["thread-id"] != d.pid and os.path.exists("/proc/%d/task/%d" % (d.pid, t["thread-id"])),
      "thread-id %d is not one of the daemon's threads" % t["thread-id"])
data = lib.random_bytes(65536, seed=3)
for name in ("n0", "n1"):
    h = qmp.nbd_connect(sock, name)
    h.pwrite(data, 4096)
    h.flush()
    check(h.pread(65536, 4096) == data, "read back through %s differs" % name)
    h.shutdown()
log = d.log_text()
check("NBD client of export 'n0' on loop 256" in log, "n0's client did not move to io0's loop")
check("NBD client of export 'n1' on loop" not in log, "n1's client left the first loop")
