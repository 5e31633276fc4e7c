#!/usr/bin/python3
# blockdev-add driver=nbd: without open-timeout a missing server fails at
# once, with QEMU's message; reconnect-delay and open-timeout are uint32_t
# (both checked against either daemon). With open-timeout the first connect
# is retried until the server is there (it starts only after the command
# was sent; volswapd only: the check needs a second monitor client).
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
tmp = lib.tmpdir()
a = lib.sparse_file(tmp, "a.img", 1 << 20)
far = qmp.MonitorDaemon(tmp)
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
fsock = os.path.join(tmp, "far-nbd.sock")
server = {"type": "unix", "path": fsock}
desc = c.err("blockdev-add", "GenericError", driver="nbd", server=server,
             **{"node-name": "x"})
check(desc == "Failed to connect to '%s': No such file or directory" % fsock,
      "no server, no open-timeout: %r" % desc)
for arg in ("reconnect-delay", "open-timeout"):
    desc = c.err("blockdev-add", "GenericError", driver="nbd", server=server,
                 **{"node-name": "x", arg: -1})
    check(desc == "Parameter '%s' expects uint32_t" % arg, "%s -1: %r" % (arg, desc))
if lib.impl() != "volswapd":
    sys.exit(0)
w = d.client()
w.send("blockdev-add", {"driver": "nbd", "node-name": "far", "server": server,
                        "open-timeout": 60}, req_id=1)
check(w.no_message(0.3), "blockdev-add answered before the server existed")
far.start()
fc = far.client()
qmp.file_node(fc, "vol", a)
fc.ok("nbd-server-start", addr={"type": "unix", "data": {"path": fsock}})
fc.ok("block-export-add", type="nbd", id="x0", writable=True, **{"node-name": "vol"})
r = w.reply()
check(r.get("id") == 1 and "return" in r, "blockdev-add with open-timeout: %r" % r)
names = [n["node-name"] for n in c.ok("query-named-block-nodes")]
check(names == ["far"], "nodes: %r" % names)
