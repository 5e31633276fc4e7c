#!/usr/bin/python3
"""drive-mirror with the default mode (absolute-paths) creates the target
file at the source's size, copies only the source's data (the new file
stays sparse), and block-job-complete switches to it."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import job_events, check, lib, qmp

tmp = lib.tmpdir()
size = 64 << 20
src = lib.sparse_file(tmp, "src.img", size)
lib.write_at(src, 8 << 20, lib.random_bytes(1 << 20, 5))
d = qmp.MonitorDaemon(tmp).start()
c = d.client()
qmp.file_node(c, "src", src)
new = os.path.join(tmp, "new.img")
c.ok("drive-mirror", **{"job-id": "j0", "device": "src", "target": new, "format": "raw",
                        "sync": "full"})
job_events(c, "BLOCK_JOB_READY")
c.ok("block-job-complete", device="j0")
seen, _ = job_events(c, "null")
check("BLOCK_JOB_COMPLETED" in seen, "events %r" % seen)
st = os.stat(new)
check(st.st_size == size, "target size %d" % st.st_size)
check(st.st_blocks * 512 <= 8 << 20, "target not sparse: %d bytes allocated" % (st.st_blocks * 512))
check(lib.same_file(src, new), "target differs")
