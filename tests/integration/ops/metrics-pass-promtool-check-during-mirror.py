#!/usr/bin/python3
# The exposition volswapd serves while a mirror job runs (NBD traffic,
# the job's state, bytes copied and dirty, copy rate) passes
# `promtool check metrics`, Prometheus's own lint of names, units and types.
import os, shutil, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ops
from ops import lib, qmp, check
qmp.volswapd_only("qemu-storage-daemon has no --metrics")
promtool = shutil.which("promtool")
if not promtool:
    lib.skip("promtool not installed (Debian package prometheus)")
tmp = lib.tmpdir()
metrics = os.path.join(tmp, "metrics.sock")
src = os.path.join(tmp, "src.img")
with open(src, "wb") as f:
    f.write(os.urandom(32 << 20))
d = qmp.MonitorDaemon(tmp, extra=["--metrics", "unix:" + metrics]).start()
c = d.client()
qmp.file_node(c, "src", src)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
h = qmp.nbd_connect(sock, "src")
h.pwrite(b"y" * 4096, 0)
# Slow enough to be running when scraped: 1 MiB/s over 32 MiB.
c.ok("drive-mirror", device="src", target=os.path.join(tmp, "dst.img"), sync="full",
     format="raw", speed=1 << 20, **{"job-id": "m0"})
text = ""
for _ in range(100):    # until the sampler has seen the job twice
    text = ops.scrape(metrics)
    if (ops.value(text, 'volswap_mirror_copy_rate_bytes_per_second{job="m0"}') or 0) > 0:
        break
    time.sleep(0.1)
check(ops.value(text, 'volswap_job_state{job="m0",type="mirror",state="running"}') == 1,
      "no running state for m0:\n" + text)
check(ops.value(text, 'volswap_mirror_copied_bytes_total{job="m0"}') is not None, "no bytes copied")
check(ops.value(text, 'volswap_mirror_dirty_bytes{job="m0"}') > 0, "nothing dirty at 1 MiB/s")
check(ops.value(text, 'volswap_mirror_copy_rate_bytes_per_second{job="m0"}') > 0, "no copy rate")
p = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
check(p.returncode == 0, "promtool check metrics:\n" + p.stdout.decode())
c.ok("block-job-cancel", device="m0", force=True)
h.shutdown()
