#!/usr/bin/python3
# The same scripted QMP session against qemu-storage-daemon (the reference)
# and volswapd: every step must succeed on both or fail on both with the
# same error class, successful replies must have the same shape (members
# and types, not values) and the same events must arrive. Wording may
# differ. Skips if qemu-storage-daemon is not installed.
import os, shutil, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check, shape

if not shutil.which("qemu-storage-daemon"):
    lib.skip("qemu-storage-daemon not installed")
if lib.impl() != "volswapd":
    lib.skip("this test runs both servers itself")

MiB = 1 << 20


def session(impl):
    """Runs the script on one server; returns [(step, outcome)]."""
    os.environ["VOLSWAP_TEST_IMPL"] = impl
    tmp = lib.tmpdir()
    img = lib.sparse_file(tmp, "a.img", MiB)
    d = qmp.MonitorDaemon(tmp, form="chardev").start()
    c = d.client(negotiate=False)
    out = []
    g = dict(c.greeting["QMP"])
    g.pop("capabilities")  # qsd offers oob, volswapd nothing: both valid
    out.append(("greeting", shape(g)))

    def step(label, name, args=None, raw=None, events=()):
        if raw is not None:
            c.send_raw(raw)
            r = c.reply()
        else:
            r = c.cmd(name, args)
        got = [c.wait_event(e) for e in events]
        if "error" in r:
            res = ("error", r["error"]["class"], sorted(r) if "id" in r else None)
        else:
            res = ("return", shape(r["return"]), r.get("id"))
        out.append((label, res, [(e["event"], shape(e["data"]), sorted(e["timestamp"]))
                                 for e in got]))

    f = {"driver": "file", "node-name": "n0", "filename": img}
    step("before negotiation", "query-version")
    step("negotiate", "qmp_capabilities")
    step("negotiate again", "qmp_capabilities")
    step("unknown command", "no-such-command")
    step("query-version", "query-version")
    step("query-commands", "query-commands")
    step("id echoed", None, raw='{"execute": "query-version", "id": [1, {"a": null}]}\n')
    step("id on error", None, raw='{"execute": "nope", "id": "x"}\n')
    step("malformed JSON", None, raw="garbage\n")
    step("not an object", None, raw="[1, 2]\n")
    step("no execute", None, raw='{"arguments": {}}\n')
    step("blockdev-add file", "blockdev-add", f)
    step("blockdev-add duplicate", "blockdev-add", f)
    step("blockdev-add missing file", "blockdev-add", dict(f, **{"node-name": "x", "filename": img + ".none"}))
    step("blockdev-add unknown key", "blockdev-add", dict(f, **{"node-name": "x", "bogus": 1}))
    step("blockdev-add wrong type", "blockdev-add", dict(f, **{"node-name": "x", "read-only": "yes"}))
    step("blockdev-add no node-name", "blockdev-add", {"driver": "file", "filename": img})
    step("blockdev-add raw", "blockdev-add", {"driver": "raw", "node-name": "r0", "file": "n0"})
    step("query-named-block-nodes", "query-named-block-nodes")
    step("block_resize", "block_resize", {"node-name": "r0", "size": 2 * MiB})
    step("block_resize unknown", "block_resize", {"node-name": "zz", "size": MiB})
    step("block_resize negative", "block_resize", {"node-name": "r0", "size": -1})
    step("export before server", "block-export-add", {"type": "nbd", "id": "e0", "node-name": "r0"})
    step("nbd-server-stop not running", "nbd-server-stop")
    sock = os.path.join(tmp, "nbd.sock")
    step("nbd-server-start", "nbd-server-start", {"addr": {"type": "unix", "data": {"path": sock}}})
    step("nbd-server-start twice", "nbd-server-start", {"addr": {"type": "unix", "data": {"path": sock + "2"}}})
    step("block-export-add", "block-export-add", {"type": "nbd", "id": "e0", "node-name": "r0", "writable": True})
    step("block-export-add same id", "block-export-add", {"type": "nbd", "id": "e0", "node-name": "n0"})
    step("block-export-add no node", "block-export-add", {"type": "nbd", "id": "e9", "node-name": "zz"})
    step("query-block-exports", "query-block-exports")
    step("blockdev-del exported", "blockdev-del", {"node-name": "r0"})
    step("blockdev-del child", "blockdev-del", {"node-name": "n0"})
    step("blockdev-del unknown", "blockdev-del", {"node-name": "zz"})
    h = qmp.nbd_connect(sock, "r0")
    step("block-export-del in use", "block-export-del", {"id": "e0"})
    step("block-export-del unknown", "block-export-del", {"id": "zz"})
    step("block-export-del bad mode", "block-export-del", {"id": "e0", "mode": "gentle"})
    step("block-export-del hard", "block-export-del", {"id": "e0", "mode": "hard"},
         events=["BLOCK_EXPORT_DELETED"])
    del h  # already disconnected by the hard delete
    step("block-export-add again", "block-export-add", {"type": "nbd", "id": "e1", "node-name": "r0"})
    step("nbd-server-stop", "nbd-server-stop", events=["BLOCK_EXPORT_DELETED"])
    step("query-block-exports empty", "query-block-exports")
    step("blockdev-del raw", "blockdev-del", {"node-name": "r0"})
    step("blockdev-del file", "blockdev-del", {"node-name": "n0"})
    step("query-block-jobs", "query-block-jobs")
    step("query-jobs", "query-jobs")
    step("block-job-cancel no job", "block-job-cancel", {"device": "nojob"})
    step("block-job-complete no job", "block-job-complete", {"device": "nojob"})
    step("job-cancel no job", "job-cancel", {"id": "nojob"})
    step("job-dismiss no job", "job-dismiss", {"id": "nojob"})
    step("quit", "quit")
    out.append(("closed after quit", c.closed()))
    out.append(("exit status", d.wait_exit()))
    return out


ref = session("qsd")
ours = session("volswapd")
os.environ["VOLSWAP_TEST_IMPL"] = "volswapd"
check(len(ref) == len(ours), "different number of steps")
bad = []
for r, o in zip(ref, ours):
    if r != o:
        bad.append("%s:\n    qemu-storage-daemon: %r\n    volswapd:            %r" % (r[0], r[1:], o[1:]))
check(not bad, "%d of %d steps differ:\n  %s" % (len(bad), len(ref), "\n  ".join(bad)))
print("%d steps agree" % len(ref))
