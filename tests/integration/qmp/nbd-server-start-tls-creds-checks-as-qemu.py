#!/usr/bin/python3
"""nbd-server-start's checks of tls-creds in one scripted session against
qemu-storage-daemon (the reference) and volswapd: the same replies, error
classes and descriptions. tls-creds naming no object (also the empty id),
an authz-simple object, and client-endpoint credentials (explicit, and by
default) are refused, and nothing is left running (block-export-add still
finds no server); server credentials start the server, and a second start
is "NBD server already running" (with and without tls-creds). A libnbd
TLS client with the certificates then reads the export. Skips if
qemu-storage-daemon is not installed."""
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.both_servers()
certs = lib.tmpdir()
pki = lib.tls_certs(certs)


Remote = lib.SocketAddr


def session(impl):
    tmp, d, c = qmp.session_on(impl)
    img = lib.sparse_file(tmp, "a.img", 1 << 20)
    lib.write_at(img, 0, b"tls export data")
    out = []

    def step(cmd_, **args):
        r = c.cmd(cmd_, args)
        args = json.dumps(args, sort_keys=True).replace(tmp, "TMP")
        if "error" in r:
            out.append((cmd_, args, "error", r["error"]["class"],
                        r["error"]["desc"].replace(tmp, "TMP")))
        else:
            out.append((cmd_, args, "return", r["return"]))

    sock = os.path.join(tmp, "nbd.sock")
    addr = {"type": "unix", "data": {"path": sock}}
    qmp.file_node(c, "n0", img)
    c.ok("object-add", **{"qom-type": "tls-creds-x509", "id": "srv", "dir": pki,
                          "endpoint": "server"})
    c.ok("object-add", **{"qom-type": "tls-creds-x509", "id": "cli", "dir": pki,
                          "endpoint": "client"})
    c.ok("object-add", **{"qom-type": "tls-creds-x509", "id": "cli-default", "dir": pki})
    c.ok("object-add", **{"qom-type": "authz-simple", "id": "az",
                          "identity": "O=Test Org,CN=client"})
    step("nbd-server-start", addr=addr, **{"tls-creds": "missing"})
    step("nbd-server-start", addr=addr, **{"tls-creds": ""})
    step("nbd-server-start", addr=addr, **{"tls-creds": "az"})
    step("nbd-server-start", addr=addr, **{"tls-creds": "cli"})
    step("nbd-server-start", addr=addr, **{"tls-creds": "cli-default"})
    step("block-export-add", type="nbd", id="e0", **{"node-name": "n0"})
    step("nbd-server-start", addr=addr, **{"tls-creds": "srv"})
    step("nbd-server-start", addr=addr, **{"tls-creds": "srv"})
    step("nbd-server-start", addr={"type": "unix", "data": {"path": sock + "2"}})
    step("block-export-add", type="nbd", id="e0", name="e0", **{"node-name": "n0"})
    h = lib.connect(Remote(sock), "e0", tls=pki)
    out.append(("tls negotiated", h.get_tls_negotiated(), h.pread(15, 0)))
    h.shutdown()
    step("nbd-server-stop")
    step("nbd-server-stop")
    return out


ref = session("qsd")
ours = session("volswapd")
diffs = ["\n  qemu-storage-daemon %r\n  volswapd            %r" % (a, b)
         for a, b in zip(ref, ours) if a != b]
check(not diffs, "%d step(s) differ:%s" % (len(diffs), "".join(diffs)))
qmp.same_steps(ref, ours)
check(("tls negotiated", True, b"tls export data") in ours, "TLS client: %r" % ours)
print("ok")
