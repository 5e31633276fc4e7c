#!/usr/bin/python3
"""A libnbd guest keeps 16 requests in flight — writes of 512 B to 200 KiB
at 512-byte offsets, write-zeroes (with and without NO_HOLE) and trims,
never two overlapping at once — while the volume is mirrored in
write-blocking mode and pivoted. The test keeps a model of every byte the
guest's acknowledged requests define; afterwards the whole volume, read
through the same export (now on the target), matches it everywhere
except where a trim left the content open. Deterministic (seeded), so a
failure repeats."""
import os, random, sys, threading, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import setup, job_events, check, lib, qmp
import nbd

SIZE = 32 << 20
tmp, d, c, src, tgt = setup(SIZE)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
model = bytearray(open(src, "rb").read())
defined = bytearray(b"\1" * SIZE)           # 0 where a trim left it open
stop = threading.Event()
failures = []
done = {"write": 0, "zero": 0, "trim": 0}


def guest():
    h = nbd.NBD()
    h.connect_uri(qmp.nbd_uri(sock, "src"))
    rnd = random.Random(20261126)
    inflight = {}
    while not stop.is_set() or inflight:
        while not stop.is_set() and len(inflight) < 16:
            ln = rnd.choice([512, 4096, 4096, 8192, 65536, 200 * 1024])
            off = rnd.randrange(0, SIZE - ln) // 512 * 512
            if any(o < off + ln and off < o + n for o, n in inflight.values()):
                continue
            kind = rnd.choices(["write", "zero", "trim"], [70, 15, 15])[0]
            if kind == "write":
                data = rnd.randbytes(ln)
                cookie = h.aio_pwrite(data, off)
                model[off:off + ln] = data
            elif kind == "zero":
                flags = nbd.CMD_FLAG_NO_HOLE if rnd.random() < 0.5 else 0
                cookie = h.aio_zero(ln, off, flags=flags)
                model[off:off + ln] = bytes(ln)
            else:
                cookie = h.aio_trim(ln, off)
            defined[off:off + ln] = (b"\0" if kind == "trim" else b"\1") * ln
            done[kind] += 1
            inflight[cookie] = (off, ln)
        h.poll(1)
        for cookie in list(inflight):
            try:
                if h.aio_command_completed(cookie):
                    del inflight[cookie]
            except nbd.Error as e:
                failures.append(str(e))
                del inflight[cookie]
    h.shutdown()


t = threading.Thread(target=guest)
t.start()
try:
    time.sleep(0.2)                          # the guest is under way
    c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt",
                               "sync": "full", "copy-mode": "write-blocking"})
    job_events(c, "BLOCK_JOB_READY")
    c.ok("block-job-complete", device="j0")
    job_events(c, "null")
    (e,) = c.ok("query-block-exports")
    check(e["node-name"] == "tgt", "export on %r" % e["node-name"])
    time.sleep(0.2)                          # and goes on, on the target
finally:
    stop.set()
    t.join()
check(not failures, "the guest saw errors: %r" % failures[:3])
check(all(done.values()), "some kind of request never ran: %r" % done)
h = nbd.NBD()
h.connect_uri(qmp.nbd_uri(sock, "src"))
got = b"".join(h.pread(4 << 20, off) for off in range(0, SIZE, 4 << 20))
h.shutdown()
bad = [i for i in range(0, SIZE, 512) if defined[i] and got[i:i + 512] != model[i:i + 512]]
check(not bad, "%d sectors differ from the model, the first at offset %r" % (len(bad), bad[:4]))
