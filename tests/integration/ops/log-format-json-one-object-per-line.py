#!/usr/bin/python3
# --log-format json: every line volswapd logs is one JSON object with
# time, level, program, pid and msg, also for a message carrying quotes,
# a backslash and a newline (a QMP command name a client made up).
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ops
from ops import lib, qmp, check
qmp.volswapd_only("qemu-storage-daemon has no --log-format")
tmp = lib.tmpdir()
d = qmp.MonitorDaemon(tmp, extra=["--log-format", "json", "-v"]).start()
c = d.client()
odd = 'q"uo\\te\nnl\u00e9'
c.cmd(odd, req_id="req-1")
c.close()
check(d.stop() == 0, "did not exit 0")
with open(d.logfile, "rb") as f:
    raw = f.read()
lines = [l for l in raw.split(b"\n") if l]
check(lines, "nothing logged")
for l in lines:
    try:
        rec = json.loads(l.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        lib.fail("not a JSON line (%s): %r" % (e, l))
    for k in ("time", "level", "program", "pid", "msg"):
        check(k in rec, "no %s in %r" % (k, rec))
    check(rec["program"] == "volswapd" and rec["pid"] == d.proc.pid, "record %r" % rec)
msgs = [json.loads(l)["msg"] for l in lines]
check("signal 15: shutting down" in msgs, "shutdown not logged: %r" % raw)
check('QMP: %s (id "req-1")' % odd in msgs, "command not logged as sent: %r" % msgs)
rc = qmp.MonitorDaemon(tmp, extra=["--log-format", "xml"]).start(expect_fail=True)
check(rc == 1, "--log-format xml exits %r, not 1" % rc)
