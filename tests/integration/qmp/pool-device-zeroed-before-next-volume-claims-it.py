#!/usr/bin/python3
# A pool device (--pool-device, a loop device here) handed back holds its
# last tenant's data; the next volume claimed on it must not read it. A
# volume writes a pattern through NBD; x-volswap-pool-delete is refused
# while a node has the device open; once the node is gone it starts the
# wipe ({"deleted": false, "wiping": true}), x-volswap-query-pools shows
# the device "wiping" until it is "ready", and the next volume opened on
# the device reads zeroes only, everywhere. The other device, never
# handed back, keeps its data.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.volswapd_only("pool devices are volswapd's")
tmp = lib.tmpdir()
M = 1 << 20
dev = qmp.loop_device(tmp, "disk0.img", 64 * M)
other = qmp.loop_device(tmp, "disk1.img", 8 * M)
d = qmp.MonitorDaemon(tmp, state=os.path.join(tmp, "state.json"),
                      extra=("--pool-device", dev, "--pool-device", other)).start()
c = d.client()
sock = qmp.start_nbd(c, tmp)

def volume(node):
    qmp.file_node(c, node, dev)
    c.ok("block-export-add", type="nbd", id=node, writable=True, **{"node-name": node})
    return qmp.nbd_connect(sock, node)

def close(node, h):
    h.shutdown()
    c.ok("block-export-del", id=node, mode="hard")
    c.wait_event("BLOCK_EXPORT_DELETED")
    c.ok("blockdev-del", **{"node-name": node})

with open(other, "r+b") as f:
    f.write(b"\x3c" * M)
h = volume("tenant1")
for off in range(0, 64 * M, 8 * M):
    h.pwrite(b"\xa5" * M, off)
h.flush()
desc = c.err("x-volswap-pool-delete", "GenericError", filename=dev)
check("open as node 'tenant1'" in desc, desc)
close("tenant1", h)

check(qmp.pool_device_state(c, dev)["state"] == "ready", "wiping before the delete")
r = c.ok("x-volswap-pool-delete", filename=dev)
check(r == {"deleted": False, "wiping": True}, r)
st = qmp.wait_device_ready(c, dev)
check(st["size"] == 64 * M, st)

h = volume("tenant2")
zero = bytes(4 * M)
for off in range(0, 64 * M, 4 * M):
    check(h.pread(4 * M, off) == zero, "the next volume reads the last one's data at %d" % off)
close("tenant2", h)
with open(other, "rb") as f:
    check(f.read(M) == b"\x3c" * M, "a device not handed back was touched")
check("zeroed and free" in d.log_text(), "no log line for the wipe")
print("ok")
