#!/usr/bin/python3
# block-export-del mode=hard while a client's write is still inside the
# node (a remote node over nbdkit's delay filter, writes taking 2 s): the
# client is disconnected at once, but the export goes only when the write
# has finished — BLOCK_EXPORT_DELETED comes after nbdkit's log filter saw
# the write return, and the node can be deleted then. Freeing the export earlier left the write's completion
# pointing into freed memory (found by ASan). Passes against
# qemu-storage-daemon too.
import os, shutil, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
if not shutil.which("nbdkit"):
    lib.skip("nbdkit not installed")
tmp = lib.tmpdir()
ksock = os.path.join(tmp, "kit.sock")
klog = os.path.join(tmp, "kit.log")
kit = subprocess.Popen(["nbdkit", "-f", "-U", ksock, "--filter=log", "--filter=delay", "memory",
                        "1M", "wdelay=2", "logfile=" + klog],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(500):
        if os.path.exists(ksock):
            break
        time.sleep(0.01)          # fail-safe wait for the socket, not a timing check
    d = qmp.MonitorDaemon(tmp).start()
    c = d.client()
    c.ok("blockdev-add", driver="nbd", **{"node-name": "r"},
         server={"type": "unix", "path": ksock})
    sock = qmp.start_nbd(c, tmp)
    c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "r"})
    h = qmp.nbd_connect(sock, "r")
    h.aio_pwrite(bytearray(b"W" * 4096), 0)
    for _ in range(5):
        h.poll(50)                # the write reaches the node
    c.ok("block-export-del", id="e0", mode="hard")
    c.wait_event("BLOCK_EXPORT_DELETED")
    with open(klog) as f:
        log = f.read()
    check("...Write" in log and "return=0" in log,
          "BLOCK_EXPORT_DELETED came before the write in flight had finished: %r" % log)
    c.ok("blockdev-del", **{"node-name": "r"})
    d.stop()
finally:
    kit.terminate()
    kit.wait()
