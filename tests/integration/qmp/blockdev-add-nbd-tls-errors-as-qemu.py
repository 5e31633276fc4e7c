#!/usr/bin/python3
"""blockdev-add driver=nbd with tls-creds in one scripted session against
qemu-storage-daemon (the reference) and volswapd, the remote servers being
two volswapds (one requiring x509 TLS, one plaintext) on TCP: tls-creds
naming no object is "No TLS credentials with id 'x'", server-endpoint
credentials are "Expected TLS credentials for a client endpoint", an
authz object is "Object with id 'az' is not TLS credentials" (the same
descriptions); a node without tls-creds to the TLS server, a node with
creds to the plaintext server and a tls-hostname the certificate does not
carry all fail to open (GenericError both; the descriptions are QEMU's
own and are not compared); no node is left behind by any failure; client
creds to the TLS server open, alone and with tls-hostname equal to
server.host, and read the remote volume. Skips if qemu-storage-daemon is
not installed."""
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.both_servers()
shared = lib.tmpdir()
pki = lib.tls_certs(shared)
tls_img = lib.sparse_file(shared, "tls.img", 1 << 20)
lib.write_at(tls_img, 0, b"remote over tls")
plain_img = lib.sparse_file(shared, "plain.img", 1 << 20)
tls_far = lib.Daemon(shared)
tls_far.blockdev("vol", tls_img)
tls_far.export("vol", writable=True)
tls_far.start(tcp=True, tls="tls-creds-x509,id=tls0,dir=%s,endpoint=server" % pki)
plain_far = lib.Daemon(shared)
plain_far.blockdev("vol", plain_img)
plain_far.export("vol", writable=True)
plain_far.start(tcp=True)


def session(impl):
    tmp, d, c = qmp.session_on(impl)
    out = []

    def inet(far):
        return {"type": "inet", "host": "127.0.0.1", "port": str(far.port)}

    def add(node, far, compare_desc=True, **opts):
        args = dict(opts, driver="nbd", export="vol", server=inet(far), **{"node-name": node})
        r = c.cmd("blockdev-add", args)
        if "error" in r:
            desc = r["error"]["desc"] if compare_desc else "(not compared)"
            out.append((node, opts, "error", r["error"]["class"], desc))
        else:
            out.append((node, opts, "return", r["return"]))
        return r

    c.ok("object-add", **{"qom-type": "tls-creds-x509", "id": "cli", "dir": pki,
                          "endpoint": "client"})
    c.ok("object-add", **{"qom-type": "tls-creds-x509", "id": "srv", "dir": pki,
                          "endpoint": "server"})
    c.ok("object-add", **{"qom-type": "authz-simple", "id": "az", "identity": "x"})
    add("missing", tls_far, **{"tls-creds": "x"})
    add("server-creds", tls_far, **{"tls-creds": "srv"})
    add("authz", tls_far, **{"tls-creds": "az"})
    no_creds = add("no-creds", tls_far, False)
    to_plain = add("to-plain", plain_far, False, **{"tls-creds": "cli"})
    wrong_host = add("wrong-host", tls_far, False,
                     **{"tls-creds": "cli", "tls-hostname": "wrong.example"})
    out.append(("nodes after failures", sorted(n["node-name"] for n in
                                                c.ok("query-named-block-nodes"))))
    add("ok", tls_far, **{"tls-creds": "cli"})
    add("ok-host", tls_far, **{"tls-creds": "cli", "tls-hostname": "127.0.0.1"})
    out.append(("nodes", sorted(n["node-name"] for n in c.ok("query-named-block-nodes"))))
    # read what the remote holds through the node: export it in plaintext
    sock = qmp.start_nbd(c, tmp)
    c.ok("block-export-add", type="nbd", id="e0", name="e0", **{"node-name": "ok"})
    h = qmp.nbd_connect(sock, "e0")
    out.append(("read", h.pread(15, 0)))
    h.shutdown()
    descs = [r["error"]["desc"].replace(str(tls_far.port), "PORT")
             .replace(str(plain_far.port), "PORT") for r in (no_creds, to_plain, wrong_host)]
    return out, descs


ref, ref_descs = session("qsd")
ours, our_descs = session("volswapd")
lib.log("open failures (qsd / volswapd):\n" + "\n".join(
    "  %s\n  %s" % pair for pair in zip(ref_descs, our_descs)))
diffs = ["\n  qemu-storage-daemon %r\n  volswapd            %r" % (a, b)
         for a, b in zip(ref, ours) if a != b]
check(not diffs, "%d step(s) differ:%s" % (len(diffs), "".join(diffs)))
qmp.same_steps(ref, ours)
check(("read", b"remote over tls") in ours, "read through the TLS node: %r" % ours)
print("ok")
