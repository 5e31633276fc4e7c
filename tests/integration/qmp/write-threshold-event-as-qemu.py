#!/usr/bin/python3
# block-set-write-threshold and BLOCK_WRITE_THRESHOLD in one scripted session
# against qemu-storage-daemon (the reference) and volswapd, through an
# export of a raw node over a file node, each with its own threshold: a
# write ending exactly at the threshold sends nothing; one ending past it
# sends the event once (amount-exceeded = end - threshold) and disarms it
# (query-named-block-nodes shows 0); a discard past a threshold sends
# nothing; a write-zeroes past both sends two events, the raw node's first;
# a read sends nothing; an unknown node is QEMU's error. The replies,
# events (minus timestamps) and thresholds must be the same on both.
import os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.both_servers()
M = 1 << 20


def session(impl):
    tmp, d, c = qmp.session_on(impl)
    qmp.file_node(c, "n0", lib.sparse_file(tmp, "a.img", 16 * M))
    c.ok("blockdev-add", driver="raw", file="n0", **{"node-name": "r0"})
    sock = qmp.start_nbd(c, tmp)
    c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "r0"})
    out = []

    def thr(node, t):
        r = c.cmd("block-set-write-threshold", {"node-name": node, "write-threshold": t})
        out.append(("set", node, t, r.get("error", {}).get("desc", "ok")))

    def io(cmd):
        r = subprocess.run(["qemu-io", "-f", "raw", qmp.nbd_uri(sock, "r0"), "-c", cmd],
                           capture_output=True, text=True)
        check(r.returncode == 0, "qemu-io %s: %s" % (cmd, r.stderr))
        c.ok("query-version")     # a round trip: events sent before it are in
        out.append((cmd, [(e["event"], e["data"]) for e in c.events]))
        c.events.clear()
        out.append(("thresholds", sorted((n["node-name"], n["write_threshold"])
                                         for n in c.ok("query-named-block-nodes"))))

    thr("nope", 100)
    thr("r0", M)
    thr("n0", 2 * M)
    io("write 0 1M")
    io("write 1M 4k")
    io("write 1M 4k")
    thr("r0", 4 * M)
    io("discard 4M 64k")
    thr("r0", 8 * M)
    io("write -z 8M 64k")
    thr("r0", 12 * M)
    io("read 12M 64k")
    d.stop()
    return out


ref = session("qsd")
ours = session("volswapd")
qmp.same_steps(ref, ours)
check(("write 1M 4k", [("BLOCK_WRITE_THRESHOLD", {"node-name": "r0", "write-threshold": M,
                                                   "amount-exceeded": 4096})]) in ours,
      "the event: %r" % ours)
