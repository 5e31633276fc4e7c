#!/usr/bin/env bash
# An image upload is not under the request deadline once its headers
# passed the door, but it may not stall: with limits.request_seconds 2 and
# upload_bytes_per_second 8192, an uploader that sends a little and then
# nothing has its connection closed and the image is queued again, while
# one that sends 32 KiB a second for longer than three deadlines finishes
# and the image is active with all its bytes.
. "$(dirname "$0")/lib.sh"
api_setup
jq '.limits = {"request_seconds": 2, "upload_bytes_per_second": 8192}' "$T/api.json" \
  >"$T/api.new" && mv "$T/api.new" "$T/api.json"
api_restart
tok=$(api_token alice)
new_image() {
  api "$tok" POST /image/v2/images "{\"name\":\"$1\"}" >/dev/null; expect_status 201
  jq -r .id "$T/last.body"
}
STALL=$(new_image stall)
STEADY=$(new_image steady)
/usr/bin/python3 - "$PORT" "$tok" "$STALL" "$STEADY" "$T/steady.data" <<'PY'
import os, socket, sys, time
port, tok, stall, steady, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]

def start(image, length):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall((f"PUT /image/v2/images/{image}/file HTTP/1.1\r\nHost: x\r\n"
               f"X-Auth-Token: {tok}\r\nContent-Type: application/octet-stream\r\n"
               f"Content-Length: {length}\r\n\r\n").encode())
    return s

# the stalled one: 1 KiB, then silence; the server must close it
s = start(stall, 1 << 20)
s.sendall(b"x" * 1024)
s.settimeout(1)
for _ in range(60):
    try:
        s.recv(4096)  # the end of the stream (or an answer): closed
        break
    except socket.timeout:
        continue
    except OSError:
        break
else:
    sys.exit("the stalled upload is still open after a minute")
s.close()

# the steady one: 32 KiB a second for 7 seconds
data = os.urandom(7 * 32768)
open(path, "wb").write(data)
s = start(steady, len(data))
s.settimeout(10)
for i in range(0, len(data), 8192):
    s.sendall(data[i:i + 8192])
    time.sleep(0.25)
reply = s.recv(4096)
if not reply.startswith(b"HTTP/1.1 204"):
    sys.exit(f"the steady upload: {reply[:200]!r}")
print("stalled one cut, steady one finished")
PY
[ $? -eq 0 ] || fail "uploads"
for _ in $(seq 100); do
  api "$tok" GET "/image/v2/images/$STALL" >/dev/null
  [ "$(jq -r .status "$T/last.body")" = queued ] && break
  sleep 0.1
done
jq -e '.status == "queued" and .size == null' "$T/last.body" >/dev/null \
  || fail "the stalled image: $(cat "$T/last.body")"
api "$tok" GET "/image/v2/images/$STEADY" >/dev/null
jq -e --arg md5 "$(md5sum <"$T/steady.data" | cut -d' ' -f1)" \
  '.status == "active" and .size == 229376 and .checksum == $md5' "$T/last.body" >/dev/null \
  || fail "the steady image: $(cat "$T/last.body")"
echo ok
