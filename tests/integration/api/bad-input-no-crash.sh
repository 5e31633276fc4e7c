#!/usr/bin/env bash
# Hostile requests get clean errors and the service stays up: bodies past
# the size cap (413, by Content-Length and by chunked upload), nesting past
# the depth cap, invalid JSON, wrong types, binary garbage, huge and odd
# URLs, unknown methods, raw garbage on the socket and a half-sent request.
# Afterwards a normal call still works.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
pid=$(project_id demo)
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$T/big"
curl -sS -o "$T/last.body" -w '%{http_code}' -H "X-Auth-Token: $tok" -H 'Content-Type: application/json' \
  --data-binary @"$T/big" "$URL/v3/$pid/volumes" >"$T/code" || true
[ "$(cat "$T/code")" = 413 ] || fail "big body: $(cat "$T/code")"
curl -sS -o "$T/last.body" -w '%{http_code}' -H "X-Auth-Token: $tok" -H 'Transfer-Encoding: chunked' \
  -H 'Content-Type: application/json' --data-binary @"$T/big" "$URL/v3/$pid/volumes" >"$T/code" || true
[ "$(cat "$T/code")" = 413 ] || fail "big chunked body: $(cat "$T/code")"
deep=$(printf '[%.0s' $(seq 100))$(printf ']%.0s' $(seq 100))
api "$tok" POST "/v3/$pid/volumes" "{\"volume\":{\"size\":1,\"metadata\":$deep}}" >/dev/null
expect_fault 400 badRequest "nested deeper"
api "$tok" POST /v2.1/servers '{"server":' >/dev/null; expect_fault 400 badRequest
api "$tok" POST /v2.1/servers '{"server":{"name":["a"]}}' >/dev/null; expect_fault 400 badRequest
api "$tok" POST /v2.1/servers "$(head -c 3000 /dev/urandom | tr -d '\0')" >/dev/null; expect_fault 400 badRequest
api "$tok" POST /v2.1/servers '' >/dev/null; expect_fault 400 badRequest
api "$tok" GET "/v2.1/servers/$(head -c 5000 /dev/zero | tr '\0' a)" >/dev/null
[ "$STATUS" -ge 400 ] && [ "$STATUS" -lt 500 ] || fail "long URL: $STATUS"
api "$tok" GET "/v2.1/servers/%00%ff/os-volume_attachments" >/dev/null
[ "$STATUS" -ge 400 ] && [ "$STATUS" -lt 500 ] || fail "odd URL: $STATUS"
api "$tok" FROB /v2.1/servers >/dev/null; expect_fault 405 badMethod
api "$tok" GET "/v2.1/servers?name=$(printf 'a%.0s' $(seq 300))" >/dev/null; expect_fault 400 badRequest
# raw garbage and a request cut short, straight on the socket
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
head -c 4096 /dev/urandom >&3 || true
exec 3>&-
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
printf 'POST /v2.1/servers HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"ser' >&4
exec 4>&-
pids=()
for _ in $(seq 20); do
  curl -sS -o /dev/null -H "X-Auth-Token: $tok" -d '{"server":{"name":' "$URL/v2.1/servers" &
  pids+=($!)
done
wait "${pids[@]}"   # not the daemons
api "$tok" GET /v2.1/servers >/dev/null; expect_status 200
kill -0 "$API_PID" || fail "volswap-api died"
