#!/usr/bin/env bash
# Glance's visibility between projects: alice's shared (default) and
# private images are hers alone (bob: 404 on show and download, absent from
# his list, and he cannot boot or fill a volume from them); an admin's
# public image is everyone's; a community image is usable by everyone but
# listed for others only with visibility=community; only an admin may
# make an image public, and others' images refuse changes (403).
. "$(dirname "$0")/lib.sh"
api_setup
alice=$(api_token alice); bob=$(api_token bob other)
mk() {  # mk TOKEN BODY -> image id, its data uploaded
  api "$1" POST /image/v2/images "$2" >/dev/null; expect_status 201
  local id; id=$(jq -r .id "$T/last.body")
  api "$1" PUT "/image/v2/images/$id/file" "" -H 'Content-Type: application/octet-stream' --data-binary x >/dev/null
  expect_status 204; echo "$id"
}
SHARED=$(mk "$alice" '{"name":"shared"}')
COMM=$(mk "$alice" '{"name":"comm","visibility":"community"}')
PUB=$(mk "$ADMIN_TOKEN" '{"name":"pub","visibility":"public"}')
api "$alice" POST /image/v2/images '{"visibility":"public"}' >/dev/null; expect_status 403
api "$bob" GET "/image/v2/images/$SHARED" >/dev/null; expect_status 404
api "$bob" GET "/image/v2/images/$SHARED/file" >/dev/null; expect_status 404
api "$bob" GET /image/v2/images >/dev/null
[ "$(jq -r '[.images[].name] | sort | join(",")' "$T/last.body")" = pub ] || fail "bob's list: $(cat "$T/last.body")"
api "$bob" GET "/image/v2/images?visibility=community" >/dev/null
[ "$(jq -r '[.images[].name] | join(",")' "$T/last.body")" = comm ] || fail "community list: $(cat "$T/last.body")"
api "$bob" GET "/image/v2/images/$COMM" >/dev/null; expect_status 200
STATUS=$(curl -sS -o "$T/last.body" -w '%{http_code}' -X PATCH -H "X-Auth-Token: $bob" \
  -H 'Content-Type: application/openstack-images-v2.1-json-patch' \
  --data-binary '[{"op":"replace","path":"/name","value":"x"}]' "$URL/image/v2/images/$COMM")
expect_status 403
api "$bob" DELETE "/image/v2/images/$PUB" >/dev/null; expect_status 403
PID_OTHER=$(project_id other bob)
api "$bob" POST "/v3/$PID_OTHER/volumes" "{\"volume\":{\"size\":1,\"imageRef\":\"$SHARED\"}}" >/dev/null
expect_status 400
api "$bob" POST /v2.1/servers "{\"server\":{\"name\":\"s\",\"imageRef\":\"$SHARED\"}}" >/dev/null
expect_status 400
api "$bob" POST /v2.1/servers "{\"server\":{\"name\":\"s\",\"imageRef\":\"$PUB\"}}" >/dev/null
expect_status 202
api "$alice" GET /image/v2/images >/dev/null
[ "$(jq -r '[.images[].name] | sort | join(",")' "$T/last.body")" = comm,pub,shared ] || fail "alice's list: $(cat "$T/last.body")"
echo ok
