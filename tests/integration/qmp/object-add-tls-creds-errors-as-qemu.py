#!/usr/bin/python3
"""object-add and object-del of TLS credentials and authz objects in one
scripted session against qemu-storage-daemon (the reference) and volswapd:
the same replies and the same error classes and descriptions word for
word. Covered: x509 server and client credentials that load (and a client
directory holding only the CA), a missing, empty, nonexistent or
non-directory dir, a server dir without server-cert.pem, a bad endpoint, a
duplicate id, an unknown property, verify-peer of the wrong type, a
missing and a bad id, unknown and abstract qom-types, a psk server without
keys.psk, a psk client whose username (given, or the default "qemu") is
not in keys.psk, a server certificate from another CA (refused with the
sanity-check, accepted without it), a priority string GnuTLS will not
parse (accepted: QEMU checks it per connection), authz-simple with and
without identity, and object-del of an unknown id, of an object, and
re-adding its id afterwards. (Certificate files that are there but wrong:
object-add-tls-creds-broken-certs-as-qemu.py.) Skips if
qemu-storage-daemon is not installed."""
import os, shutil, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.both_servers()

# One set of directories for both sessions (their paths appear in the
# error texts; both see the same ones).
certs = lib.tmpdir()
GEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gen-tls-certs.sh")
for n in ("good", "other"):
    subprocess.run(["bash", GEN, os.path.join(certs, n)], check=True)
good = os.path.join(certs, "good")
other = os.path.join(certs, "other")


def dir_of(name, files):
    """A directory holding (destination, source path or bytes) files."""
    d = os.path.join(certs, name)
    os.mkdir(d)
    for dst, src in files:
        if isinstance(src, bytes):
            with open(os.path.join(d, dst), "wb") as f:
                f.write(src)
        else:
            shutil.copy(src, os.path.join(d, dst))
    return d


cacert = dir_of("cacert-only", [("ca-cert.pem", good + "/ca-cert.pem")])
mixca = dir_of("mixca", [("ca-cert.pem", good + "/ca-cert.pem"),
                         ("server-cert.pem", other + "/server-cert.pem"),
                         ("server-key.pem", other + "/server-key.pem")])
psk = os.path.join(good, "psk")
X509 = "tls-creds-x509"
PSK = "tls-creds-psk"


def session(impl):
    tmp, d, c = qmp.session_on(impl)
    out = []

    def step(name, **args):
        r = c.cmd(name, args)
        if "error" in r:
            out.append((name, args, "error", r["error"]["class"],
                        r["error"]["desc"].replace(certs, "CERTS")))
        else:
            out.append((name, args, "return", r["return"]))

    def add(qom_type, id_, **props):
        step("object-add", **dict(props, **{"qom-type": qom_type, "id": id_}))

    add(X509, "srv", dir=good, endpoint="server", **{"verify-peer": True})
    add(X509, "cli", dir=good, endpoint="client")
    add(X509, "cli2", dir=good)                        # endpoint defaults to client
    add(X509, "cli3", dir=cacert, endpoint="client")   # client cert and key are optional
    add(X509, "nodir", endpoint="server")
    add(X509, "nodir2", endpoint="client")
    add(X509, "nonexist", dir=certs + "/nonexistent", endpoint="server")
    add(X509, "empty", dir="", endpoint="server")
    add(X509, "isfile", dir=good + "/ca-cert.pem", endpoint="server")
    add(X509, "nosrvcert", dir=cacert, endpoint="server")
    add(X509, "nosrvcert2", dir=cacert, endpoint="server", **{"verify-peer": False})
    add(X509, "badep", dir=good, endpoint="foo")
    add(X509, "srv", dir=good, endpoint="server")      # duplicate id
    add(PSK, "srv", dir=psk, endpoint="server")        # duplicate id, other type
    add(X509, "bogus", dir=good, endpoint="server", bogus=1)
    add(X509, "vp", dir=good, endpoint="server", **{"verify-peer": "yes"})
    step("object-add", **{"qom-type": X509, "dir": good, "endpoint": "server"})
    add(X509, "bad id!", dir=good, endpoint="server")
    add("tls-creds-nope", "nope", dir=good)
    add("tls-creds", "abstract", dir=good)
    add(PSK, "psk-nofile", dir=good, endpoint="server")
    add(PSK, "psk-nofile2", dir=good, endpoint="client", username="alice")
    add(PSK, "psk-nonexist", dir=certs + "/nonexistent", endpoint="server")
    add(PSK, "psk-nodir", endpoint="server")
    add(PSK, "psk-srv", dir=psk, endpoint="server")
    add(PSK, "psk-bob", dir=psk, endpoint="client", username="bob")
    add(PSK, "psk-default-user", dir=psk, endpoint="client")
    add(PSK, "psk-alice", dir=psk, endpoint="client", username="alice")
    add(X509, "mixca", dir=mixca, endpoint="server")
    add(X509, "mixca2", dir=mixca, endpoint="server", **{"sanity-check": False})
    add(X509, "prio", dir=good, endpoint="server", priority="NONSENSE")
    add("authz-simple", "az", identity="O=Test Org,CN=client")
    add("authz-simple", "az-noid")
    step("object-del", id="nonexist")
    step("object-del", id="cli")
    step("object-del", id="cli")
    add(X509, "cli", dir=good, endpoint="client")      # the id is free again
    step("object-del", id="az")
    step("object-del")
    return out


ref = session("qsd")
ours = session("volswapd")
# Every step that differs, not only the first (qmp.same_steps stops there).
diffs = ["\n  qemu-storage-daemon %r\n  volswapd            %r" % (a, b)
         for a, b in zip(ref, ours) if a != b]
check(not diffs, "%d step(s) differ:%s" % (len(diffs), "".join(diffs)))
qmp.same_steps(ref, ours)
print("ok")
