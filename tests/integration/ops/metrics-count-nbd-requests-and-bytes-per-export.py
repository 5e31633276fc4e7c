#!/usr/bin/python3
# --metrics counts each export's NBD requests by command, the bytes read
# and written, the latency histogram and the clients, separately per export.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ops
from ops import lib, qmp, check
qmp.volswapd_only("qemu-storage-daemon has no --metrics")
tmp = lib.tmpdir()
metrics = os.path.join(tmp, "metrics.sock")
d = lib.Daemon(tmp)
d.blockdev("a", lib.sparse_file(tmp, "a.img", 1 << 20))
d.blockdev("b", lib.sparse_file(tmp, "b.img", 1 << 20))
d.export("a", writable=True)
d.export("b", writable=True)
d.start(extra=["--metrics", "unix:" + metrics])
h = lib.connect(d, "a")
for i in range(3):
    h.pwrite(b"x" * 65536, i * 65536)
h.pread(4096, 0)
h.flush()
hb = lib.connect(d, "b")
text = ops.scrape(metrics)
want = {
    'volswap_nbd_requests_total{export="a",command="write"}': 3,
    'volswap_nbd_requests_total{export="a",command="read"}': 1,
    'volswap_nbd_requests_total{export="a",command="flush"}': 1,
    'volswap_nbd_requests_total{export="b",command="write"}': 0,
    'volswap_nbd_written_bytes_total{export="a"}': 3 * 65536,
    'volswap_nbd_read_bytes_total{export="a"}': 4096,
    'volswap_nbd_request_duration_seconds_count{export="a"}': 5,
    'volswap_nbd_request_duration_seconds_bucket{export="a",le="+Inf"}': 5,
    'volswap_nbd_export_clients{export="a"}': 1,
    'volswap_nbd_export_clients{export="b"}': 1,
    'volswap_nbd_clients': 2,
    'volswap_nbd_accepted_connections_total': 2,
    'volswap_block_node_size_bytes{node="a"}': 1 << 20,
}
for series, v in want.items():
    got = ops.value(text, series)
    check(got == v, "%s is %r, want %r" % (series, got, v))
h.shutdown()
hb.shutdown()
