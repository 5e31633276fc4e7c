#!/usr/bin/python3
"""volswapd is stopped (SIGTERM) while an nbd node reconnects to a server
that accepted the connection and never answers: the node's server died and
a silent listener took its socket, so the reconnect's connect waits on the
worker pool for a greeting that does not come. Stopping closes the node,
which cancels that connect: the daemon exits 0 without leaving a blocking
operation behind and, in the sanitizer build, without a leak."""
import os, select, signal, socket, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp  # noqa: E402
from qmp import lib, check  # noqa: E402

qmp.volswapd_only("reconnecting nbd nodes are volswapd's")
tmp = lib.tmpdir()
remote = lib.sparse_file(tmp, "remote.img", 1 << 20)
far = lib.Daemon(tmp)
far.blockdev("vol", remote)
far.export("vol", writable=True)
far.start()
near = qmp.MonitorDaemon(tmp).start()
c = near.client()
c.ok("blockdev-add", driver="nbd", export="vol", server={"type": "unix", "path": far.sock},
     **{"node-name": "tgt"})
# The path now leads to a listener that never accepts; the node's
# connection still reaches the far daemon until it dies.
os.unlink(far.sock)
silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
silent.bind(far.sock)
silent.listen(4)
far.stop(signal.SIGKILL)
# The reconnect's connect is in the backlog: it waits for the greeting.
r, _, _ = select.select([silent], [], [], qmp.TIMEOUT)
check(r, "the nbd node never reconnected")
rc = near.stop()
log = near.log_text()
check(rc == 0, "volswapd exited with status %d: %s" % (rc, log[-2000:]))
check("connection lost" in log, "the node never saw its server go: %s" % log[-800:])
check("still running" not in log, "a connect outlived the daemon's exit: %s" % log[-800:])
silent.close()
print("ok")
