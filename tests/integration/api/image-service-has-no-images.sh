#!/usr/bin/env bash
# The catalog names an image service (under /image) so that tools which
# insist on one work; it holds no images: GET /image/ is Glance's version
# document (300, v2), the image list is empty, any image is 404, and the
# list wants a token like every other API.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
api "$tok" POST /v3/auth/tokens "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"alice\",\"domain\":{\"id\":\"default\"},\"password\":\"alicepw\"}}},\"scope\":{\"project\":{\"name\":\"demo\",\"domain\":{\"id\":\"default\"}}}}}" >/dev/null
expect_status 201
[ "$(jq -r '.token.catalog[] | select(.type=="image") | .endpoints[] | select(.interface=="public") | .url' "$T/last.body")" = "$URL/image" ] \
  || fail "catalog: $(jq -c .token.catalog "$T/last.body")"
api "$tok" GET /image/ >/dev/null; expect_status 300
jq -e '.versions[0].id == "v2.16" and .versions[0].status == "CURRENT"' "$T/last.body" >/dev/null \
  || fail "versions: $(cat "$T/last.body")"
api "$tok" GET /image/v2/images >/dev/null; expect_status 200
jq -e '.images == []' "$T/last.body" >/dev/null || fail "images: $(cat "$T/last.body")"
api "$tok" GET /image/v2/images/11111111-2222-4333-8444-555555555555 >/dev/null; expect_status 404
api "" GET /image/v2/images >/dev/null; expect_status 401
echo ok
