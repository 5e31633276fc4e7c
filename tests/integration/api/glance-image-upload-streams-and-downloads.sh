#!/usr/bin/env bash
# Glance v2 with curl: an image is created queued, its data (9 MiB, far
# past the API's 1 MiB cap on JSON bodies) streams into the image store,
# the image is then active with Glance's size, checksum (MD5) and os_hash
# (SHA-512) of those bytes, and the download gives them back.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
api "$tok" GET /image/ >/dev/null; expect_status 300
api "$tok" POST /image/v2/images '{"name":"big","disk_format":"raw","container_format":"bare","os_distro":"cirros"}' >/dev/null
expect_status 201
IID=$(jq -r .id "$T/last.body")
jq -e '.status == "queued" and .size == null and .checksum == null and .visibility == "shared" and .os_distro == "cirros"' \
  "$T/last.body" >/dev/null || fail "created: $(cat "$T/last.body")"
head -c $((9 * 1024 * 1024)) /dev/urandom >"$T/data"
api "$tok" PUT "/image/v2/images/$IID/file" "" -H 'Content-Type: application/octet-stream' \
  --data-binary @"$T/data" >/dev/null
expect_status 204
api "$tok" GET "/image/v2/images/$IID" >/dev/null; expect_status 200
md5=$(md5sum <"$T/data" | cut -d' ' -f1); sha=$(sha512sum <"$T/data" | cut -d' ' -f1)
jq -e --arg md5 "$md5" --arg sha "$sha" '.status == "active" and .size == 9437184 and
  .checksum == $md5 and .os_hash_algo == "sha512" and .os_hash_value == $sha' "$T/last.body" >/dev/null \
  || fail "after upload: $(cat "$T/last.body")"
curl -sS -f -H "X-Auth-Token: $tok" -o "$T/back" "$URL/image/v2/images/$IID/file" || fail "download"
cmp "$T/data" "$T/back" || fail "downloaded bytes differ"
# a second upload to an active image is a conflict
api "$tok" PUT "/image/v2/images/$IID/file" "" -H 'Content-Type: application/octet-stream' \
  --data-binary @"$T/data" >/dev/null
expect_status 409
api "$tok" DELETE "/image/v2/images/$IID" >/dev/null; expect_status 204
[ ! -e "$T/images/$IID" ] || fail "data left in the store"
api "$tok" GET "/image/v2/images/$IID" >/dev/null; expect_status 404
echo ok
