#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only(qmp.MULTI)
# Before qmp_capabilities every other command, known or not, is refused with
# CommandNotFound, and no event is delivered to the unnegotiated client.
tmp = lib.tmpdir()
d = qmp.MonitorDaemon(tmp).start()
c = d.client(negotiate=False)
desc = c.err("query-version", "CommandNotFound")
check("qmp_capabilities" in desc, "desc should name qmp_capabilities: %r" % desc)
c.err("no-such-command", "CommandNotFound")
other = d.client()
other.ok("blockdev-add", driver="file", **{"node-name": "n0", "filename": lib.sparse_file(tmp, "a.img", 1 << 20)})
qmp.start_nbd(other, tmp)
other.ok("block-export-add", type="nbd", id="e0", **{"node-name": "n0"})
other.ok("block-export-del", id="e0")
other.wait_event("BLOCK_EXPORT_DELETED")
check(c.no_message(), "an unnegotiated client received an event")
c.ok("qmp_capabilities")
c.ok("query-version")
