#!/usr/bin/python3
"""Four python3-libnbd clients, each moved to its own event loop
(--loops 5), write sequence-stamped 4 KiB blocks while their volume is
mirrored and pivoted. Every client writes its own blocks and a set shared
with the others, where a client writes a block only after its previous
writer's write was acknowledged (a token passed between them), so the
acknowledged order of writes to one block is known. After the pivot the
target holds, for every block, the last acknowledged write: nothing
acknowledged lost, nothing reordered, whichever loop it came through."""
import os, random, sys, threading
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import check, lib, qmp

if lib.impl() != "volswapd":
    lib.skip("--loops is volswapd's")
SIZE, BS, CLIENTS, SHARED = 32 << 20, 4096, 4, 64
tmp = lib.tmpdir()
src = lib.sparse_file(tmp, "src.img", SIZE)
tgt = lib.sparse_file(tmp, "tgt.img", SIZE)
d = qmp.MonitorDaemon(tmp, extra=["--loops", "5"]).start()
c = d.client()
qmp.file_node(c, "src", src)
qmp.file_node(c, "tgt", tgt)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "src"})
handles = [qmp.nbd_connect(sock, "src") for _ in range(CLIENTS)]

# Blocks 0 .. SHARED-1 are shared; client i owns the blocks b >= SHARED with
# b % CLIENTS == i.
last = {}                      # block -> the last acknowledged data
lock = threading.Lock()        # the test's own bookkeeping, not the daemon's
shared_turn = threading.Condition(lock)
turn = [0]                     # which client may write the shared blocks now
done = [False] * CLIENTS
stop = threading.Event()
errors = []


def pass_turn(i):
    """With shared_turn held: the next client still writing gets the turn."""
    for k in range(1, CLIENTS + 1):
        j = (i + k) % CLIENTS
        if not done[j]:
            turn[0] = j
            break
    shared_turn.notify_all()


def stamp(i, seq):
    return (b"%02d:%08d:" % (i, seq)).ljust(16, b".")


def writer(i):
    h = handles[i]
    rnd = random.Random(100 + i)
    seq = 0
    try:
        while not stop.is_set() or seq < 50:
            seq += 1
            if rnd.random() < 0.25:
                with shared_turn:
                    while turn[0] != i:
                        shared_turn.wait()
                blk = rnd.randrange(SHARED)
                data = stamp(i, seq) * (BS // 16)
                h.pwrite(data, blk * BS)          # acknowledged on return
                with shared_turn:
                    last[blk] = data
                    pass_turn(i)
            else:
                blk = SHARED + rnd.randrange((SIZE // BS - SHARED) // CLIENTS) * CLIENTS + i
                data = stamp(i, seq) * (BS // 16)
                h.pwrite(data, blk * BS)
                with lock:
                    last[blk] = data
    except Exception as e:  # noqa: BLE001 - reported below
        errors.append("client %d: %r" % (i, e))
        stop.set()
    finally:
        with shared_turn:            # never leave the others waiting
            done[i] = True
            if turn[0] == i:
                pass_turn(i)


threads = [threading.Thread(target=writer, args=(i,)) for i in range(CLIENTS)]
for t in threads:
    t.start()
c.ok("blockdev-mirror", **{"job-id": "j0", "device": "src", "target": "tgt", "sync": "full"})
c.wait_event("BLOCK_JOB_READY")
c.ok("block-job-complete", device="j0")
c.wait_event("BLOCK_JOB_COMPLETED")
stop.set()
for t in threads:
    t.join()
check(not errors, "; ".join(errors))
(e,) = c.ok("query-block-exports")
check(e["node-name"] == "tgt", "export on %r after the pivot" % e["node-name"])
for h in handles:
    h.flush()
    h.shutdown()
with open(tgt, "rb") as f:
    t = f.read()
check(len(last) > 100, "only %d blocks written" % len(last))
for blk, data in last.items():
    got = t[blk * BS:(blk + 1) * BS]
    check(got == data, "target block %d holds %r, the last acknowledged write was %r"
          % (blk, got[:16], data[:16]))
lib.log("%d blocks checked on the target" % len(last))
