#!/usr/bin/python3
# --confine-to-pools: the monitor creates and opens files only in the
# pools. blockdev-create's file driver, drive-mirror's target and
# blockdev-add's file and host_device nodes are refused with a
# GenericError, and nothing is created, for a path outside every pool
# directory, '..' out of one, a name in a subdirectory, a hidden name, and
# a pool device as a file to create; a symbolic link planted in a pool is
# not followed (the create job fails, the open fails). A plain name in a
# pool directory is created, opened and mirrored to; a pool device is
# opened. A client's nbd-server-start on a unix socket (whose bind would
# replace the file at its path) is refused, on TCP allowed. Without pools, --confine-to-pools stops the daemon at start.
import os, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.volswapd_only("--confine-to-pools is volswapd's")
tmp = lib.tmpdir()
M = 1 << 20
pool = os.path.join(tmp, "pool")
outside = os.path.join(tmp, "outside")
for p in (pool, outside, os.path.join(pool, "sub")):
    os.mkdir(p)
secret = os.path.join(outside, "secret")
with open(secret, "wb") as f:
    f.write(b"keep me")
os.symlink(secret, os.path.join(pool, "volume-link"))
device = lib.sparse_file(tmp, "device.img", M)  # a file standing for a pool device
lib.sparse_file(outside, "outside.img", M)

d = qmp.MonitorDaemon(tmp, extra=("--pool-dir", pool, "--pool-device", device,
                                  "--confine-to-pools")).start()
c = d.client()

def create(job, filename):
    return c.cmd("blockdev-create", {"job-id": job, "options": {
        "driver": "file", "filename": filename, "size": M}})

def wait_concluded(job):
    limit = time.monotonic() + qmp.TIMEOUT
    while True:
        j = [x for x in c.ok("query-jobs") if x["id"] == job][0]
        if j["status"] == "concluded":
            c.ok("job-dismiss", id=job)
            return j
        check(time.monotonic() < limit, "job %s did not conclude" % job)
        time.sleep(0.02)

bad = (os.path.join(outside, "volume-x"), pool + "/../outside/volume-x", pool + "/sub/volume-x",
       pool + "/.volume-x", pool, "volume-x")
for i, path in enumerate(bad):
    r = create("bad%d" % i, path)
    check(r.get("error", {}).get("class") == "GenericError" and
          "--confine-to-pools" in r["error"]["desc"], "blockdev-create %s: %s" % (path, r))
    for drv in ("file", "host_device"):
        desc = c.err("blockdev-add", "GenericError", driver=drv, filename=path,
                     **{"node-name": "n%d" % i})
        check("--confine-to-pools" in desc, desc)
    desc = c.err("blockdev-add", "GenericError", driver="raw", **{"node-name": "r%d" % i},
                 file={"driver": "file", "filename": path})
    check("--confine-to-pools" in desc, desc)
r = create("dev", device)
check("pool device" in r.get("error", {}).get("desc", ""), "create on a pool device: %s" % r)
check(sorted(os.listdir(outside)) == ["outside.img", "secret"], os.listdir(outside))
check(c.ok("query-named-block-nodes") == [], "a node opened outside the pools")

# a link planted in the pool is not followed
check(create("link", pool + "/volume-link") == {"return": {}}, "create through a link refused early")
check("error" in wait_concluded("link"), "create followed a symbolic link")
desc = c.err("blockdev-add", "GenericError", driver="file", filename=pool + "/volume-link",
             **{"node-name": "l"})
check("Could not open" in desc, desc)
check(open(secret, "rb").read() == b"keep me", "the file outside the pool changed")

# what is in the pools works
name = pool + "/volume-1"
check(create("ok", name) == {"return": {}}, "create in the pool")
check("error" not in wait_concluded("ok"), "create in the pool failed")
check(os.path.getsize(name) == M, "not created")
qmp.file_node(c, "src", name)
qmp.file_node(c, "dev", device)
desc = c.err("drive-mirror", "GenericError", device="src", target=os.path.join(outside, "m.img"),
             sync="full", format="raw", **{"job-id": "m0"})
check("--confine-to-pools" in desc, desc)
check(not os.path.exists(os.path.join(outside, "m.img")), "drive-mirror created outside")
c.ok("drive-mirror", device="src", target=pool + "/volume-2", sync="full", format="raw",
     **{"job-id": "m1"})
c.wait_event("BLOCK_JOB_READY")
c.ok("block-job-cancel", device="m1")
c.wait_event("BLOCK_JOB_COMPLETED")
check(os.path.exists(pool + "/volume-2"), "drive-mirror did not create in the pool")
# binding a unix socket would replace the file at its path
desc = c.err("nbd-server-start", "GenericError", addr={"type": "unix", "data": {"path": secret}})
check("--confine-to-pools" in desc, desc)
check(open(secret, "rb").read() == b"keep me", "nbd-server-start replaced a file")
c.ok("nbd-server-start", addr={"type": "inet", "data": {"host": "127.0.0.1", "port": "0"}})
d.stop()

p = subprocess.run([lib.daemon_bin(), "--confine-to-pools", "--monitor", os.path.join(tmp, "m2")],
                   capture_output=True, text=True, timeout=30)
check(p.returncode == 1 and "--confine-to-pools" in p.stderr, "%d %s" % (p.returncode, p.stderr))
print("ok")
