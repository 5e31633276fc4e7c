#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# The file of an exported node was deleted while the daemon was down: the
# restore refuses to start (exit 1, the file named) rather than serve the
# export without its volume or drop it silently.
import signal
tmp = lib.tmpdir()
if lib.impl() != "volswapd":
    lib.skip("--state is volswapd's")
a = lib.sparse_file(tmp, "a.img", 4 << 20)
state = os.path.join(tmp, "state.json")
d = qmp.MonitorDaemon(tmp, state=state).start()
c = d.client()
qmp.file_node(c, "vol-a", a)
qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", name="volume", writable=True,
     **{"node-name": "vol-a"})
d.stop(signal.SIGKILL)
os.unlink(a)
d2 = qmp.MonitorDaemon(tmp, state=state)
check(d2.start(expect_fail=True) == 1, "volswapd started without the exported volume's file")
check("a.img" in d2.log_text(), "the error does not name the file: " + d2.log_text()[-400:])
