#!/usr/bin/python3
# Nothing secret reaches volswapd's log, even with -v: not a PSK key (its
# own server's, a refused client's wrong one, or one in a file given to
# object-add), not a line of a private key, however the TLS clients and
# QMP commands that handle them succeed or fail.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ops
from ops import lib, qmp, check
qmp.volswapd_only("the test reads volswapd's log")
tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
psk_dir = os.path.join(pki, "psk")
with open(os.path.join(psk_dir, "keys.psk")) as f:
    user, key = f.read().strip().split(":")
wrong = os.path.join(tmp, "wrong.psk")
wrong_key = "ab" * 32
with open(wrong, "w") as f:
    f.write("%s:%s\n" % (user, wrong_key))
other_dir = os.path.join(tmp, "other")
os.mkdir(other_dir)
other_key = "cd" * 32
with open(os.path.join(other_dir, "keys.psk"), "w") as f:
    f.write("bob:%s\n" % other_key)

d = lib.Daemon(tmp)
d.blockdev("a", lib.sparse_file(tmp, "a.img", 1 << 20))
d.export("a", writable=True)
monitor = os.path.join(tmp, "qmp.sock")
d.start(tls="tls-creds-psk,id=tls0,dir=%s,endpoint=server" % psk_dir,
        extra=["--monitor", monitor, "-v", "--log-format", "json"])
h = lib.connect(d, "a", psk=(os.path.join(psk_dir, "keys.psk"), user))
h.pwrite(b"secret-free", 0)
h.shutdown()
try:
    lib.connect(d, "a", psk=(wrong, user))
    lib.fail("a client with the wrong key was let in")
except Exception:
    pass
c = qmp.Client(monitor)
c.ok("object-add", {"qom-type": "tls-creds-psk", "id": "p2", "dir": other_dir,
                    "endpoint": "server"})
c.cmd("object-add", {"qom-type": "tls-creds-psk", "id": "p3", "dir": other_dir,
                     "endpoint": "client", "username": "nobody"})
c.cmd("object-add", {"qom-type": "tls-creds-x509", "id": "x1", "dir": pki,
                     "endpoint": "server"})
c.cmd("blockdev-add", {"driver": "nbd", "node-name": "remote", "export": "a",
                       "server": {"type": "unix", "path": d.sock}, "tls-creds": "p3"})
c.close()
check(d.stop() == 0, "did not exit 0")
log_text = d.log_text()
check("QMP: object-add" in log_text, "the commands were not logged at all:\n" + log_text)
for name, secret in (("server PSK", key), ("wrong PSK", wrong_key), ("object-add PSK", other_key)):
    check(secret not in log_text and secret.upper() not in log_text,
          "the %s is in the log:\n%s" % (name, log_text))
for pem in ("server-key.pem", "client-key.pem"):
    path = os.path.join(pki, pem)
    if os.path.exists(path):
        for line in open(path).read().splitlines():
            if len(line) > 16 and "-----" not in line:
                check(line not in log_text, "a line of %s is in the log" % pem)
check("PRIVATE KEY" not in log_text, "a private key is in the log")
