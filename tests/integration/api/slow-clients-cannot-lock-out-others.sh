#!/usr/bin/env bash
# One client address that opens 1100 connections and trickles a header
# line on each every few seconds cannot take every connection slot: it
# gets at most limits.connections_per_address of them (64 by default), and
# at least 90 % of normal requests from another address are answered
# while the attack goes on.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
/usr/bin/python3 - "$PORT" "$tok" <<'PY'
import resource, socket, sys, threading, time, urllib.request
port, tok = int(sys.argv[1]), sys.argv[2]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard < 1300:
    print(f"SKIP: need 1300 descriptors, have {hard}")
    sys.exit(77)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
N = 1100
attack = [None] * N
stop = False

def connect(i):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.settimeout(1)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /v2.1/servers HTTP/1.1\r\nHost: x\r\n")
    s.setblocking(False)
    return s

def closed(s):
    try:
        return s.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True

def attacker():
    rnd = 0
    while not stop:
        for i in range(N):
            if stop:
                break
            s = attack[i]
            try:
                if s is None or closed(s):
                    raise OSError
                s.send(b"X-Slow-%d: %d\r\n" % (rnd, i))
            except OSError:
                if s is not None:
                    s.close()
                try:
                    attack[i] = connect(i)
                except OSError:
                    attack[i] = None
        rnd += 1
        for _ in range(20):
            if stop:
                break
            time.sleep(0.1)

t = threading.Thread(target=attacker, daemon=True)
t.start()
time.sleep(6)  # the attack is established: every slot it can get is taken
ok = total = 0
for _ in range(40):
    total += 1
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v2.1/servers",
                                 headers={"X-Auth-Token": tok})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            if r.status == 200:
                ok += 1
    except Exception as e:
        print("normal request failed:", e)
    time.sleep(0.2)
stop = True
t.join()
print(f"{ok}/{total} normal requests answered during the attack")
sys.exit(0 if ok * 10 >= total * 9 else 1)
PY
rc=$?
[ $rc -eq 0 ] || exit $rc
echo PASS
