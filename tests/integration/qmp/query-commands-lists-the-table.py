#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("compares with volswapd --dump-commands")
# query-commands names every command; each one named is known (it does not
# answer CommandNotFound) and the list matches the generated reference.
import subprocess
tmp = lib.tmpdir()
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
names = [x["name"] for x in c.ok("query-commands")]
check(all(set(x) == {"name"} for x in c.ok("query-commands")), "entries are not {name}")
want = {"qmp_capabilities", "query-version", "query-commands", "quit", "blockdev-add",
        "blockdev-del", "query-named-block-nodes", "block_resize", "nbd-server-start",
        "nbd-server-stop", "block-export-add", "block-export-del", "query-block-exports",
        "block-job-cancel", "job-cancel", "query-block-jobs", "query-jobs"}
check(want <= set(names), "missing: %r" % (want - set(names)))
check(len(names) == len(set(names)), "duplicates in %r" % names)
ref = subprocess.run([lib.daemon_bin(), "--dump-commands"], capture_output=True, text=True,
                     check=True).stdout
for n in names:
    check("\n## %s\n" % n in ref, "%s missing from --dump-commands" % n)
