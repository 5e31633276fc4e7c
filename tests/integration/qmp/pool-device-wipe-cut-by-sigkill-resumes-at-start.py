#!/usr/bin/python3
# A wipe that has not ended when the daemon dies is resumed at the next
# start, and the device is never claimable meanwhile. The device is made
# read-only so its wipe cannot end (it stays "wipe-failed"); then:
# blockdev-add and x-volswap-pool-grow refuse it; the daemon is killed
# (SIGKILL: no shutdown, only the state file); restarted, the first client
# finds the device still unclaimable (the wipe was replayed from the state
# file before the monitor listened); killed again, the device writable
# once more and the old tenant's data still on it, restarted: the wipe
# runs, the device reads zeroes only, and the state file forgets it.
import json, os, signal, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.volswapd_only("pool devices are volswapd's")
tmp = lib.tmpdir()
M = 1 << 20
dev = qmp.loop_device(tmp, "disk0.img", 32 * M)
state = os.path.join(tmp, "state.json")
pattern = b"\x5a" * (32 * M)
with open(dev, "r+b") as f:
    f.write(pattern)

def start():
    d = qmp.MonitorDaemon(tmp, state=state, extra=("--pool-device", dev)).start()
    return d, d.client()

def unclaimable(c):
    st = qmp.pool_device_state(c, dev)
    check(st["state"] in ("wiping", "wipe-failed"), "device claimable: %s" % st)
    desc = c.err("blockdev-add", "GenericError", driver="host_device", filename=dev,
                 **{"node-name": "claim"})
    check("being wiped" in desc, desc)
    desc = c.err("x-volswap-pool-grow", "GenericError", filename=dev, size=M)
    check("being wiped" in desc, desc)

def wipes_in_state():
    with open(state) as f:
        return [x["arguments"]["filename"] for x in json.load(f)["commands"]
                if x["execute"] == "x-volswap-pool-wipe"]

subprocess.run(["blockdev", "--setro", dev], check=True)
d, c = start()
check(c.ok("x-volswap-pool-delete", filename=dev) == {"deleted": False, "wiping": True},
      "delete did not start a wipe")
check(wipes_in_state() == [dev], "the wipe is not in the state file: %s" % wipes_in_state())
limit = time.monotonic() + qmp.TIMEOUT
while qmp.pool_device_state(c, dev)["state"] != "wipe-failed":
    check(time.monotonic() < limit, "the wipe of a read-only device did not fail")
    time.sleep(0.05)
unclaimable(c)
d.terminate(signal.SIGKILL)

d, c = start()
unclaimable(c)  # replayed before this client could connect
d.terminate(signal.SIGKILL)

subprocess.run(["blockdev", "--setrw", dev], check=True)
with open(dev, "rb") as f:
    check(f.read(M) == pattern[:M], "the device changed while read-only")
d, c = start()
qmp.wait_device_ready(c, dev)
check(wipes_in_state() == [], "a finished wipe is still in the state file")
qmp.file_node(c, "claim", dev)
with open(dev, "rb") as f:
    data = f.read()
check(data == bytes(len(data)), "the resumed wipe left data on the device")
print("ok")
