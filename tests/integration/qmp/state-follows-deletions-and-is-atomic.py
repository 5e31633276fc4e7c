#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# The state file is rewritten after each change (never left as a .tmp),
# is always a complete document, and follows deletions: a restart after
# block-export-del and blockdev-del serves neither.
import json
tmp = lib.tmpdir()
if lib.impl() != "volswapd":
    lib.skip("--state is volswapd's")
a = lib.sparse_file(tmp, "a.img", 1 << 20)
state = os.path.join(tmp, "state.json")
d = qmp.MonitorDaemon(tmp, state=state).start()
c = d.client()

def saved():
    check(not os.path.exists(state + ".tmp"), "temporary state file left behind")
    with open(state) as f:
        doc = json.load(f)
    check(doc["volswap-state"] == 1, "version %r" % doc)
    return [(x["execute"], x["arguments"].get("node-name") or x["arguments"].get("id"))
            for x in doc["commands"]]

check(saved() == [], "initial state %r" % saved())
qmp.file_node(c, "n0", a)
check(saved() == [("blockdev-add", "n0")], "after blockdev-add: %r" % saved())
qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", **{"node-name": "n0"})
check([x[0] for x in saved()] == ["blockdev-add", "nbd-server-start", "block-export-add"], "%r" % saved())
c.ok("block-export-del", id="e0")
c.ok("blockdev-del", **{"node-name": "n0"})
check([x[0] for x in saved()] == ["nbd-server-start"], "after deletions: %r" % saved())
c.err("blockdev-del", "GenericError", **{"node-name": "n0"})   # failures change nothing
d.stop()
d2 = qmp.MonitorDaemon(tmp, state=state).start()
c2 = d2.client()
check(c2.ok("query-named-block-nodes") == [] and c2.ok("query-block-exports") == [], "restored deleted objects")
c2.err("nbd-server-start", "GenericError", addr={"type": "unix", "data": {"path": os.path.join(tmp, "x.sock")}})
