#!/usr/bin/env bash
# A request has limits.request_seconds to arrive whole, headers and body:
# a client that keeps trickling header lines (each one restarting an idle
# timeout) is cut off once the deadline passes, and so is one that
# trickles its body; a prompt request on another connection is answered,
# and a keep-alive connection serves its next request with a fresh
# deadline.
. "$(dirname "$0")/lib.sh"
api_setup
jq '.limits = {"request_seconds": 2}' "$T/api.json" >"$T/api.new" && mv "$T/api.new" "$T/api.json"
api_restart
/usr/bin/python3 - "$PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])

def trickle(head, piece, what):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(head)
    s.settimeout(0.5)
    for i in range(120):  # a minute of trickling at most
        try:
            s.sendall(piece % i)
            data = s.recv(4096)
            if data == b"" or data.startswith(b"HTTP/1.1 "):
                print(f"{what}: cut off after {i} pieces")
                return
        except socket.timeout:
            continue
        except OSError:
            print(f"{what}: cut off after {i} pieces")
            return
    sys.exit(f"{what}: still open after a minute of trickling")

trickle(b"GET /v2.1 HTTP/1.1\r\nHost: x\r\n", b"X-Slow-%d: 1\r\n", "headers")
trickle(b"POST /v3/auth/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n", b" %d ", "body")
# keep-alive: two prompt requests on one connection, the second after the
# first request's deadline would have passed
s = socket.create_connection(("127.0.0.1", port), timeout=10)
for n in range(2):
    s.sendall(b"GET /v2.1 HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = s.recv(65536)
        if not chunk:
            sys.exit(f"keep-alive connection closed before answer {n + 1}")
        data += chunk
    if not data.startswith(b"HTTP/1.1 200"):
        sys.exit(f"keep-alive answer {n + 1}: {data[:80]!r}")
    time.sleep(1.5)
print("keep-alive: two answers")
PY
api "$(api_token alice)" GET /v2.1 >/dev/null; expect_status 200
echo PASS
