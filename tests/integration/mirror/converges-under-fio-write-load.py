#!/usr/bin/python3
"""The mirror converges while fio writes 4 KiB blocks at full speed through
NBD (qd16, background copy mode): READY and the pivot both happen while
fio is still writing — the load is stopped only afterwards — and fio, which
verifies what it wrote (crc32c, also across the pivot), reports no error.
QEMU's background mode is the reason this is a volswapd-only scenario."""
import json, os, select, signal, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import setup, job_events, check, lib, qmp, wait_written

qmp.volswapd_only("QEMU's background mode is not expected to converge under full load")
mode = os.environ.get("VS_MIRROR_MODE", "background")   # see the write-blocking twin
tmp, d, c, src, tgt = setup(64 << 20)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
out = os.path.join(tmp, "fio.json")
fio = subprocess.Popen(
    ["fio", "--name=load", "--ioengine=nbd", "--uri=" + qmp.nbd_uri(sock, "src"),
     "--rw=randwrite", "--bs=4k", "--iodepth=16", "--size=64M", "--time_based",
     "--runtime=60", "--verify=crc32c", "--verify_backlog=2048", "--verify_state_save=0",
     "--output-format=json", "--output=" + out],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    # fio creates its output file when it starts: wait for that (ordering
    # only), so the mirror starts under load.
    wait_written(src, fio)      # fio is writing to the source
    check(fio.poll() is None, "fio exited early")
    c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt",
                               "sync": "full", "copy-mode": mode})
    job_events(c, "BLOCK_JOB_READY")
    check(fio.poll() is None, "fio finished before READY: the load was not sustained")
    c.ok("block-job-complete", device="j0")
    seen, _ = job_events(c, "null")
    check("BLOCK_JOB_COMPLETED" in seen, "events %r" % seen)
    check(fio.poll() is None, "fio finished before the pivot")
    (e,) = c.ok("query-block-exports")
    check(e["node-name"] == "tgt", "export on %r" % e["node-name"])
    wait_written(tgt, fio)      # ... and goes on, to the target
finally:
    if fio.poll() is None:
        fio.send_signal(signal.SIGINT)
    fio.wait(timeout=120)
with open(out) as f:
    text = f.read()
j = json.loads(text[text.index("{"):])
job = j["jobs"][0]
check(job["error"] == 0, "fio error %r" % job["error"])
check(job["write"]["io_bytes"] > 0, "fio wrote nothing")
