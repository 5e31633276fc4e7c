#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# A node the state file names but whose file was deleted while the daemon
# was down (a mirror target the control plane removed after the daemon died
# mid-copy), and that no export or other node uses, is left out of the
# restore with a warning: the daemon starts and serves every other export,
# and the next save no longer names it.
import json, signal
tmp = lib.tmpdir()
if lib.impl() != "volswapd":
    lib.skip("--state is volswapd's")
a = lib.sparse_file(tmp, "a.img", 4 << 20)
b = lib.sparse_file(tmp, "b.img", 4 << 20)
state = os.path.join(tmp, "state.json")
d = qmp.MonitorDaemon(tmp, state=state).start()
c = d.client()
qmp.file_node(c, "vol-a", a)
qmp.file_node(c, "vol-b", b)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", name="volume", writable=True,
     **{"node-name": "vol-a"})
h = qmp.nbd_connect(sock, "volume")
data = lib.random_bytes(65536, seed=3)
h.pwrite(data, 1 << 20)
h.flush()
h.shutdown()
d.stop(signal.SIGKILL)
os.unlink(b)
d2 = qmp.MonitorDaemon(tmp, state=state).start()
c2 = d2.client()
check({n["node-name"] for n in c2.ok("query-named-block-nodes")} == {"vol-a"},
      "the node of the deleted file was restored")
check([e["id"] for e in c2.ok("query-block-exports")] == ["e0"], "export not restored")
h = qmp.nbd_connect(sock, "volume")
check(h.pread(65536, 1 << 20) == data, "data read after restart differs")
h.shutdown()
check("'vol-b' is not restored" in d2.log_text(), "no warning about vol-b: " + d2.log_text()[-400:])
qmp.file_node(c2, "vol-c", lib.sparse_file(tmp, "c.img", 1 << 20))   # a change saves the state
with open(state) as f:
    names = [x["arguments"].get("node-name") for x in json.load(f)["commands"]]
check("vol-b" not in names and "vol-a" in names, "state after restart names %r" % names)
