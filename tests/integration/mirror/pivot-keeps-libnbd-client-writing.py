#!/usr/bin/python3
"""A python3-libnbd client writes random 4 KiB blocks to an exported volume
while it is mirrored and pivoted: every write succeeds, the connection is
never dropped, the target file holds every acknowledged write (those before,
during and after the pivot), and writes after the pivot never reach the
source. Runs the mirror in-process through src/jobs/mirror-run (until the
QMP monitor offers blockdev-mirror)."""
import os, random, select, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib
import nbd

runner = os.path.join(os.environ["VOLSWAP_BUILD"], "src", "jobs", "mirror-run")
if not os.access(runner, os.X_OK):
    lib.skip("mirror-run not built")

SIZE = 64 << 20
BS = 4096
tmp = lib.tmpdir()
src, tgt = os.path.join(tmp, "src.img"), os.path.join(tmp, "tgt.img")
base = lib.random_bytes(SIZE, 7)
with open(src, "wb") as f:
    f.write(base)
lib.sparse_file(tmp, "tgt.img", SIZE)
sock, go, stop = (os.path.join(tmp, n) for n in ("nbd.sock", "go", "stop"))

p = subprocess.Popen([runner, src, tgt, "--export", sock, "--go", go, "--stop", stop,
                      "--complete-after", "200"], stdout=subprocess.PIPE)
try:
    for _ in range(1000):
        if os.path.exists(sock) or p.poll() is not None:
            break
        select.select([], [], [], 0.01)
    lib.check(os.path.exists(sock), "mirror-run never exported the source")
    h = nbd.NBD()
    h.connect_uri(f"nbd+unix:///src?socket={sock}")
    rnd = random.Random(3)
    model = {}

    def write_some(n, tag):
        for _ in range(n):
            blk = rnd.randrange(SIZE // BS)
            data = bytes([tag]) * 8 + rnd.randbytes(BS - 8)
            h.pwrite(data, blk * BS)          # raises on any error
            model[blk] = data

    write_some(200, 1)
    open(go, "w").close()
    out, buf = [], b""
    fd = p.stdout.fileno()
    while "done" not in out:                  # writes during the mirror and pivot
        write_some(50, 2)
        r, _, _ = select.select([fd], [], [], 0)
        if r:
            chunk = os.read(fd, 4096)
            lib.check(chunk != b"", "mirror-run exited early: " + " ".join(out))
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                out.append(line.decode().split()[0])
    lib.check("ready" in out, "no READY before the end: %s" % out)
    after = {}
    for _ in range(300):                      # after the pivot: target only
        blk = rnd.randrange(SIZE // BS)
        data = b"\xaf" * 8 + rnd.randbytes(BS - 8)
        h.pwrite(data, blk * BS)
        model[blk] = data
        after[blk] = data
    for blk, data in model.items():           # the client reads its writes
        lib.check(h.pread(BS, blk * BS) == data, f"block {blk} reads back wrong")
    h.shutdown()
    open(stop, "w").close()
    rest = (buf + p.communicate(timeout=60)[0]).decode()
    lib.check(p.returncode == 0, "mirror-run failed: " + rest)
    lib.check("pivoted tgt" in rest, "export not switched to the target: " + rest)
    with open(tgt, "rb") as f:
        t = f.read()
    with open(src, "rb") as f:
        s = f.read()
    for blk in range(SIZE // BS):
        want = model.get(blk, base[blk * BS:(blk + 1) * BS])
        lib.check(t[blk * BS:(blk + 1) * BS] == want, f"target block {blk} wrong")
    for blk, data in after.items():
        lib.check(s[blk * BS:(blk + 1) * BS] != data, f"post-pivot write {blk} reached the source")
finally:
    if p.poll() is None:
        p.kill()
