#!/usr/bin/python3
# A monitor client that sends half a command and stops, and one that sends
# commands but never reads (the server stops reading it), block nobody: another monitor client is
# answered and an NBD client reads and writes meanwhile (all monitor I/O is
# asynchronous on the daemon's one event loop).
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only(qmp.MULTI)
tmp = lib.tmpdir()
d, c, sock, a = qmp.exported_volume(tmp)
half = d.client()
half.send_raw('{"execute": "query-named-block-nodes", "argum')
deaf = d.client()
# It sends until the server stops reading it (its replies are not read, so
# its output queue fills and the server pauses its input): the socket then
# refuses more, which is the backpressure working.
deaf.sock.setblocking(False)
msg = b'{"execute": "query-commands"}\n'
pushed_back = False
for _ in range(200000):
    try:
        deaf.sock.send(msg)
    except BlockingIOError:
        pushed_back = True
        break
check(pushed_back, "the server kept reading a client that never reads its replies")
qmp.nbd_still_serves(sock, "n0", "NBD I/O blocked by a stalled monitor client")
check(len(c.ok("query-named-block-nodes")) == 1, "monitor blocked by a stalled client")
half.send_raw('ents": {}}\n')
check(len(half.reply()["return"]) == 1, "the half-sent command was not completed")
