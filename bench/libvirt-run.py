#!/usr/bin/python3
"""bench/libvirt's measuring half: one host, one guest. The guest's writer
(bench/libvirt-writer.c) prints each 4 KiB O_DIRECT write's start and
latency in the guest's clock; this follows the console, swaps the guest's
volume back and forth through volswap-api, and sets the writes in flight
during each swap against those of an equally long quiet window just
before it. Appends a summary line (JSON) for bench/libvirt's table."""
import argparse, json, math, statistics, threading, time

from rest import Api

p = argparse.ArgumentParser()
for a in ("url", "token", "server", "old", "new", "console", "label", "summary"):
    p.add_argument("--" + a, required=True)
p.add_argument("--swaps", type=int, default=5)
args = p.parse_args()
http = Api(args.url, args.token).call


def api_swap(sid, old, new):
    """PUT, then until the swap's record is over; its outcome."""
    st, _ = http("PUT", f"/v2.1/servers/{sid}/os-volume_attachments/{old}",
                 {"volumeAttachment": {"volumeId": new}})
    assert st == 202, st
    for _ in range(60000):
        _, r = http("GET", f"/v2.1/servers/{sid}/os-volume_attachments/{old}/swap-progress")
        if r["swap_progress"]["state"] != "running":
            return r["swap_progress"]
        time.sleep(0.005)
    raise SystemExit("bench/libvirt: the swap did not end")


writes, errors, stop = [], [], threading.Event()


def follow():
    """Each write as (arrival here, guest start s, latency ms)."""
    with open(args.console, "rb") as f:
        buf = b""
        while not stop.is_set():
            chunk = f.read()
            if not chunk:
                time.sleep(0.001)
                continue
            buf += chunk
            *lines, buf = buf.split(b"\n")
            now = time.time()
            for l in lines:
                parts = l.split()
                if len(parts) == 4 and parts[0] == b"w":
                    writes.append((now, int(parts[2]) / 1e6, int(parts[3]) / 1000.0))
                elif l.startswith(b"ioerr"):
                    errors.append(l)


th = threading.Thread(target=follow, daemon=True)
th.start()
for _ in range(6000):
    if len(writes) > 500:
        break
    time.sleep(0.1)
else:
    raise SystemExit("bench/libvirt: the guest does not write")
time.sleep(3)
swaps, progress, cur, other, gap = [], [], args.old, args.new, 3.0
for i in range(args.swaps):
    time.sleep(gap)
    t0 = time.time()
    pr = api_swap(args.server, cur, other)
    t1 = time.time()
    if pr["state"] != "completed":
        raise SystemExit(f"bench/libvirt: swap {i + 1} ended {pr['state']}: {pr.get('error')}")
    swaps.append((t0, t1))
    progress.append(pr)
    cur, other = other, cur
    gap = max(3.0, 1.5 * (t1 - t0))
time.sleep(2)
stop.set()
th.join()
if errors:
    raise SystemExit(f"bench/libvirt: the guest saw I/O errors: {errors[:3]}")

# The guest's clock against ours: a line arrives after its write ended, so
# the smallest (arrival - end) over all lines is the offset, to within the
# fastest console delivery.
offset = min(a - (s + lat / 1000.0) for a, s, lat in writes)
ios = [(s + offset, s + offset + lat / 1000.0, lat) for a, s, lat in writes]


def in_flight(t0, t1):
    return [lat for s, e, lat in ios if e >= t0 and s <= t1]


def p99(xs):
    xs = sorted(xs)
    return xs[max(0, math.ceil(0.99 * len(xs)) - 1)]


during, before, per_max_d, per_max_b = [], [], [], []
for t0, t1 in swaps:
    d = in_flight(t0, t1)
    b = in_flight(t0 - 0.05 - (t1 - t0), t0 - 0.05)
    during += d
    before += b
    if d and b:
        per_max_d.append(max(d))
        per_max_b.append(max(b))
if not during or not before:
    raise SystemExit("bench/libvirt: no write during or before the swaps")
swap_s = statistics.median([t1 - t0 for t0, t1 in swaps])
row = {"host": args.label, "swaps": len(swaps), "swap_s": swap_s,
       "n_during": len(during), "n_before": len(before),
       "max_during": max(during), "max_before": max(before),
       "p99_during": p99(during), "p99_before": p99(before),
       "median_during": statistics.median(during), "median_before": statistics.median(before),
       "max_ratio": max(during) / max(before), "p99_ratio": p99(during) / p99(before),
       "per_swap_max_ratio": statistics.median([d / b for d, b in zip(per_max_d, per_max_b)]),
       "pivot_ms": statistics.median([x["pivot_pause_ms"] for x in progress
                                      if isinstance(x.get("pivot_pause_ms"), (int, float))] or [0])
       or None}
print(f"\n== {args.label}: {len(swaps)} swaps (median {swap_s:.2f} s, PUT to the record's end), "
      f"{len(writes)} guest writes")
def med_field(k):
    xs = [x[k] for x in progress if isinstance(x.get(k), (int, float))]
    return f"{statistics.median(xs):.0f} ms" if xs else "-"


print(f"   the swap's own figures (medians): copy {med_field('mirror_ms')}, "
      f"READY {med_field('ready_ms')}, pivot {med_field('pivot_pause_ms')}")
print(f"   writes in flight during a swap   {len(during):6d}: max {row['max_during']:8.2f} ms  "
      f"p99 {row['p99_during']:7.2f} ms  median {row['median_during']:6.3f} ms")
print(f"   ... in as long a window before   {len(before):6d}: max {row['max_before']:8.2f} ms  "
      f"p99 {row['p99_before']:7.2f} ms  median {row['median_before']:6.3f} ms")
print(f"   during / before: max {row['max_ratio']:.2f}, p99 {row['p99_ratio']:.2f}, "
      f"median over swaps of each swap's max ratio {row['per_swap_max_ratio']:.2f}")
with open(args.summary, "a") as f:
    f.write(json.dumps(row) + "\n")
