#!/usr/bin/python3
"""bench/swap's measuring half (bench/swap sets up the API, host daemon and
volumes, then runs this). Times swaps through volswap-api against the same
mirror driven over raw QMP, and fio's longest write pause with and without a
swap. Prints medians and ratios."""
import argparse, json, os, socket, statistics, subprocess, time, urllib.request

p = argparse.ArgumentParser()
for a in ("url", "token", "pairs", "qmp", "raw-dir", "fio-uri", "fio-server", "fio-old",
          "fio-new", "host"):
    p.add_argument("--" + a, required=True)
p.add_argument("--runs", type=int, default=5)
args = p.parse_args()


def http(method, path, body=None, version="2.79"):
    req = urllib.request.Request(args.url + path, method=method,
                                 data=json.dumps(body).encode() if body else None,
                                 headers={"X-Auth-Token": args.token,
                                          "Content-Type": "application/json",
                                          "OpenStack-API-Version": "compute " + version})
    with urllib.request.urlopen(req) as r:
        data = r.read()
        return r.status, json.loads(data) if data else None


def api_swap(sid, old, new):
    """PUT -> the attachment lists NEW. Returns (e2e_ms, progress)."""
    t0 = time.monotonic()
    st, _ = http("PUT", f"/v2.1/servers/{sid}/os-volume_attachments/{old}",
                 {"volumeAttachment": {"volumeId": new}})
    assert st == 202, st
    while True:
        _, r = http("GET", f"/v2.1/servers/{sid}/os-volume_attachments")
        if [a["volumeId"] for a in r["volumeAttachments"]] == [new]:
            break
        time.sleep(0.001)
    e2e = (time.monotonic() - t0) * 1000
    for _ in range(2000):   # the record is DONE a moment after the attachment moves
        _, r = http("GET", f"/v2.1/servers/{sid}/os-volume_attachments/{new}/swap-progress")
        if r["swap_progress"]["state"] != "running":
            return e2e, r["swap_progress"]
        time.sleep(0.002)
    raise SystemExit("swap did not finish")


class QMP:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rw")
        self.f.readline()
        self.cmd("qmp_capabilities")

    def cmd(self, name, **kw):
        self.f.write(json.dumps({"execute": name, "arguments": kw}) + "\n")
        self.f.flush()
        while True:
            m = json.loads(self.f.readline())
            if "return" in m:
                return m["return"]
            if "error" in m:
                raise RuntimeError(m["error"])

    def wait(self, event):
        while True:
            m = json.loads(self.f.readline())
            if m.get("event") == event:
                return m

    def close(self):
        self.s.close()


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


def fio_max_lat_ms(during_swap):
    cmd = ["fio", "--name=consumer", "--ioengine=nbd", "--uri=" + args.fio_uri,
           "--rw=randwrite", "--bs=4k", "--iodepth=1", "--size=256M", "--time_based",
           "--runtime=2", "--output-format=json"]
    f = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if during_swap:
        time.sleep(0.7)
        api_swap(args.fio_server, args.fio_old, args.fio_new)
    out, _ = f.communicate()
    out = out[out.index(b"{"):]     # the nbd engine prints a line before the JSON
    w = json.loads(out)["jobs"][0]["write"]
    return w["lat_ns"]["max"] / 1e6, w["iops"]


pairs = [l.split() for l in open(args.pairs)]
e2e, mirror, server_total, pivots, raws = [], [], [], [], []
for i, (sid, old, new) in enumerate(pairs[:args.runs]):
    ms, pr = api_swap(sid, old, new)
    e2e.append(ms)
    mirror.append(pr["mirror_ms"])
    server_total.append(pr["total_ms"])
    pivots.append(pr["pivot_pause_ms"])
    raws.append(raw_swap(i + 1))
med = statistics.median
over = [a - b for a, b in zip(e2e, mirror)]
print(f"\n== host daemon: {args.host}")
print(f"  API swap, PUT -> attachment on new volume   median {med(e2e):7.1f} ms")
print(f"  mirror job's own time (mirror -> COMPLETED) median {med(mirror):7.1f} ms")
print(f"  overhead (end to end - mirror)              median {med(over):7.1f} ms  "
      f"max {max(over):.1f} ms  (target <= 100 ms)")
print(f"  worker start -> DONE (server side)          median {med(server_total):7.1f} ms")
print(f"  pivot (block-job-complete -> COMPLETED)     median {med(pivots):7.1f} ms")
print(f"  peer: the same mirror over raw QMP          median {med(raws):7.1f} ms")
print(f"  ratio API end to end / raw QMP              {med(e2e) / med(raws):.2f}")
base_lat, base_iops = fio_max_lat_ms(False)
swap_lat, swap_iops = fio_max_lat_ms(True)
print(f"  consumer (fio randwrite 4k qd1 via NBD), longest write: no swap {base_lat:.2f} ms, "
      f"with a swap {swap_lat:.2f} ms (ratio {swap_lat / base_lat:.1f}); "
      f"IOPS {base_iops:.0f} vs {swap_iops:.0f}")
