#!/usr/bin/python3
# Under systemd (Type=notify) volswapd says READY=1 on the NOTIFY_SOCKET
# it is given only once its sockets listen and its state file is restored:
# at the moment the notification arrives the monitor answers and the
# restored export serves. STOPPING=1 comes at SIGTERM.
import os, socket, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ops
from ops import lib, qmp, check
qmp.volswapd_only("the test drives volswapd's own notification")
tmp = lib.tmpdir()
img = lib.sparse_file(tmp, "a.img", 1 << 20)
state = os.path.join(tmp, "state.json")
# First run: build the state through QMP, then stop.
d = qmp.MonitorDaemon(tmp, state=state).start()
c = d.client()
qmp.file_node(c, "a", img)
sock = qmp.start_nbd(c, tmp)
c.ok("block-export-add", type="nbd", id="a", writable=True, **{"node-name": "a"})
c.close()
check(d.stop() == 0, "first run did not exit 0")

notify_path = os.path.join(tmp, "notify.sock")
ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
ns.bind(notify_path)
ns.settimeout(30)    # fail-safe, not a timing assertion
os.environ["NOTIFY_SOCKET"] = notify_path
d2 = qmp.MonitorDaemon(tmp, state=state)
d2.proc = None
argv = d2.argv()
lib.log("starting: " + " ".join(argv))
d2.logf = open(d2.logfile, "ab")
d2.proc = subprocess.Popen(argv, stdout=d2.logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
del os.environ["NOTIFY_SOCKET"]
msg = ns.recv(4096).decode()
lines = msg.split("\n")
check("READY=1" in lines, "first notification is %r" % msg)
check("MAINPID=%d" % d2.proc.pid in lines, "no MAINPID=%d in %r" % (d2.proc.pid, msg))
# Ready means ready: no waiting from here on.
c2 = qmp.Client(d2.qmp_path)
exports = c2.ok("query-block-exports")
check([e["id"] for e in exports] == ["a"], "restored exports: %r" % exports)
h = qmp.nbd_connect(sock, "a")
h.pwrite(b"ready", 0)
h.shutdown()
c2.close()
d2.proc.send_signal(15)
msg = ns.recv(4096).decode()
check("STOPPING=1" in msg.split("\n"), "at SIGTERM: %r" % msg)
check(d2.proc.wait(timeout=30) == 0, "did not exit 0")
