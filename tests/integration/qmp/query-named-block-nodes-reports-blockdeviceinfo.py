#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# The members QEMU reports for a raw file node, with the right types and
# the values volswapd knows: size, file name, read-only, cache.direct.
tmp = lib.tmpdir()
a = lib.sparse_file(tmp, "a.img", 3 << 20)
lib.write_at(a, 0, b"x" * 65536)
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
qmp.file_node(c, "n0", a, **{"read-only": True})
(n,) = c.ok("query-named-block-nodes", flat=True)
for k, t in [("node-name", str), ("drv", str), ("file", str), ("ro", bool), ("encrypted", bool),
             ("detect_zeroes", str), ("backing_file_depth", int), ("bps", int), ("bps_rd", int),
             ("bps_wr", int), ("iops", int), ("iops_rd", int), ("iops_wr", int),
             ("write_threshold", int), ("image", dict), ("cache", dict)]:
    check(isinstance(n.get(k), t), "%s: %r" % (k, n.get(k)))
check(n["node-name"] == "n0" and n["drv"] == "file" and n["file"] == a and n["ro"], "%r" % n)
img = n["image"]
check(img["filename"] == a and img["format"] == "file" and img["virtual-size"] == 3 << 20, "%r" % img)
check(img["actual-size"] >= 65536, "actual-size %r" % img)
check(n["cache"] == {"writeback": True, "direct": False, "no-flush": False}, "cache %r" % n["cache"])
