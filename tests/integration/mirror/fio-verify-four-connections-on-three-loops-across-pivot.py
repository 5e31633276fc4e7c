#!/usr/bin/python3
"""Four fio jobs (the nbd engine: one connection each, so spread over the
three client loops of --loops 4), each writing its own quarter of the
volume with crc32c verification of what it wrote (verify_backlog: read
back and checked while it runs), go on while the volume is mirrored and
pivoted; they are still running at the pivot, are stopped afterwards, and
none reports an error: no acknowledged write lost or overtaken, whichever
loop carried it."""
import json, os, signal, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import job_events, check, lib, qmp, wait_written

if lib.impl() != "volswapd":
    lib.skip("--loops is volswapd's")
SIZE = 32 << 20
tmp = lib.tmpdir()
src = lib.sparse_file(tmp, "src.img", SIZE)
tgt = lib.sparse_file(tmp, "tgt.img", SIZE)
d = qmp.MonitorDaemon(tmp, extra=["--loops", "4"]).start()
c = d.client()
qmp.file_node(c, "src", src)
qmp.file_node(c, "tgt", tgt)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
out = os.path.join(tmp, "fio.json")
fio = subprocess.Popen(
    ["fio", "--name=verify", "--ioengine=nbd", "--uri=" + qmp.nbd_uri(sock, "src"),
     "--rw=randwrite", "--bs=4k", "--iodepth=8", "--numjobs=4", "--offset_increment=8M",
     "--size=8M", "--time_based", "--runtime=60", "--verify=crc32c",
     "--verify_backlog=128", "--verify_fatal=1", "--verify_state_save=0",
     "--output-format=json", "--output=" + out],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    wait_written(src, fio)
    check(fio.poll() is None, "fio exited early")
    c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt", "sync": "full"})
    job_events(c, "BLOCK_JOB_READY")
    c.ok("block-job-complete", device="j0")
    job_events(c, "null")
    check(fio.poll() is None, "fio stopped before the pivot")
    (e,) = c.ok("query-block-exports")
    check(e["node-name"] == "tgt", "export on %r" % e["node-name"])
    wait_written(tgt, fio)
finally:
    if fio.poll() is None:
        fio.send_signal(signal.SIGINT)
    fio.wait(timeout=120)
with open(out) as f:
    text = f.read()
jobs = json.loads(text[text.index("{"):])["jobs"]
check(len(jobs) == 4, "%d fio jobs reported" % len(jobs))
for j in jobs:
    check(j["error"] == 0, "fio job error %r" % j["error"])
# On a loaded machine a job may connect only after the pivot: what
# matters is that none saw an error and that they wrote.
check(sum(j["write"]["io_bytes"] for j in jobs) > 0, "fio wrote nothing")
lib.log("bytes written per job: %s" % [j["write"]["io_bytes"] for j in jobs])
