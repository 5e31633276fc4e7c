#!/usr/bin/env bash
# A client that goes away in the middle of an upload: the image, saving
# while the bytes came, is queued again, the partial data is gone from the
# store, and a whole upload afterwards makes it active.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
api "$tok" POST /image/v2/images '{"name":"cut"}' >/dev/null; expect_status 201
IID=$(jq -r .id "$T/last.body")
head -c $((8 * 1024 * 1024)) /dev/urandom >"$T/data"
# 8 MiB at 512 KiB/s: curl gives up after 2 s, well before the end
curl -sS -o /dev/null --limit-rate 512k --max-time 2 -X PUT -H "X-Auth-Token: $tok" \
  -H 'Content-Type: application/octet-stream' --data-binary @"$T/data" \
  "$URL/image/v2/images/$IID/file" 2>/dev/null && fail "the slow upload finished"
for _ in $(seq 100); do
  api "$tok" GET "/image/v2/images/$IID" >/dev/null
  [ "$(jq -r .status "$T/last.body")" = queued ] && break
  sleep 0.1
done
jq -e '.status == "queued" and .size == null' "$T/last.body" >/dev/null || fail "after the cut: $(cat "$T/last.body")"
[ -z "$(ls -A "$T/images")" ] || fail "left in the store: $(ls -l "$T/images")"
api "$tok" PUT "/image/v2/images/$IID/file" "" -H 'Content-Type: application/octet-stream' \
  --data-binary @"$T/data" >/dev/null
expect_status 204
echo ok
