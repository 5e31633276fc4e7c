#!/usr/bin/python3
"""The mirror target is a volume exported by a second daemon (another host
in production) whose NBD server requires TLS with a pre-shared key
(tls-creds-psk, endpoint server), opened as an nbd node over its unix
socket with tls-creds-psk,endpoint=client,username=alice. A libnbd guest
writes, zeroes and trims the exported source all through the job; READY,
block-job-complete, the export moves to the target and the guest goes on
there. Afterwards the remote daemon's file holds every byte the guest's
acknowledged requests define (except where a trim left it open), and the
source has none of what the guest wrote after the pivot."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirror_helpers import check, lib, qmp, pivot_under_guest

SIZE = 32 << 20
tmp = lib.tmpdir()
pki = lib.tls_certs(tmp)
psk = os.path.join(pki, "psk")
src = lib.sparse_file(tmp, "src.img", SIZE)
lib.write_at(src, 0, lib.random_bytes(SIZE // 2, 71))
remote = lib.sparse_file(tmp, "remote.img", SIZE)
far = lib.Daemon(tmp)
far.blockdev("vol", remote)
far.export("vol", writable=True)
far.start(tls="tls-creds-psk,id=tls0,dir=%s,endpoint=server" % psk)

near = qmp.MonitorDaemon(tmp).start()
c = near.client()
qmp.file_node(c, "src", src)
c.ok("object-add", **{"qom-type": "tls-creds-psk", "id": "cli", "dir": psk,
                      "endpoint": "client", "username": "alice"})
c.ok("blockdev-add", driver="nbd", export="vol", server={"type": "unix", "path": far.sock},
     **{"node-name": "tgt", "tls-creds": "cli"})
g, sock = pivot_under_guest(c, tmp, src, SIZE)
# one write after the pivot, to tell the two files apart
h = qmp.nbd_connect(sock, "src")
h.pwrite(b"after the pivot!" * 256, 4096)
h.flush()
h.shutdown()
g.model[4096:8192] = b"after the pivot!" * 256
g.defined[4096:8192] = b"\1" * 4096
near.stop()
far.stop()
with open(remote, "rb") as f:
    got = f.read()
bad = g.mismatches(got)
check(not bad, "%d sectors of the remote file differ from the guest's model, "
      "the first at offset %r" % (len(bad), bad[:4]))
with open(src, "rb") as f:
    f.seek(4096)
    check(f.read(4096) != b"after the pivot!" * 256, "a write after the pivot reached the source")
print("ok")
