#!/usr/bin/python3
"""fio (its nbd engine) keeps writing with crc32c verification of what it
wrote (verify_backlog: read back and checked while it runs) through one
connection while the volume is mirrored and pivoted; fio is still running
at the pivot, is stopped afterwards, and reports no error."""
import json, os, select, signal, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import setup, job_events, check, qmp, wait_written

tmp, d, c, src, tgt = setup(32 << 20, data=False)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
out = os.path.join(tmp, "fio.json")
fio = subprocess.Popen(
    ["fio", "--name=verify", "--ioengine=nbd", "--uri=" + qmp.nbd_uri(sock, "src"),
     "--rw=randwrite", "--bs=4k", "--iodepth=8", "--size=32M", "--time_based",
     "--runtime=60", "--verify=crc32c", "--verify_backlog=256", "--verify_fatal=1", "--verify_state_save=0",
     "--output-format=json", "--output=" + out],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    wait_written(src, fio)      # fio is writing to the source
    check(fio.poll() is None, "fio exited early")
    c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt", "sync": "full"})
    job_events(c, "BLOCK_JOB_READY")
    c.ok("block-job-complete", device="j0")
    job_events(c, "null")
    check(fio.poll() is None, "fio stopped before the pivot")
    (e,) = c.ok("query-block-exports")
    check(e["node-name"] == "tgt", "export on %r" % e["node-name"])
    wait_written(tgt, fio)      # ... and goes on, to the target
finally:
    if fio.poll() is None:
        fio.send_signal(signal.SIGINT)
    fio.wait(timeout=120)
with open(out) as f:
    text = f.read()
job = json.loads(text[text.index("{"):])["jobs"][0]
check(job["error"] == 0, "fio error %r" % job["error"])
check(job["write"]["io_bytes"] > 0, "fio wrote nothing")
