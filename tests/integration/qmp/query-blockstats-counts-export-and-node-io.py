#!/usr/bin/python3
# query-blockstats counts I/O: after qemu-io writes 64 KiB, reads 4 KiB,
# flushes and discards 4 KiB through an export of a raw node over a file
# node, the export's entry (device = export id) and, with query-nodes, the
# raw node and its file child (as "parent") show those operations, bytes
# and wr_highest_offset; the file node carries driver-specific discard
# figures. Every stats member qemu-storage-daemon prints is there (its own
# counters stay at zero: it accounts only named BlockBackends).
import json, os, shutil, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check


def stats_keys_of_qsd(tmp):
    os.environ["VOLSWAP_TEST_IMPL"] = "qsd"
    try:
        d = qmp.MonitorDaemon(tmp, form="chardev").start()
        c = d.client()
        qmp.file_node(c, "q0", lib.sparse_file(tmp, "q.img", 1 << 20))
        keys = set(c.ok("query-blockstats", **{"query-nodes": True})[0]["stats"])
        d.stop()
        return keys
    finally:
        os.environ["VOLSWAP_TEST_IMPL"] = "volswapd"


qmp.volswapd_only("counts I/O through an export, which qemu-storage-daemon does not account")
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "a.img", 1 << 20)
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
qmp.file_node(c, "f0", img)
c.ok("blockdev-add", driver="raw", file="f0", **{"node-name": "r0"})
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "r0"})
check(c.ok("query-blockstats")[0]["stats"]["wr_operations"] == 0, "no writes yet")
r = subprocess.run(["qemu-io", "-f", "raw", qmp.nbd_uri(sock, "r0"), "-c", "write 0 64k",
                    "-c", "read 0 4k", "-c", "flush", "-c", "discard 0 4k"],
                   capture_output=True, text=True)
check(r.returncode == 0, "qemu-io: %s" % r.stderr)
e = c.ok("query-blockstats")
check(len(e) == 1 and e[0]["device"] == "e0" and e[0]["node-name"] == "r0", "%r" % e)
st = e[0]["stats"]
check(st["wr_operations"] == 1 and st["wr_bytes"] == 65536, "export writes %r" % st)
check(st["rd_operations"] == 1 and st["rd_bytes"] == 4096, "export reads %r" % st)
check(st["flush_operations"] >= 1, "export flushes %r" % st)
check(st["unmap_operations"] == 1 and st["unmap_bytes"] == 4096, "export unmaps %r" % st)
check(st["wr_highest_offset"] == 65536 and st["wr_total_time_ns"] > 0, "%r" % st)
check(st["failed_wr_operations"] == 0 and st["idle_time_ns"] >= 0, "%r" % st)
n = {x["node-name"]: x for x in c.ok("query-blockstats", **{"query-nodes": True})}
check(set(n) == {"f0", "r0"}, "%r" % sorted(n))
check(n["r0"]["stats"]["wr_bytes"] == 65536 and n["r0"]["parent"]["node-name"] == "f0",
      "raw node %r" % n["r0"])
f0 = n["f0"]["stats"]
check(f0["wr_bytes"] == 65536 and f0["rd_bytes"] == 4096, "file node %r" % f0)
check(n["f0"]["driver-specific"] == {"driver": "file", "discard-nb-ok": 1,
                                     "discard-nb-failed": 0, "discard-bytes-ok": 4096},
      "driver-specific %r" % n["f0"].get("driver-specific"))
if shutil.which("qemu-storage-daemon"):
    missing = stats_keys_of_qsd(tmp) - set(f0)
    check(not missing, "members qemu-storage-daemon has and volswapd lacks: %r" % sorted(missing))
