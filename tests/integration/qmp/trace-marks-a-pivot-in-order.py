#!/usr/bin/python3
# x-volswap-query-trace tells where a guest waits during a mirror: its marks
# come oldest first with wall and monotonic times, and a pivot's steps are
# in order — quiesce, drained, synced, replace, release of the target, the
# guest's first write there, the target flushed, the state saved — with the
# guests held only from the quiesce to the release. clear forgets them.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("x-volswap-query-trace is volswapd's")
MiB = 1 << 20
tmp = lib.tmpdir()
src = lib.sparse_file(tmp, "src.img", 4 * MiB)
tgt = lib.sparse_file(tmp, "tgt.img", 4 * MiB)
d = qmp.MonitorDaemon(tmp, state=os.path.join(tmp, "state.json")).start()
c = d.client()
qmp.file_node(c, "src", src)
qmp.file_node(c, "tgt", tgt)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", name="vol", writable=True, **{"node-name": "src"})
c.ok("x-volswap-query-trace", clear=True)
c.ok("blockdev-mirror", device="src", target="tgt", sync="full", **{"job-id": "j"})
c.wait_event("BLOCK_JOB_READY")
guest = qmp.nbd_connect(sock, "vol")
c.ok("block-job-complete", device="j")
c.wait_event("BLOCK_JOB_COMPLETED")
guest.pwrite(b"W" * 4096, MiB)
guest.shutdown()
marks = c.ok("x-volswap-query-trace", clear=True)
names = [m["event"] if m["event"] not in ("qmp-command", "qmp-reply", "job-status")
         else "%s %s" % (m["event"], m.get("subject", "")) for m in marks]
want = ["qmp-command blockdev-mirror", "job-status j ready", "qmp-command block-job-complete",
        "mirror-quiesce", "mirror-drained", "mirror-synced", "mirror-replace",
        "mirror-release-target", "mirror-target-flushed", "mirror-state-save",
        "mirror-state-saved", "job-status j concluded", "first-guest-write"]
pos = 0
for w in want:
    check(w in names[pos:], "mark %r missing or out of order in %r" % (w, names))
    pos = names.index(w, pos) + 1
for a, b in zip(marks, marks[1:]):
    check(a["clock-ns"] <= b["clock-ns"], "marks out of time order: %r %r" % (a, b))
    check(set(b) >= {"timestamp", "max-write-ns", "max-read-ns"}, "a mark lacks fields: %r" % b)
fw = [m for m in marks if m["event"] == "first-guest-write"][0]
check(fw.get("subject") == "tgt", "the first write is traced on %r" % fw)
after = c.ok("x-volswap-query-trace")       # its own reply, and this command
check([m.get("subject") for m in after] == ["x-volswap-query-trace"] * 2,
      "clear kept marks: %r" % after)
d.stop()
print("ok")
