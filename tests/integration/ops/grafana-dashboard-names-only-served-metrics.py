#!/usr/bin/python3
# docs/grafana-dashboard.json is valid JSON and every volswap_* metric its
# queries name is one volswapd serves (a family of its exposition, or a
# histogram's _bucket/_sum/_count), so the dashboard cannot drift from the
# daemon.
import json, os, re, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ops
from ops import lib, qmp, check
qmp.volswapd_only("qemu-storage-daemon has no --metrics")
src = os.environ.get("VOLSWAP_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
with open(os.path.join(src, "docs", "grafana-dashboard.json")) as f:
    dash = json.load(f)
exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
exprs += [v.get("query", "") for v in dash["templating"]["list"] if isinstance(v.get("query"), str)]
named = set(re.findall(r"volswap_[a-z0-9_]+", " ".join(exprs)))
check(len(named) >= 5, "the dashboard names only %r" % named)
tmp = lib.tmpdir()
metrics = os.path.join(tmp, "metrics.sock")
d = qmp.MonitorDaemon(tmp, extra=["--metrics", "unix:" + metrics]).start()
text = ops.scrape(metrics)
families = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
served = set(families)
for name, kind in families.items():
    if kind == "histogram":
        served |= {name + "_bucket", name + "_sum", name + "_count"}
unknown = named - served
check(not unknown, "the dashboard queries metrics volswapd does not serve: %s" % ", ".join(sorted(unknown)))
