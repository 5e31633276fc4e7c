#!/usr/bin/python3
# nbd-server-add and nbd-server-remove, QEMU's older export commands, in
# one scripted session against qemu-storage-daemon (the reference) and
# volswapd: the same replies, the same error descriptions word for word,
# the same BLOCK_EXPORT_DELETED events and the same exports left. Covered:
# a missing device, no NBD server yet, the export id defaulting to the
# device, a duplicate, a name and description, a read-only node exported
# read-only when writable is asked (block-export-add refuses that), a
# bitmap, an unknown argument, remove of a missing export, hard and safe
# removes, and a bad mode. An NBD client then sees the read-only export as
# read-only. Skips if qemu-storage-daemon is not installed.
import os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.both_servers()


def session(impl):
    tmp, d, c = qmp.session_on(impl)
    img = lib.sparse_file(tmp, "a.img", 1 << 20)
    out = []

    def step(cmd_, **args):
        r = c.cmd(cmd_, args)
        ev = [(e["event"], e["data"]) for e in c.events]
        c.events.clear()
        if "error" in r:
            out.append((cmd_, args, "error", r["error"]["class"],
                        r["error"]["desc"].replace(tmp, "TMP")))
        else:
            out.append((cmd_, args, "return", r["return"], ev))

    qmp.file_node(c, "n0", img)
    qmp.file_node(c, "ro", img, **{"read-only": True})
    step("nbd-server-add", device="n0")
    sock = qmp.start_nbd(c, tmp)
    step("nbd-server-add", device="nope")
    step("nbd-server-add", device="n0")
    step("nbd-server-add", device="n0")
    step("nbd-server-add", device="n0", name="other", writable=True, description="hello")
    step("nbd-server-add", device="ro", writable=True)
    step("block-export-add", type="nbd", id="ro2", writable=True, **{"node-name": "ro"})
    step("nbd-server-add", device="n0", name="bm", bitmap="b0")
    step("nbd-server-add", device="n0", name="ex", colour=1)
    step("nbd-server-add", name="nodevice")
    exports = sorted((e["id"], e["node-name"]) for e in c.ok("query-block-exports"))
    info = subprocess.run(["nbdinfo", "--json", qmp.nbd_uri(sock, "ro")], capture_output=True,
                          text=True)
    ro = info.returncode == 0 and __import__("json").loads(info.stdout)["exports"][0]["is_read_only"]
    step("nbd-server-remove", name="nope")
    step("nbd-server-remove", name="other", mode="hard")
    step("nbd-server-remove", name="n0")
    step("nbd-server-remove", name="ro", mode="bogus")
    left = sorted((e["id"], e["node-name"]) for e in c.ok("query-block-exports"))
    return out, exports, ro, left


ref = session("qsd")
ours = session("volswapd")
qmp.same_steps(ref[0], ours[0])
check(ref[1] == ours[1] == [("n0", "n0"), ("other", "n0"), ("ro", "ro")],
      "exports: qsd %r, volswapd %r" % (ref[1], ours[1]))
check(ref[2] is True and ours[2] is True, "the ro export is read-only: qsd %r, volswapd %r"
      % (ref[2], ours[2]))
check(ref[3] == ours[3] == [("ro", "ro")], "left: qsd %r, volswapd %r" % (ref[3], ours[3]))
