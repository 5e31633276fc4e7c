#!/usr/bin/python3
"""object-add of x509 server credentials whose files are all there but
wrong, against qemu-storage-daemon (the reference) and volswapd in one
scripted session: the same error class and description word for word.
Covered: a server-cert.pem that is not PEM at all (with the sanity-check,
and without it, when GnuTLS's loading of the pair fails instead), a server
certificate that is itself a CA, and a ca-cert.pem that is not a CA (a
leaf certificate from the right chain). Skips if qemu-storage-daemon is
not installed."""
import os, shutil, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp
from qmp import lib, check

qmp.both_servers()

certs = lib.tmpdir()
GEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gen-tls-certs.sh")
good = os.path.join(certs, "good")
subprocess.run(["bash", GEN, good], check=True)


def dir_of(name, files):
    d = os.path.join(certs, name)
    os.mkdir(d)
    for dst, src in files:
        if isinstance(src, bytes):
            with open(os.path.join(d, dst), "wb") as f:
                f.write(src)
        else:
            shutil.copy(src, os.path.join(d, dst))
    return d


garbage = dir_of("garbage", [("ca-cert.pem", good + "/ca-cert.pem"),
                             ("server-cert.pem", b"not a certificate\n"),
                             ("server-key.pem", good + "/server-key.pem")])
# A self-signed CA (CA:TRUE) used as the server's own certificate and CA.
ca_as_server = dir_of("ca-as-server", [])
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", ca_as_server + "/server-key.pem",
                "-out", ca_as_server + "/server-cert.pem", "-days", "30",
                "-subj", "/O=Test Org/CN=localhost",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"],
               check=True, capture_output=True)
shutil.copy(ca_as_server + "/server-cert.pem", ca_as_server + "/ca-cert.pem")
# The client's leaf certificate (CA:FALSE) given as the CA.
leaf_ca = dir_of("leaf-ca", [("ca-cert.pem", good + "/client-cert.pem"),
                             ("server-cert.pem", good + "/server-cert.pem"),
                             ("server-key.pem", good + "/server-key.pem")])


def session(impl):
    tmp, d, c = qmp.session_on(impl)
    out = []

    def add(id_, dir_, **props):
        args = dict(props, **{"qom-type": "tls-creds-x509", "id": id_, "dir": dir_,
                              "endpoint": "server"})
        r = c.cmd("object-add", args)
        if "error" in r:
            out.append((id_, props, "error", r["error"]["class"],
                        r["error"]["desc"].replace(certs, "CERTS")))
        else:
            out.append((id_, props, "return", r["return"]))

    add("garbage", garbage)
    add("garbage-nocheck", garbage, **{"sanity-check": False})
    add("ca-as-server", ca_as_server)
    add("leaf-ca", leaf_ca)
    add("good", good)
    return out


ref = session("qsd")
ours = session("volswapd")
diffs = ["\n  qemu-storage-daemon %r\n  volswapd            %r" % (a, b)
         for a, b in zip(ref, ours) if a != b]
check(not diffs, "%d step(s) differ:%s" % (len(diffs), "".join(diffs)))
qmp.same_steps(ref, ours)
print("ok")
