#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# Nodes, the NBD server and exports made over QMP are in the state file;
# after SIGKILL (no clean shutdown at all) a restart with --state serves
# them again: an NBD client reconnects and reads what it wrote.
import signal
tmp = lib.tmpdir()
if lib.impl() != "volswapd":
    lib.skip("--state is volswapd's")
a = lib.sparse_file(tmp, "a.img", 4 << 20)
state = os.path.join(tmp, "state.json")
d = qmp.MonitorDaemon(tmp, state=state).start()
c = d.client()
qmp.file_node(c, "f0", a)
c.ok("blockdev-add", driver="raw", file="f0", **{"node-name": "vol0"})
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", name="volume", description="the disk",
     writable=True, **{"node-name": "vol0"})
h = qmp.nbd_connect(sock, "volume")
data = lib.random_bytes(65536, seed=7)
h.pwrite(data, 1 << 20)
h.flush()
h.shutdown()
d.stop(signal.SIGKILL)
d2 = qmp.MonitorDaemon(tmp, state=state).start()
c2 = d2.client()
check(c2.ok("query-block-exports") == [{"type": "nbd", "id": "e0", "node-name": "vol0",
                                         "shutting-down": False}], "exports not restored")
check({n["node-name"] for n in c2.ok("query-named-block-nodes")} == {"f0", "vol0"}, "nodes")
h = qmp.nbd_connect(sock, "volume")
check(h.pread(65536, 1 << 20) == data, "data read after restart differs")
check(h.get_size() == 4 << 20 and not h.is_read_only(), "export options lost")
h.shutdown()
