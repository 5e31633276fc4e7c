#!/usr/bin/python3
"""fio (its nbd engine) writes with crc32c verification to an exported
volume while it is mirrored and pivoted: fio sees no error, and every block
it reads back — through the same connection, before or after the switch —
verifies."""
import json, os, select, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import setup, job_events, check, qmp

tmp, d, c, src, tgt = setup(64 << 20, data=False)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
out = os.path.join(tmp, "fio.json")
fio = subprocess.Popen(
    ["fio", "--name=verify", "--ioengine=nbd", "--uri=" + qmp.nbd_uri(sock, "src"),
     "--rw=randwrite", "--bs=4k", "--iodepth=16", "--size=32M", "--loops=6",
     "--verify=crc32c", "--verify_fatal=1", "--output-format=json", "--output=" + out],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while not os.path.exists(out) and fio.poll() is None:   # ordering only
    select.select([], [], [], 0.05)
c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt", "sync": "full"})
job_events(c, "BLOCK_JOB_READY")
c.ok("block-job-complete", device="j0")
job_events(c, "null")
check(fio.wait(timeout=300) == 0, "fio failed")
with open(out) as f:
    text = f.read()
job = json.loads(text[text.index("{"):])["jobs"][0]
check(job["error"] == 0, "fio error %r" % job["error"])
(e,) = c.ok("query-block-exports")
check(e["node-name"] == "tgt", "export on %r" % e["node-name"])
