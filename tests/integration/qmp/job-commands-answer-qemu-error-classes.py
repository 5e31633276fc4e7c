#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
# With no job, the block-job-* verbs answer DeviceNotActive and the job-*
# verbs GenericError, as qemu-storage-daemon; the queries answer [].
tmp = lib.tmpdir()
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
check(c.ok("query-block-jobs") == [] and c.ok("query-jobs") == [], "jobs listed")
for verb in ["block-job-cancel", "block-job-pause", "block-job-resume", "block-job-complete"]:
    desc = c.err(verb, "DeviceNotActive", device="nojob")
    check("nojob" in desc, "%s desc %r" % (verb, desc))
c.err("block-job-set-speed", "DeviceNotActive", device="nojob", speed=1)
for verb in ["job-cancel", "job-pause", "job-resume", "job-complete", "job-finalize", "job-dismiss"]:
    c.err(verb, "GenericError", id="nojob")
c.err("block-job-cancel", "GenericError", device=5)
desc = c.err("blockdev-mirror", "GenericError", device="nonode", target="t", sync="full")
check("nonode" in desc, "blockdev-mirror desc %r" % desc)
