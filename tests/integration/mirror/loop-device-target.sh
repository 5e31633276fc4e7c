#!/usr/bin/env bash
# A host block device (a loop device) as the mirror's target, added with
# blockdev-add driver host_device: the copy, the pivot, and the data on the
# device equals the source's.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
vs_require losetup
[ "$(id -u)" = 0 ] || vs_skip "losetup needs root"
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 - "$here" <<'PY'
import os, subprocess, sys
sys.path.insert(0, sys.argv[1])
from mirror_helpers import job_events, check, lib, qmp
tmp = lib.tmpdir()
size = 16 << 20
src = lib.sparse_file(tmp, "src.img", size)
lib.write_at(src, 1 << 20, lib.random_bytes(4 << 20, 3))
back = lib.sparse_file(tmp, "backing.img", size)
r = subprocess.run(["losetup", "-f", "--show", back], capture_output=True, text=True)
if r.returncode:
    lib.skip("losetup cannot attach a loop device here")
dev = r.stdout.strip()
try:
    d = qmp.MonitorDaemon(tmp).start()
    c = d.client()
    qmp.file_node(c, "src", src)
    c.ok("blockdev-add", driver="host_device", filename=dev, **{"node-name": "tgt"})
    c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt", "sync": "full"})
    job_events(c, "BLOCK_JOB_READY")
    c.ok("block-job-complete", device="j0")
    seen, _ = job_events(c, "null")
    check("BLOCK_JOB_COMPLETED" in seen, "events %r" % seen)
    d.stop()
    check(lib.same_file(src, dev), "device differs from the source")
finally:
    subprocess.run(["losetup", "-d", dev])
PY
