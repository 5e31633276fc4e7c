#!/usr/bin/python3
"""bench/guest's measuring half: follows the guest's console (bench/guest-writer
prints 'w SEQ END_US WRITE_US SYNC_US' per block, END_US on the guest's clock),
swaps the exported volume over QMP --swaps times, and sets the slowest write
and fdatasync during each swap against those in an equally long window just
before it."""
import argparse, os, statistics, threading, time

from qmp import QMP

p = argparse.ArgumentParser()
p.add_argument("--qmp", required=True)
p.add_argument("--console", required=True)
p.add_argument("--dir", required=True)
p.add_argument("--node", required=True)
p.add_argument("--swaps", type=int, default=7)
args = p.parse_args()

# (host monotonic s at arrival, guest end s, write s, sync s), in order
lines, stop, errors = [], threading.Event(), []


def follow():
    f = None
    while f is None and not stop.is_set():
        try:
            f = open(args.console, "rb")
        except FileNotFoundError:
            time.sleep(0.05)
    buf = b""
    while not stop.is_set():
        chunk = f.read()
        if not chunk:
            time.sleep(0.0005)
            continue
        now = time.monotonic()
        buf += chunk
        *ls, buf = buf.split(b"\n")
        for l in ls:
            parts = l.strip().split()
            if len(parts) == 5 and parts[0] == b"w":
                lines.append((now, int(parts[2]) / 1e6, int(parts[3]) / 1e6, int(parts[4]) / 1e6))
            elif b"ioerr" in l:
                errors.append(l.decode(errors="replace"))


th = threading.Thread(target=follow, daemon=True)
th.start()
deadline = time.monotonic() + 600
while len(lines) < 200:
    if time.monotonic() > deadline:
        raise SystemExit("bench/guest: the guest never wrote (see its console)")
    time.sleep(0.2)
boot = time.monotonic()

q = QMP(args.qmp)
q.cmd("x-volswap-query-trace", clear=True)
swaps = []
cur, n = args.node, 0
gap = 2.0
for i in range(args.swaps):
    time.sleep(gap)
    n += 1
    new = f"vol{n}"
    path = os.path.join(args.dir, f"vol-{n}")
    with open(path, "wb") as f:
        f.truncate(1 << 30)
    t0 = time.monotonic()
    q.cmd("blockdev-add", driver="file", filename=path, **{"node-name": new})
    q.cmd("blockdev-mirror", device=cur, target=new, sync="full", **{"job-id": f"swap{n}"})
    q.wait("BLOCK_JOB_READY")
    q.cmd("block-job-complete", device=f"swap{n}")
    ev = q.wait("BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED")
    if ev["event"] != "BLOCK_JOB_COMPLETED" or "error" in ev.get("data", {}):
        raise SystemExit(f"bench/guest: swap {n} failed: {ev}")
    q.cmd("blockdev-del", **{"node-name": cur})
    t1 = time.monotonic()
    os.unlink(os.path.join(args.dir, f"vol-{n - 1}"))
    swaps.append({"t0": t0, "t1": t1, "trace": q.cmd("x-volswap-query-trace", clear=True)})
    cur = new
    gap = max(2.0, 1.5 * (t1 - t0))
time.sleep(1.0)
stop.set()
th.join()
if errors:
    raise SystemExit("bench/guest: the guest saw I/O errors: " + "; ".join(errors[:3]))
if not lines or lines[-1][0] < swaps[-1]["t1"]:
    raise SystemExit("bench/guest: the guest stopped writing before the last swap")


def offset_near(t):
    """host - guest clock, from the lines within 5 s of t: the smallest
    difference is the line that reached the console fastest."""
    near = [a - g for a, g, _, _ in lines if abs(a - t) < 5]
    return min(near)


def ios(off):
    """(write start, write end, write s, sync start, sync end, sync s) on the host's clock."""
    out = []
    for _, g, w, s in lines:
        e = g + off
        out.append((e - s - w, e - s, w, e - s, e, s))
    return out


def slowest(io, t0, t1):
    """The slowest write and fdatasync in flight at some moment of [t0, t1]."""
    mw = max([w for ws, we, w, _, _, _ in io if we >= t0 and ws <= t1] or [0.0])
    ms = max([s for _, _, _, ss, se, s in io if se >= t0 and ss <= t1] or [0.0])
    return mw * 1000, ms * 1000


def mark(m):
    return (m["event"] + " " + m.get("subject", "")).strip()


rows = []
for sw in swaps:
    off = offset_near(sw["t0"])
    io = ios(off)
    d = slowest(io, sw["t0"], sw["t1"])
    length = sw["t1"] - sw["t0"]
    b = slowest(io, sw["t0"] - 0.05 - length, sw["t0"] - 0.05)
    # where the slowest write or fdatasync of the swap started, by the trace
    marks = [m for m in sw["trace"] if not m.get("subject", "").startswith("query-")]
    worst = max(((w + s, ws) for ws, we, w, ss, se, s in io if se >= sw["t0"] and ws <= sw["t1"]),
                default=(0, 0))
    phase = "-"
    # the trace's clock-ns is the host's CLOCK_MONOTONIC, as time.monotonic()
    for a, bm in zip(marks, marks[1:] + [None]):
        if a["clock-ns"] / 1e9 <= worst[1] and (bm is None or worst[1] < bm["clock-ns"] / 1e9):
            phase = mark(a) + " -> " + (mark(bm) if bm else "end")
            break
    rows.append((length * 1000, d, b, phase))

med = statistics.median
print(f"  guest: {len(lines)} blocks written, {len(swaps)} swaps "
      f"(median {med([r[0] for r in rows]):.0f} ms each)")
print("  per swap: swap ms | slowest write during / before | slowest fdatasync during / before (ms)")
for length, d, b, phase in rows:
    print(f"    {length:7.0f} | {d[0]:7.2f} / {b[0]:7.2f} | {d[1]:7.2f} / {b[1]:7.2f}   worst in: {phase}")
for k, name in ((0, "write"), (1, "fdatasync")):
    dur = [r[1][k] for r in rows]
    bef = [r[2][k] for r in rows]
    ratios = [a / c for a, c in zip(dur, bef) if c > 0]
    print(f"  slowest {name:9s} during a swap median {med(dur):7.2f} ms, before {med(bef):7.2f} ms; "
          f"median of the ratios {med(ratios):.2f}  (target <= 2)")
allw = sorted(w for _, _, w, _ in lines)
alls = sorted(s for _, _, _, s in lines)
print(f"  all blocks: write median {allw[len(allw) // 2] * 1000:.2f} ms, "
      f"fdatasync median {alls[len(alls) // 2] * 1000:.2f} ms")
