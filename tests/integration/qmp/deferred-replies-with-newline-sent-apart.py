#!/usr/bin/python3
# A client that sends each command and its newline in two writes (as
# volswap-api's QMP client does) through a run of commands whose replies are
# deferred (blockdev-add of a file opens on the worker pool; with --state,
# every change waits for its save): every command is answered, in order.
# The newline arriving while a reply is deferred once made the next receive
# land one byte off, and the following command was never read.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("the deferral is volswapd's own")
tmp = lib.tmpdir()
a = lib.sparse_file(tmp, "a.img", 1 << 20)
d = qmp.MonitorDaemon(tmp, state=os.path.join(tmp, "state.json")).start()
c = d.client()
qmp.start_nbd(c, tmp)
for i in range(40):
    for name, args in (("blockdev-add", {"driver": "file", "node-name": "n%d" % i,
                                         "filename": a}),
                       ("block-export-add", {"type": "nbd", "id": "e%d" % i,
                                             "node-name": "n%d" % i})):
        c.send_raw('{"execute": "%s", "arguments": %s, "id": %d}'
                   % (name, qmp.json.dumps(args), i))
        c.send_raw("\n")
        r = c.reply()
        check(r.get("id") == i and "return" in r, "%s #%d: %r" % (name, i, r))
check(len(c.ok("query-block-exports")) == 40, "exports missing")
