#!/usr/bin/env bash
# A request with two Content-Length headers (0 and 29, a second request
# smuggled in what one reader takes for the body), the same length twice,
# or Content-Length beside Transfer-Encoding, is refused with one 400 and
# the connection is closed: nothing after it on the wire is answered.
. "$(dirname "$0")/lib.sh"
api_setup
/usr/bin/python3 - "$PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
smuggled = b"GET /v2.1 HTTP/1.1\r\nHost: x\r\n\r\n"
cases = {
    "conflicting": b"POST /v2.1/servers HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                   b"Content-Length: %d\r\n\r\n" % len(smuggled) + smuggled,
    "repeated": b"POST /v2.1/servers HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                b"Content-Length: %d\r\n\r\n" % (len(smuggled), len(smuggled)) + smuggled,
    "with-chunked": b"POST /v2.1/servers HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
}
for name, req in cases.items():
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(req)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            sys.exit(f"{name}: connection left open after the answer: {data!r}")
        if not chunk:
            break
        data += chunk
    s.close()
    answers = data.count(b"HTTP/1.1 ")
    if answers != 1 or not data.startswith(b"HTTP/1.1 400"):
        sys.exit(f"{name}: expected one 400 and a close, got {answers} answers: {data!r}")
    print(f"{name}: one 400, closed")
PY
api "$(api_token alice)" GET /v2.1 >/dev/null; expect_status 200
echo PASS
