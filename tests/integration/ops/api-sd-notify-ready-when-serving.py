#!/usr/bin/python3
# Under systemd (Type=notify) volswap-api says READY=1 on the NOTIFY_SOCKET
# it is given once its registry is open, unfinished swaps are settled and
# its HTTP server accepts: at that moment the Keystone version document
# answers, at the address its STATUS= names. STOPPING=1 comes at SIGTERM.
import json, os, re, socket, subprocess, sys, urllib.request
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ops
from ops import lib, qmp, check
qmp.volswapd_only("the host is volswapd")
build = os.environ.get("VOLSWAP_BUILD") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "build")
api_bin = os.path.join(build, "src", "api", "volswap-api")
tmp = lib.tmpdir()
host = qmp.MonitorDaemon(tmp).start()
nbd = qmp.start_nbd(host.client(), tmp)
os.mkdir(os.path.join(tmp, "pool"))
pw = subprocess.run([api_bin, "--hash-password"], input=b"adminpw\n",
                    stdout=subprocess.PIPE, check=True).stdout.decode().strip()
config = {
    "listen": {"address": "127.0.0.1", "port": 0},
    "database": os.path.join(tmp, "registry.db"),
    "projects": [{"name": "demo"}],
    "users": [{"name": "admin", "password_hash": pw, "roles": {"demo": ["admin"]}}],
    "hosts": [{"name": "host1", "driver": "volswapd", "qmp": host.qmp_path,
               "nbd": {"type": "unix", "path": nbd},
               "pools": [{"name": "pool1", "type": "dir", "path": os.path.join(tmp, "pool")}]}],
}
conf = os.path.join(tmp, "api.json")
with open(conf, "w") as f:
    json.dump(config, f)

notify_path = os.path.join(tmp, "notify.sock")
ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
ns.bind(notify_path)
ns.settimeout(30)    # fail-safe, not a timing assertion
env = dict(os.environ, NOTIFY_SOCKET=notify_path)
log = open(os.path.join(tmp, "api.log"), "wb")
api = subprocess.Popen([api_bin, "--config", conf], env=env, stdout=log, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL)
try:
    msg = ns.recv(4096).decode()
    lines = msg.split("\n")
    check("READY=1" in lines, "first notification is %r" % msg)
    check("MAINPID=%d" % api.pid in lines, "no MAINPID=%d in %r" % (api.pid, msg))
    m = re.search(r"^STATUS=listening on (http://\S+)$", msg, re.M)
    check(m, "no STATUS with the address in %r" % msg)
    # Ready means ready: no retry from here on.
    with urllib.request.urlopen(m.group(1) + "/v3", timeout=30) as r:
        check(r.status == 200, "GET /v3 answered %d" % r.status)
    api.send_signal(15)
    msg = ns.recv(4096).decode()
    check("STOPPING=1" in msg.split("\n"), "at SIGTERM: %r" % msg)
    check(api.wait(timeout=30) == 0, "volswap-api did not exit 0")
finally:
    if api.poll() is None:
        api.kill()
        api.wait()
    log.close()
with open(os.path.join(tmp, "api.log"), "rb") as f:
    text = f.read().decode(errors="replace")
check("Sanitizer" not in text and "runtime error:" not in text, "sanitizer report:\n" + text)
