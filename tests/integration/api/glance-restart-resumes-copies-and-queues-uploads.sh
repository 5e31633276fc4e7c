#!/usr/bin/env bash
# Image data that a stop of volswap-api cut short (killed, so nothing ran
# at exit) is settled at the next start, before the API answers: an image
# upload (PUT .../file) is queued again with its partial data gone, and an
# image made of a volume (os-volume_upload_image, copied on a thread of
# its own) is copied again from the start: the image ends active with the
# volume's bytes and the volume available.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
P=$(project_id demo alice)
kill_and_start() {
  kill -9 "$API_PID"; wait "$API_PID" 2>/dev/null || true
  api_start
  tok=$(api_token alice)
}
# an upload under way: 64 MiB at 2 MiB/s
api "$tok" POST /image/v2/images '{"name":"cut"}' >/dev/null; expect_status 201
CUT=$(jq -r .id "$T/last.body")
head -c $((64 * 1024 * 1024)) /dev/zero >"$T/data"
curl -sS -o /dev/null --limit-rate 2M -X PUT -H "X-Auth-Token: $tok" \
  -H 'Content-Type: application/octet-stream' --data-binary @"$T/data" \
  "$URL/image/v2/images/$CUT/file" 2>/dev/null &
CURL=$!
for _ in $(seq 100); do
  api "$tok" GET "/image/v2/images/$CUT" >/dev/null
  [ "$(jq -r .status "$T/last.body")" = saving ] && break
  sleep 0.1
done
[ "$(jq -r .status "$T/last.body")" = saving ] || fail "the upload did not start: $(cat "$T/last.body")"
# a volume of 1 GiB with some bytes, to be uploaded as an image
api "$tok" POST "/v3/$P/volumes" '{"volume":{"size":1,"name":"src"}}' >/dev/null; expect_status 202
VID=$(jq -r .volume.id "$T/last.body")
for _ in $(seq 100); do
  api "$tok" GET "/v3/$P/volumes/$VID" >/dev/null
  [ "$(jq -r .volume.status "$T/last.body")" = available ] && break
  sleep 0.1
done
VPATH=$(reg_sql "SELECT path FROM volumes WHERE id='$VID'")
printf 'volume bytes' | dd of="$VPATH" conv=notrunc status=none
api "$tok" POST "/v3/$P/volumes/$VID/action" \
  '{"os-volume_upload_image":{"image_name":"of-src","disk_format":"raw"}}' >/dev/null
expect_status 202
IMG=$(jq -r '."os-volume_upload_image".image_id' "$T/last.body")
kill_and_start
kill "$CURL" 2>/dev/null || true; wait "$CURL" 2>/dev/null || true
api "$tok" GET "/image/v2/images/$CUT" >/dev/null
jq -e '.status == "queued" and .size == null' "$T/last.body" >/dev/null \
  || fail "the cut upload: $(cat "$T/last.body")"
[ ! -e "$T/images/$CUT.part" ] || fail "the cut upload's data stayed"
for _ in $(seq 600); do
  api "$tok" GET "/image/v2/images/$IMG" >/dev/null
  [ "$(jq -r .status "$T/last.body")" = active ] && break
  sleep 0.1
done
jq -e --arg md5 "$(md5sum <"$VPATH" | cut -d' ' -f1)" \
  '.status == "active" and .size == 1073741824 and .checksum == $md5' "$T/last.body" >/dev/null \
  || fail "the image of the volume: $(cat "$T/last.body")"
api "$tok" GET "/v3/$P/volumes/$VID" >/dev/null
[ "$(jq -r .volume.status "$T/last.body")" = available ] || fail "volume: $(cat "$T/last.body")"
[ -z "$(reg_sql "SELECT key FROM metadata WHERE kind='image-copy'")" ] || fail "copy records stay"
echo ok
