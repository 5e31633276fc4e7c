#!/usr/bin/python3
"""An iothread made over QMP, with its properties, and an export bound to
it are in the state file: after SIGKILL a restart with --state has the
iothread again (query-iothreads), the export is bound to it (object-del
is refused for it), and an NBD client reads what it wrote."""
import os, signal, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.volswapd_only("--state is volswapd's")
tmp = lib.tmpdir()
a = lib.sparse_file(tmp, "a.img", 1 << 20)
state = os.path.join(tmp, "state.json")
d = qmp.MonitorDaemon(tmp, state=state).start()
c = d.client()
c.ok("object-add", **{"qom-type": "iothread", "id": "io0", "poll-max-ns": 0,
                      "aio-max-batch": 7})
qmp.file_node(c, "n0", a)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, iothread="io0",
     **{"node-name": "n0"})
data = lib.random_bytes(65536, seed=5)
h = qmp.nbd_connect(sock, "n0")
h.pwrite(data, 0)
h.flush()
h.shutdown()
d.stop(signal.SIGKILL)
d2 = qmp.MonitorDaemon(tmp, state=state).start()
c2 = d2.client()
ts = c2.ok("query-iothreads")
check([(t["id"], t["poll-max-ns"], t["aio-max-batch"]) for t in ts] == [("io0", 0, 7)],
      "iothread not restored: %r" % ts)
c2.err("object-del", "GenericError", id="io0")
h = qmp.nbd_connect(sock, "n0")
check(h.pread(65536, 0) == data, "data read after restart differs")
h.shutdown()
