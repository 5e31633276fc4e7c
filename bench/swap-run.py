#!/usr/bin/python3
"""bench/swap's measuring half (bench/swap sets up the API, host daemon and
volumes, then runs this). Times swaps through volswap-api against the same
mirror driven over raw QMP, and fio's longest write pause with and without a
swap. Prints medians and ratios."""
import argparse, json, os, signal, statistics, subprocess, time

from qmp import QMP
from rest import Api

p = argparse.ArgumentParser()
for a in ("url", "token", "pairs", "qmp", "raw-dir", "fio-uri", "fio-server", "fio-old",
          "fio-new", "host", "out"):
    p.add_argument("--" + a, required=True)
p.add_argument("--runs", type=int, default=5)
p.add_argument("--fio-swaps", type=int, default=7)
p.add_argument("--label", default="")
# a libvirt host: the peer is the same block copy by hand through virsh
# (blockcopy --reuse-external --transient-job --wait --pivot) on disks
# TARGETS (one a line) of domain VIRSH_DOM, and the consumer is a real guest
# whose console (GUEST_CONSOLE) prints "guest: ack N" after each write
p.add_argument("--virsh-uri", default="")
p.add_argument("--virsh-dom", default="")
p.add_argument("--raw-targets", default="")
p.add_argument("--guest-console", default="")
p.add_argument("--summary", default="")
p.add_argument("--heavy", action="store_true")
args = p.parse_args()
http = Api(args.url, args.token).call


def api_swap(sid, old, new, poll=0.001):
    """PUT -> the attachment lists NEW. Returns (e2e_ms, progress). The
    consumer's sessions poll every 20 ms: a poll every millisecond keeps
    volswap-api and this script busy on the CPUs the consumer and the host
    daemon need, during the swap only, and the consumer would feel the
    bench rather than the swap."""
    t0 = time.monotonic()
    st, _ = http("PUT", f"/v2.1/servers/{sid}/os-volume_attachments/{old}",
                 {"volumeAttachment": {"volumeId": new}})
    assert st == 202, st
    while True:
        _, r = http("GET", f"/v2.1/servers/{sid}/os-volume_attachments")
        # the server may have other disks (the libvirt host's does)
        vols = [a["volumeId"] for a in r["volumeAttachments"]]
        if new in vols and old not in vols:
            break
        time.sleep(poll)
    e2e = (time.monotonic() - t0) * 1000
    for _ in range(2000):   # the record is DONE a moment after the attachment moves
        _, r = http("GET", f"/v2.1/servers/{sid}/os-volume_attachments/{new}/swap-progress")
        if r["swap_progress"]["state"] != "running":
            return e2e, r["swap_progress"]
        time.sleep(max(poll, 0.002))
    raise SystemExit("swap did not finish")


def raw_swap(i):
    """The same mirror by hand: open both files, mirror, READY, complete."""
    q = QMP(args.qmp)
    src, dst = f"rawsrc{i}", f"rawdst{i}"
    q.cmd("blockdev-add", driver="file", filename=f"{args.raw_dir}/raw-src-{i}", **{"node-name": src})
    t0 = time.monotonic()
    q.cmd("blockdev-add", driver="file", filename=f"{args.raw_dir}/raw-dst-{i}", **{"node-name": dst})
    q.cmd("blockdev-mirror", device=src, target=dst, sync="full", **{"job-id": f"raw{i}"})
    q.wait("BLOCK_JOB_READY")
    q.cmd("block-job-complete", device=f"raw{i}")
    q.wait("BLOCK_JOB_COMPLETED")
    ms = (time.monotonic() - t0) * 1000
    q.cmd("blockdev-del", **{"node-name": src})
    q.close()
    return ms



def virsh_swap(i):
    """The same block copy by hand through virsh: --wait polls the job,
    --pivot completes it; from the command's start to its exit."""
    tgt = open(args.raw_targets).read().split()[i - 1]
    t0 = time.monotonic()
    subprocess.run(["virsh", "-q", "-c", args.virsh_uri, "blockcopy", args.virsh_dom, tgt,
                    "--dest", f"{args.raw_dir}/raw-dst-{i}", "--format", "raw",
                    "--reuse-external", "--transient-job", "--wait", "--pivot"],
                   check=True, stdout=subprocess.DEVNULL)
    return (time.monotonic() - t0) * 1000


def guest_session():
    """The guest writes one 4 KiB block with O_DIRECT after another and
    prints each acknowledged one on its console: the time between two
    acknowledgements (as the console lines arrive here) bounds one write
    (plus the guest's dd start, tens of ms under TCG). For each swap the
    longest such gap overlapping it, against the longest in an equally
    long window just before it."""
    import threading
    acks, stop = [], threading.Event()

    def follow():
        with open(args.guest_console, "rb") as f:
            f.seek(0, 2)
            buf = b""
            while not stop.is_set():
                chunk = f.read()
                if not chunk:
                    time.sleep(0.002)
                    continue
                buf += chunk
                *lines, buf = buf.split(b"\n")
                now = time.time()
                for l in lines:
                    if b"guest: ack " in l:
                        acks.append(now)
                    if b"guest: ioerr" in l:
                        raise SystemExit("bench/swap: the guest saw an I/O error")

    th = threading.Thread(target=follow, daemon=True)
    th.start()
    time.sleep(3)
    swaps = []
    cur, other = args.fio_old, args.fio_new
    gap = 2.0
    for i in range(args.fio_swaps):
        time.sleep(gap)
        t0 = time.time()
        api_swap(args.fio_server, cur, other)
        t1 = time.time()
        swaps.append({"t0": t0, "t1": t1, "trace": None})
        cur, other = other, cur
        gap = max(2.0, 1.5 * (t1 - t0))
    time.sleep(2)
    stop.set()
    th.join()
    ios = [(a, b, (b - a) * 1000) for a, b in zip(acks, acks[1:])]
    if not ios or ios[-1][1] < swaps[-1]["t1"]:
        raise SystemExit("bench/swap: the guest stopped writing before the last swap")
    return ios, swaps


def query_trace(clear=True):
    """volswapd's phase trace (x-volswap-query-trace), or None elsewhere."""
    try:
        q = QMP(args.qmp)
    except OSError:
        return None
    try:
        return q.cmd("x-volswap-query-trace", clear=clear)
    except RuntimeError:
        return None
    finally:
        q.close()


def fio_log(path):
    """fio's per-write log (unix epoch ms at completion, latency ns):
    a list of (start_s, end_s, lat_ms)."""
    out = []
    with open(path) as f:
        for line in f:
            parts = line.split(",")
            if len(parts) < 3 or parts[2].strip() != "1":
                continue
            end = int(parts[0]) / 1000.0
            lat = int(parts[1]) / 1e6
            out.append((end - lat / 1000.0, end, lat))
    out.sort(key=lambda r: r[1])
    return out


def longest(ios, t0, t1):
    """The longest write that was in flight at some moment of [t0, t1]. fio
    stamps completions to the millisecond: widen by one."""
    m = 0.0
    for s_, e, lat in ios:
        if e + 0.001 >= t0 and s_ - 0.001 <= t1 and lat > m:
            m = lat
    return m


def fold_queries(marks):
    """The progress endpoint polls query-jobs every 100 ms: those marks say
    nothing about the swap; their intervals merge into the next mark's."""
    out, carry_w, carry_r = [], 0, 0
    for m in marks:
        if m.get("subject", "").startswith("query-"):
            carry_w = max(carry_w, m["max-write-ns"])
            carry_r = max(carry_r, m["max-read-ns"])
            continue
        m = dict(m)
        m["max-write-ns"] = max(m["max-write-ns"], carry_w)
        m["max-read-ns"] = max(m["max-read-ns"], carry_r)
        carry_w = carry_r = 0
        out.append(m)
    return out


def wall(m):
    return m["timestamp"]["seconds"] + m["timestamp"]["microseconds"] / 1e6


def mark_name(m):
    if m["event"] in ("qmp-command", "qmp-reply", "job-status"):
        subj = m.get("subject", "")
        if m["event"] == "job-status":
            subj = subj.split()[-1]
        return f"{m['event']} {subj}"
    return m["event"]


def consumer_session():
    """One fio consumer writing 4k at qd1 through the export for the whole
    session, logging every write, while the volume is swapped back and
    forth --fio-swaps times with a quiet gap between swaps. For each swap,
    its longest write during the swap (PUT to DONE) against the longest in
    an equally long window just before the PUT without a swap."""
    logp = os.path.join(args.out, "fio")
    cmd = ["fio", "--name=consumer", "--ioengine=nbd", "--uri=" + args.fio_uri,
           "--rw=randwrite", "--bs=4k", "--iodepth=1", "--size=64M", "--time_based",
           "--runtime=600", "--output-format=json", "--write_lat_log=" + logp,
           "--log_avg_msec=0", "--log_unix_epoch=1"]
    f = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    query_trace(clear=True)
    swaps = []
    cur, other = args.fio_old, args.fio_new
    gap = 1.0
    for i in range(args.fio_swaps):
        time.sleep(gap)
        t0 = time.time()
        api_swap(args.fio_server, cur, other, poll=0.02)
        t1 = time.time()
        swaps.append({"t0": t0, "t1": t1, "trace": query_trace(clear=True)})
        cur, other = other, cur
        gap = max(1.0, 1.5 * (t1 - t0))
    args.fio_old, args.fio_new = cur, other   # where the volume is now
    time.sleep(0.5)
    f.send_signal(signal.SIGINT)    # fio stops and writes its logs
    f.communicate()
    ios = fio_log(logp + "_lat.1.log")
    if not ios or ios[-1][1] < swaps[-1]["t1"]:
        raise SystemExit("bench/swap: fio ended before the last swap")
    return ios, swaps


def heavy_session(rw, bs, depth, n=3):
    """Swaps under fio's heaviest write loads: the job must still converge
    (the convergence rule switches it to write-through). Returns each
    swap's PUT -> DONE time (ms) and whether the job wrote through."""
    cmd = ["fio", "--name=heavy", "--ioengine=nbd", "--uri=" + args.fio_uri,
           "--rw=" + rw, "--bs=" + bs, "--iodepth=" + str(depth), "--size=64M",
           "--time_based", "--runtime=600", "--output-format=json"]
    f = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = []
    try:
        time.sleep(1.5)
        query_trace(clear=True)
        cur, other = args.fio_old, args.fio_new
        for i in range(n):
            t0 = time.time()
            api_swap(args.fio_server, cur, other, poll=0.02)
            ms = (time.time() - t0) * 1000
            tr = query_trace(clear=True) or []
            out.append((ms, any(m["event"] == "mirror-write-through" for m in tr)))
            cur, other = other, cur
            args.fio_old, args.fio_new = cur, other
            time.sleep(0.5)
    finally:
        f.send_signal(signal.SIGINT)
        res = f.communicate()[0]
    try:
        # fio may say it was interrupted before its JSON
        bw = json.loads(res[res.index(b"{"):])["jobs"][0]["write"]["bw"] / 1024
    except (ValueError, KeyError, IndexError):
        bw = 0.0
    return out, bw


paced = []     # (ms the pacer held copies back, READY ms), per swap


def breakdown(ios, swaps):
    """Per phase (interval between two trace marks), medians over swaps of
    its length, of the longest guest write volswapd saw completing in it,
    and of the longest fio write in flight during it."""
    rows = {}
    order = []
    firsts, holds, readys = [], [], []
    paced.clear()
    for sw in swaps:
        marks = fold_queries(sw["trace"] or [])
        byname = {}
        for a, b in zip(marks, marks[1:]):
            key = f"{mark_name(a)} -> {mark_name(b)}"
            if key not in rows:
                rows[key] = []
                order.append(key)
            rows[key].append(((b["clock-ns"] - a["clock-ns"]) / 1e6, b["max-write-ns"] / 1e6,
                              longest(ios, wall(a), wall(b))))
        for m in marks:
            byname.setdefault(mark_name(m), m)
        c = byname.get("qmp-command block-job-complete")
        fw = byname.get("first-guest-write")
        if c and fw:
            firsts.append((fw["clock-ns"] - c["clock-ns"]) / 1e6)
        q = byname.get("mirror-quiesce")
        r = byname.get("mirror-release-target")
        if q and r:
            holds.append((r["clock-ns"] - q["clock-ns"]) / 1e6)
        bm = byname.get("qmp-command blockdev-mirror")
        rd = byname.get("job-status ready")
        if bm and rd:
            readys.append((rd["clock-ns"] - bm["clock-ns"]) / 1e6)
            pc = byname.get("mirror-paced")
            if pc and " held " in pc.get("subject", ""):
                held = int(pc["subject"].split(" held ")[1].split()[0]) / 1000.0
                paced.append((held, readys[-1]))
    return rows, order, firsts, holds, readys


pairs = [l.split() for l in open(args.pairs)]
e2e, mirror, server_total, pivots, raws = [], [], [], [], []
for i, (sid, old, new) in enumerate(pairs[:args.runs]):
    ms, pr = api_swap(sid, old, new)
    e2e.append(ms)
    mirror.append(pr["mirror_ms"])
    server_total.append(pr["total_ms"])
    pivots.append(pr["pivot_pause_ms"])
    raws.append(virsh_swap(i + 1) if args.virsh_dom else raw_swap(i + 1))
med = statistics.median
over = [a - b for a, b in zip(e2e, mirror)]
print(f"\n== host daemon: {args.host}{args.label}")
print(f"  API swap, PUT -> attachment on new volume   median {med(e2e):7.1f} ms")
print(f"  mirror job's own time (mirror -> COMPLETED) median {med(mirror):7.1f} ms")
print(f"  overhead (end to end - mirror)              median {med(over):7.1f} ms  "
      f"max {max(over):.1f} ms  (target <= 100 ms)")
print(f"  worker start -> DONE (server side)          median {med(server_total):7.1f} ms")
print(f"  pivot (block-job-complete -> COMPLETED)     median {med(pivots):7.1f} ms")
peer = "the same copy by hand through virsh" if args.virsh_dom else "the same mirror over raw QMP"
print(f"  peer: {peer:38s} median {med(raws):7.1f} ms")
print(f"  ratio API end to end / {'virsh' if args.virsh_dom else 'raw QMP':20s} {med(e2e) / med(raws):.2f}")

ios, swaps = guest_session() if args.guest_console else consumer_session()
during = [longest(ios, s["t0"], s["t1"]) for s in swaps]
before = [longest(ios, s["t0"] - 0.05 - (s["t1"] - s["t0"]), s["t0"] - 0.05) for s in swaps]
ratios = [d / b for d, b in zip(during, before) if b > 0]
if args.guest_console:
    print(f"  consumer (a Linux guest under TCG writing 4k blocks with O_DIRECT, one dd each, "
          f"{len(swaps)} swaps back and forth; write = time between two acknowledgements):")
else:
    print(f"  consumer (fio randwrite 4k qd1 via NBD, {len(swaps)} swaps back and forth under one fio run):")
print(f"    longest write during a swap     median {med(during):6.2f} ms  (each: "
      + " ".join(f"{x:.1f}" for x in during) + ")")
print(f"    ... in as long a window before  median {med(before):6.2f} ms  (each: "
      + " ".join(f"{x:.1f}" for x in before) + ")")
print(f"    ratio of the medians {med(during) / med(before):.2f}, median of the ratios "
      f"{med(ratios):.2f}  (target <= 2)")
if args.summary:
    with open(args.summary, "a") as f:
        f.write(json.dumps({"host": args.host + args.label, "overhead_ms": med(over),
                            "during_ms": med(during), "before_ms": med(before),
                            "ratio": med(ratios) if ratios else None,
                            "pivot_ms": med(pivots)}) + "\n")
rows, order, firsts, holds, readys = breakdown(ios, swaps)
if firsts:
    print(f"    block-job-complete -> first guest write done on the target  median "
          f"{med(firsts):.2f} ms  (target <= 1 ms)")
if holds:
    print(f"    guests held (quiesce -> release on the target)             median "
          f"{med(holds):.2f} ms")
if readys:
    print(f"    blockdev-mirror -> READY                                   median "
          f"{med(readys):.1f} ms")
if paced:
    # The pacer's cost in the same swap: READY against READY less the time
    # copies were held back (mirror-pace.c bounds it at 1.5).
    cost = [r / (r - h) for h, r in paced if r > h]
    print(f"    copies held back by the pacer                              median "
          f"{med([h for h, _ in paced]):.1f} ms; READY / READY without the pauses "
          f"median {med(cost):.2f} max {max(cost):.2f}  (bound 1.5)")
def where(ios, sw):
    """The longest write of a swap: its latency and the phase (pair of
    trace marks) it started in."""
    inside = [io for io in ios if io[1] >= sw["t0"] and io[0] <= sw["t1"]]
    if not inside:
        return None
    s_, e, lat = max(inside, key=lambda io: io[2])
    marks = fold_queries(sw["trace"] or [])
    name = "before the first mark"
    for a, b in zip(marks, marks[1:] + [None]):
        if wall(a) <= s_ and (b is None or s_ < wall(b)):
            name = f"{mark_name(a)} -> {mark_name(b) if b else 'end'}"
            break
    return lat, name


if any(sw["trace"] for sw in swaps):
    print("    the longest write of each swap, and the phase it started in (fio's clock):")
    for sw in swaps:
        w = where(ios, sw)
        if w:
            print(f"      {w[0]:7.2f} ms  {w[1]}")
if args.heavy:
    print("  swaps under fio's heaviest write loads (PUT -> DONE, each; w: switched to write-through):")
    for rw, bs, depth in (("randwrite", "4k", 32), ("write", "1M", 8)):
        res, bw = heavy_session(rw, bs, depth)
        print(f"    {rw} {bs} qd{depth} ({bw:.0f} MiB/s): median {med([r[0] for r in res]):.0f} ms  (each: "
              + " ".join(f"{r[0]:.0f}{'w' if r[1] else ''}" for r in res) + ")")
if rows:
    print("    phases (volswapd's trace; medians over the swaps): length, longest guest write "
          "volswapd completed in it, longest fio write in flight during it (ms)")
    for key in order:
        v = rows[key]
        if len(v) * 2 < len(swaps):
            continue
        print(f"      {key:60s} {med([x[0] for x in v]):8.2f} {med([x[1] for x in v]):7.2f} "
              f"{med([x[2] for x in v]):7.2f}")
