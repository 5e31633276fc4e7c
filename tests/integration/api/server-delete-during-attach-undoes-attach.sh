#!/usr/bin/env bash
# A delete that starts while an attach is opening the volume on the host
# wins: the attach's host step is held 2 s (a QMP proxy delays
# blockdev-add), the delete answers 204 meanwhile, and the attach then
# fails with 409 "task_state deleting" and undoes itself: no export or node
# is left on the host and the volume is available.
. "$(dirname "$0")/lib.sh"
host_start
/usr/bin/python3 - "$T/qmp.sock" "$T/qmp-slow.sock" "$T/held" >"$T/proxy.log" 2>&1 <<'PY' &
import asyncio, sys
up, path, held = sys.argv[1:4]
async def serve(cr, cw):
    ur, uw = await asyncio.open_unix_connection(up)
    async def down():
        while (line := await ur.readline()):
            cw.write(line); await cw.drain()
        cw.close()
    t = asyncio.ensure_future(down())
    while (line := await cr.readline()):
        if b'"blockdev-add"' in line:
            open(held, "w").close()
            await asyncio.sleep(2)
        uw.write(line); await uw.drain()
    uw.close(); t.cancel()
async def main():
    srv = await asyncio.start_unix_server(serve, path)
    async with srv: await srv.serve_forever()
asyncio.run(main())
PY
PROXY_PID=$!
trap 'rc=$?; kill $PROXY_PID 2>/dev/null; (exit $rc); cleanup' EXIT
for _ in $(seq 100); do [ -S "$T/qmp-slow.sock" ] && break; sleep 0.05; done
write_config
sed -i "s|\"qmp\": \"$T/qmp.sock\"|\"qmp\": \"$T/qmp-slow.sock\"|" "$T/api.json"
api_start
tok=$(api_token alice)
make_volume_and_server "$tok"
curl -sS -X POST -H "X-Auth-Token: $tok" -H 'Content-Type: application/json' \
  --data-binary "{\"volumeAttachment\":{\"volumeId\":\"$VID\"}}" -o "$T/attach.body" \
  -w '%{http_code}' "$URL/v2.1/servers/$SID/os-volume_attachments" >"$T/attach.status" &
attach_pid=$!
# wait until the attach is inside its host step, then delete
for _ in $(seq 200); do [ -e "$T/held" ] && break; sleep 0.05; done
[ -e "$T/held" ] || fail "the attach never reached the host"
api "$tok" DELETE "/v2.1/servers/$SID" >/dev/null; expect_status 204
wait "$attach_pid"
[ "$(cat "$T/attach.status")" = 409 ] || fail "attach answered $(cat "$T/attach.status"): $(cat "$T/attach.body")"
jq -e --arg s "$SID" '.conflictingRequest.code == 409 and (.conflictingRequest.message |
  contains("Cannot '"'"'attach_volume'"'"' instance \($s) while it is in task_state deleting"))' \
  "$T/attach.body" >/dev/null || fail "attach's answer: $(cat "$T/attach.body")"
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null
jq -e '.volume | .status == "available" and .attachments == []' "$T/last.body" >/dev/null \
  || fail "volume: $(cat "$T/last.body")"
[ "$(attach_status "$VID")" = detached ] || fail "attach_status $(attach_status "$VID")"
"$CLI_BIN" --json qmp --socket "$T/qmp.sock" query-block-exports | jq -e '. == []' >/dev/null \
  || fail "export left on the host"
"$CLI_BIN" --json qmp --socket "$T/qmp.sock" query-named-block-nodes | jq -e '. == []' >/dev/null \
  || fail "node left on the host"
echo ok
