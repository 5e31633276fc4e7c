#!/usr/bin/python3
# Under umask 000 the QMP, NBD and metrics unix sockets are still created
# 0600: whoever can connect to them controls the host's storage, so their
# mode is not left to the umask.
import os, stat, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ops
from ops import lib, qmp, check
qmp.volswapd_only("qemu-storage-daemon's sockets follow the umask")
os.umask(0)
tmp = lib.tmpdir()
metrics = os.path.join(tmp, "metrics.sock")
d = qmp.MonitorDaemon(tmp, extra=["--metrics", "unix:" + metrics]).start()
c = d.client()
nbd = qmp.start_nbd(c, tmp)
for path in (d.qmp_path, nbd, metrics):
    mode = stat.S_IMODE(os.stat(path).st_mode)
    check(mode == 0o600, "%s has mode %o, not 600" % (os.path.basename(path), mode))
