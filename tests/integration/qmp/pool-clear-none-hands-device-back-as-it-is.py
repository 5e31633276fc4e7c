#!/usr/bin/python3
# --pool-clear none (Cinder's volume_clear = none, for thin or
# self-encrypting devices that read zeroes when handed out again anyway):
# x-volswap-pool-delete of a pool device hands it back at once, "ready",
# with its data as it was; x-volswap-pool-wipe still zeroes it on demand.
# A --pool-clear other than zero or none stops the daemon at start.
import os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.volswapd_only("pool devices are volswapd's")
tmp = lib.tmpdir()
M = 1 << 20
dev = qmp.loop_device(tmp, "disk0.img", 16 * M)
with open(dev, "r+b") as f:
    f.write(b"\x77" * (16 * M))
d = qmp.MonitorDaemon(tmp, state=os.path.join(tmp, "state.json"),
                      extra=("--pool-device", dev, "--pool-clear", "none")).start()
c = d.client()
check(c.ok("x-volswap-pool-delete", filename=dev) == {"deleted": False}, "delete wiped")
check(qmp.pool_device_state(c, dev)["state"] == "ready", "not handed back at once")
with open(dev, "rb") as f:
    check(f.read() == b"\x77" * (16 * M), "--pool-clear none changed the device")

check(c.ok("x-volswap-pool-wipe", filename=dev) == {"deleted": False, "wiping": True}, "wipe")
qmp.wait_device_ready(c, dev)
with open(dev, "rb") as f:
    check(f.read() == bytes(16 * M), "x-volswap-pool-wipe left data")
desc = c.err("x-volswap-pool-wipe", "GenericError", filename=os.path.join(tmp, "x"))
check("not in a pool directory" in desc, desc)
d.stop()

p = subprocess.run([lib.daemon_bin(), "--pool-device", dev, "--pool-clear", "discard",
                    "--monitor", os.path.join(tmp, "m2")], capture_output=True, text=True,
                   timeout=30)
check(p.returncode == 1 and "--pool-clear" in p.stderr, "%d %s" % (p.returncode, p.stderr))
print("ok")
