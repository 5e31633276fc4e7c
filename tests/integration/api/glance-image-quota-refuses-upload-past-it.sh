#!/usr/bin/env bash
# images.quota_bytes bounds the bytes of all images: with a 3 MiB quota a
# 2 MiB upload fits, a second 2 MiB upload is refused with 413 while it
# streams (nothing of it is kept in the store) and its image is queued
# again, and once the first image is deleted the same upload fits.
. "$(dirname "$0")/lib.sh"
export VOLSWAP_TEST_IMAGE_QUOTA=$((3 * 1024 * 1024))
api_setup
tok=$(api_token alice)
head -c $((2 * 1024 * 1024)) /dev/urandom >"$T/data"
new_image() {
  api "$tok" POST /image/v2/images "{\"name\":\"$1\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}" >/dev/null
  expect_status 201
  jq -r .id "$T/last.body"
}
upload() {
  api "$tok" PUT "/image/v2/images/$1/file" "" -H 'Content-Type: application/octet-stream' \
    --data-binary @"$T/data" >/dev/null
}
A=$(new_image a); B=$(new_image b)
upload "$A"; expect_status 204
upload "$B"; expect_status 413
api "$tok" GET "/image/v2/images/$B" >/dev/null
jq -e '.status == "queued" and .size == null' "$T/last.body" >/dev/null || fail "after 413: $(cat "$T/last.body")"
[ "$(find "$T/images" -type f | wc -l)" = 1 ] || fail "store: $(ls -l "$T/images")"
api "$tok" DELETE "/image/v2/images/$A" >/dev/null; expect_status 204
upload "$B"; expect_status 204
api "$tok" GET "/image/v2/images/$B" >/dev/null
jq -e '.status == "active" and .size == 2097152' "$T/last.body" >/dev/null || fail "after retry: $(cat "$T/last.body")"
echo ok
