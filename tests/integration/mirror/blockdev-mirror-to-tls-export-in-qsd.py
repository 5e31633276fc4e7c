#!/usr/bin/python3
"""The mirror target is a volume exported by qemu-storage-daemon over
TLS (x509, verify-peer at its default: the client must present a
certificate from the CA), opened as an nbd node with client credentials
(tls-creds-x509, endpoint client, the directory holding the client
certificate) over TCP. A libnbd guest writes, zeroes and trims the
exported source all through the job; READY, block-job-complete, the
export moves to the target and the guest goes on there. Afterwards
qemu-storage-daemon's file holds every byte the guest's acknowledged
requests define (except where a trim left it open). Skips if
qemu-storage-daemon is not installed."""
import os, shutil, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import check, lib, qmp, pivot_under_guest

if not shutil.which("qemu-storage-daemon"):
    lib.skip("qemu-storage-daemon not installed")
SIZE = 32 << 20
tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
src = lib.sparse_file(tmp, "src.img", SIZE)
lib.write_at(src, 0, lib.random_bytes(SIZE // 2, 61))
remote = lib.sparse_file(tmp, "remote.img", SIZE)

with lib.as_impl("qsd"):  # whatever the implementation under test
    far = lib.Daemon(tmp)
    far.blockdev("vol", remote)
    far.export("vol", writable=True)
    far.start(tcp=True, tls="tls-creds-x509,id=tls0,dir=%s,endpoint=server" % pki)

near = qmp.MonitorDaemon(tmp).start()
c = near.client()
qmp.file_node(c, "src", src)
c.ok("object-add", **{"qom-type": "tls-creds-x509", "id": "cli", "dir": pki,
                      "endpoint": "client"})
c.ok("blockdev-add", driver="nbd", export="vol", **{
    "node-name": "tgt", "tls-creds": "cli",
    "server": {"type": "inet", "host": "127.0.0.1", "port": str(far.port)}})
g, sock = pivot_under_guest(c, tmp, src, SIZE)
near.stop()
check(far.stop() == 0, "qemu-storage-daemon did not exit cleanly")
with open(remote, "rb") as f:
    got = f.read()
bad = g.mismatches(got)
check(not bad, "%d sectors of qemu-storage-daemon's file differ from the guest's model, "
      "the first at offset %r" % (len(bad), bad[:4]))
print("ok")
