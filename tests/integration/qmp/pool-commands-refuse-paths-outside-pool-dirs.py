#!/usr/bin/python3
# The pool commands' boundary (x-volswap-pool-*, for volswap-api's pools
# that a storage host manages): with --pool-dir POOL, a file is created,
# grown and deleted only as a plain name directly inside POOL. Refused,
# with nothing changed outside POOL: a path outside every pool directory,
# '..' out of it, a name in a subdirectory, a hidden name, a symbolic
# link in POOL to a file outside it (not followed by create, grow or
# delete), a hard link in POOL to a file outside it (not grown), a
# shrink; a relative or '/' --pool-dir stops the daemon at start.
import os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.volswapd_only("pool commands are volswapd's")
tmp = lib.tmpdir()
pool = os.path.join(tmp, "pool")
outside = os.path.join(tmp, "outside")
os.mkdir(pool)
os.mkdir(outside)
os.mkdir(os.path.join(pool, "sub"))
secret = os.path.join(outside, "secret")
with open(secret, "wb") as f:
    f.write(b"keep me")
os.symlink(secret, os.path.join(pool, "volume-link"))
os.symlink(os.path.join(outside, "made-through-link"), os.path.join(pool, "volume-dangling"))
os.link(secret, os.path.join(pool, "volume-hard"))

d = qmp.MonitorDaemon(tmp, extra=("--pool-dir", pool + "/")).start()
c = d.client()
G = 1 << 30

for bad in (os.path.join(outside, "volume-x"), pool + "/../outside/volume-x",
            pool + "/sub/volume-x", pool + "/.volume-x", pool + "/", pool,
            "volume-x", pool + "//volume-x", pool + "/volume x"):
    c.err("x-volswap-pool-create", "GenericError", filename=bad, size=G)
    c.err("x-volswap-pool-grow", "GenericError", filename=bad, size=G)
    c.err("x-volswap-pool-delete", "GenericError", filename=bad)
check(sorted(os.listdir(outside)) == ["secret"], "a file appeared outside the pool: %s" % os.listdir(outside))

# links planted in the pool lead nowhere
c.err("x-volswap-pool-create", "GenericError", filename=pool + "/volume-link", size=G)
c.err("x-volswap-pool-create", "GenericError", filename=pool + "/volume-dangling", size=G)
c.err("x-volswap-pool-grow", "GenericError", filename=pool + "/volume-link", size=G)
c.err("x-volswap-pool-grow", "GenericError", filename=pool + "/volume-hard", size=G)
c.err("x-volswap-pool-delete", "GenericError", filename=pool + "/volume-link")
check(open(secret, "rb").read() == b"keep me", "the file outside the pool changed")
check(not os.path.exists(os.path.join(outside, "made-through-link")), "create followed a link")
check(os.path.islink(os.path.join(pool, "volume-link")), "delete removed the link")

# what is in the pool works, once each way
name = pool + "/volume-1"
check(c.ok("x-volswap-pool-create", filename=name, size=G) == {}, "create")
check(os.stat(name).st_size == G and os.stat(name).st_blocks == 0, "not a sparse 1 GiB file")
c.err("x-volswap-pool-create", "GenericError", filename=name, size=G)  # exists
check(c.ok("x-volswap-pool-grow", filename=name, size=2 * G) == {}, "grow")
check(os.stat(name).st_size == 2 * G, "not grown")
desc = c.err("x-volswap-pool-grow", "GenericError", filename=name, size=G)
check("not shrunk" in desc, desc)
c.err("x-volswap-pool-grow", "GenericError", filename=name, size=0)
pools = c.ok("x-volswap-query-pools")
check(len(pools) == 1 and pools[0]["path"] == pool and pools[0]["total"] > 0, pools)
check(c.ok("x-volswap-pool-delete", filename=name) == {"deleted": True}, "delete")
check(c.ok("x-volswap-pool-delete", filename=name) == {"deleted": False}, "delete again")
check(not os.path.exists(name), "not deleted")
d.stop()

for bad in ("relative/pool", "/", "/tmp/../etc", ""):
    p = subprocess.run([qmp.lib.daemon_bin(), "--pool-dir", bad, "--monitor", tmp + "/m2"],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 1 and "--pool-dir" in p.stderr, "--pool-dir %r: %d %s" % (bad, p.returncode, p.stderr))
print("ok")
