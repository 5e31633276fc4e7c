#!/usr/bin/python3
# The state file is written on the worker pool: a save that cannot go on
# (its temporary file is a FIFO nobody reads, standing for an fsync stuck
# behind a congested disk) delays only the reply to the command that made
# the change — the change is on disk before its client hears of it — while
# another monitor client is answered and an NBD client reads and writes.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("qemu-storage-daemon has no state file")
tmp = lib.tmpdir()
state = os.path.join(tmp, "state.json")
d, c, sock, a = qmp.exported_volume(tmp, state=state)
stalled = qmp.StalledSaves(state)
w = d.client()
w.send("blockdev-add", {"driver": "memory", "node-name": "m1", "size": 1 << 20}, req_id=1)
check(w.no_message(0.5), "replied before the state with the change was written")
check(len(c.ok("query-named-block-nodes")) == 2, "other client not answered")
qmp.nbd_still_serves(sock, "n0", "NBD I/O blocked by a stalled state save")
check(w.no_message(0.2), "replied before the state with the change was written")
# Drain the FIFO: the save goes on (and fails at fsync, a FIFO cannot be
# synced); the change stands and the reply comes.
written = stalled.release(b'"m1"', "the stalled save")
check(b'"m1"' in written, "the stalled save did not hold the change: %r" % written[:200])
r = w.reply()
check(r.get("id") == 1 and "return" in r, "blockdev-add after the save: %r" % r)
check("state not saved" in d.log_text(), "a failed save was not reported")
stalled.remove()
# The next change is saved normally and carries both.
c.ok("blockdev-add", driver="memory", **{"node-name": "m2", "size": 1 << 20})
with open(state) as f:
    text = f.read()
check('"m1"' in text and '"m2"' in text, "state after the next change: %r" % text[:300])
