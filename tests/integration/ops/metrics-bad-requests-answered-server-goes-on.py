#!/usr/bin/python3
# The metrics listener answers what it does not serve with a status (400
# garbage, 405 POST, 404 other paths, 431 an endless head) and goes on
# serving scrapes and NBD clients.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ops
from ops import lib, qmp, check
qmp.volswapd_only("qemu-storage-daemon has no --metrics")
tmp = lib.tmpdir()
metrics = os.path.join(tmp, "metrics.sock")
d = lib.Daemon(tmp)
d.blockdev("a", lib.sparse_file(tmp, "a.img", 1 << 20))
d.export("a", writable=True)
d.start(extra=["--metrics", "unix:" + metrics])
cases = [
    (b"\x00\x01garbage\r\n\r\n", 400),
    (b"GET metrics HTTP/1.1\r\n\r\n", 400),
    (b"GET /metrics HTTP/2.0\r\n\r\n", 400),
    (b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405),
    (b"GET /other HTTP/1.1\r\n\r\n", 404),
    (b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n", 431),
]
for req, want in cases:
    status, _ = ops.http(metrics, req)
    check(status == want, "%r answered %d, want %d" % (req[:30], status, want))
status, body = ops.http(metrics, b"HEAD /metrics HTTP/1.0\r\n\r\n")
check(status == 200 and body == b"", "HEAD: %d with %d bytes of body" % (status, len(body)))
check(ops.value(ops.scrape(metrics), "volswap_build_info{version=\"%s\"}" %
                open(os.path.join(os.environ.get("VOLSWAP_SRC", "."), "meson.build")).read()
                .split("version: '")[1].split("'")[0]) == 1, "no build info")
lib.still_serves(d, "a")
