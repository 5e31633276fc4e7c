#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# After negotiation, qmp_capabilities is CommandNotFound; a capability the
# server did not offer is refused; the session goes on.
tmp = lib.tmpdir()
d = qmp.MonitorDaemon(tmp).start()
c = d.client(negotiate=False)
if lib.impl() == "volswapd":
    # qsd offers oob; volswapd offers nothing, so asking for it fails.
    c.err("qmp_capabilities", "GenericError", enable=["oob"])
c.ok("qmp_capabilities", enable=[])
desc = c.err("qmp_capabilities", "CommandNotFound")
check("already complete" in desc, "desc %r" % desc)
c.ok("query-version")
