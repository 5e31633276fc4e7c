#!/usr/bin/python3
"""A guest reads and writes a remote volume through this daemon: an nbd
node with tls-creds (x509 client credentials) and reconnect-delay, to a
second daemon whose NBD server requires TLS, exported again over NBD. The
remote daemon is killed (SIGKILL) and restarted from its state file (which
brings back its credentials and its TLS-only server) while the guest's
write is in the air: the node connects again with TLS, the write runs on
the new connection, the guest sees no error and reads back everything it
wrote; the remote file holds it."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check
qmp.volswapd_only("needs two daemons of the implementation under test")
tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
remote = lib.sparse_file(tmp, "remote.img", 1 << 20)
far = qmp.MonitorDaemon(tmp, state=os.path.join(tmp, "far-state.json")).start()
fc = far.client()
fc.ok("object-add", **{"qom-type": "tls-creds-x509", "id": "srv", "dir": pki,
                       "endpoint": "server"})
qmp.file_node(fc, "n0", remote)
fsock = os.path.join(tmp, "far-nbd.sock")
fc.ok("nbd-server-start", addr={"type": "unix", "data": {"path": fsock}}, **{"tls-creds": "srv"})
fc.ok("block-export-add", type="nbd", id="e0", writable=True, **{"node-name": "n0"})
fc.close()

d = qmp.MonitorDaemon(tmp).start()
c = d.client()
c.ok("object-add", **{"qom-type": "tls-creds-x509", "id": "cli", "dir": pki,
                      "endpoint": "client"})
c.ok("blockdev-add", driver="nbd", server={"type": "unix", "path": fsock}, export="n0",
     **{"node-name": "rv", "tls-creds": "cli", "reconnect-delay": 30})
sock = os.path.join(tmp, "near-nbd.sock")
c.ok("nbd-server-start", addr={"type": "unix", "data": {"path": sock}})
c.ok("block-export-add", type="nbd", id="g0", writable=True, **{"node-name": "rv"})
h = qmp.nbd_connect(sock, "rv")

before, during = qmp.guest_writes_through_remote_restart(far, d, h, seed=91)
with open(remote, "rb") as f:
    got = f.read()
check(got[:65536] == before and got[128 << 10:(128 << 10) + 65536] == during,
      "the remote file lacks what the guest wrote")
print("ok")
