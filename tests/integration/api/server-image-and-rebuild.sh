#!/usr/bin/env bash
# A server created with imageRef shows that image (Nova's {"id", "links"});
# the rebuild action records another one with the server's new name,
# answers 202 with the server, leaves it ACTIVE and records the instance
# action "rebuild"; an image that is not active, or unknown, is a 400.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
mk() {
  api "$tok" POST /image/v2/images "{\"name\":\"$1\"}" >/dev/null; expect_status 201
  local id; id=$(jq -r .id "$T/last.body")
  [ "${2:-}" = queued ] || { api "$tok" PUT "/image/v2/images/$id/file" "" \
    -H 'Content-Type: application/octet-stream' --data-binary x >/dev/null; expect_status 204; }
  echo "$id"
}
I1=$(mk one); I2=$(mk two); Q=$(mk queued queued)
api "$tok" POST /v2.1/servers "{\"server\":{\"name\":\"s\",\"imageRef\":\"$Q\"}}" >/dev/null; expect_status 400
api "$tok" POST /v2.1/servers "{\"server\":{\"name\":\"s\",\"imageRef\":\"$I1\"}}" >/dev/null; expect_status 202
SID=$(jq -r .server.id "$T/last.body")
api "$tok" GET "/v2.1/servers/$SID" >/dev/null
jq -e --arg i "$I1" '.server.image.id == $i and (.server.image.links[0].href | endswith("/images/" + $i))' \
  "$T/last.body" >/dev/null || fail "image: $(jq -c .server.image "$T/last.body")"
api "$tok" POST "/v2.1/servers/$SID/action" "{\"rebuild\":{\"imageRef\":\"11111111-2222-4333-8444-555555555555\"}}" >/dev/null
expect_status 400
api "$tok" POST "/v2.1/servers/$SID/action" "{\"rebuild\":{\"imageRef\":\"$I2\",\"name\":\"rebuilt\"}}" \
  -H 'OpenStack-API-Version: compute 2.47' >/dev/null
expect_status 202
jq -e --arg i "$I2" '.server.image.id == $i and .server.name == "rebuilt" and .server.status == "ACTIVE"
  and (.server | has("OS-EXT-STS:vm_state") | not)' "$T/last.body" >/dev/null || fail "rebuild: $(cat "$T/last.body")"
api "$tok" GET "/v2.1/servers/$SID/os-instance-actions" >/dev/null
jq -e '[.instanceActions[].action] | index("rebuild") != null' "$T/last.body" >/dev/null \
  || fail "actions: $(cat "$T/last.body")"
echo ok
