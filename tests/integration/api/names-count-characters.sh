#!/usr/bin/env bash
# Names are characters, as Nova and Cinder count them: an 86-character CJK
# name (258 bytes) is accepted for a server and a volume and comes back
# whole; a name of 256 characters is refused with a fault whose message is
# valid UTF-8 (never cut inside a character); an empty server name is 400.
. "$(dirname "$0")/lib.sh"
api_setup
alice=$(api_token alice)
PID_DEMO=$(project_id demo)
cjk=$(printf '服%.0s' $(seq 86))
[ "$(printf %s "$cjk" | wc -c)" = 258 ] || fail "test name is not 258 bytes"
api "$alice" POST /v2.1/servers "{\"server\":{\"name\":\"$cjk\"}}" >/dev/null; expect_status 202
SID=$(jq -r .server.id "$T/last.body")
api "$alice" GET "/v2.1/servers/$SID" >/dev/null; expect_status 200
[ "$(jq -r .server.name "$T/last.body")" = "$cjk" ] || fail "name came back as $(jq -r .server.name "$T/last.body")"
api "$alice" POST "/v3/$PID_DEMO/volumes" "{\"volume\":{\"size\":1,\"name\":\"$cjk\",\"description\":\"$cjk\"}}" >/dev/null
expect_status 202
VID=$(jq -r .volume.id "$T/last.body")
api "$alice" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null; expect_status 200
[ "$(jq -r .volume.name "$T/last.body")" = "$cjk" ] || fail "volume name came back as $(jq -r .volume.name "$T/last.body")"
too_long=$(printf '服%.0s' $(seq 256))
api "$alice" POST /v2.1/servers "{\"server\":{\"name\":\"$too_long\"}}" >/dev/null
expect_fault 400 badRequest "is too long"
iconv -f UTF-8 -t UTF-8 "$T/last.body" >/dev/null || fail "fault body is not valid UTF-8"
api "$alice" POST /v2.1/servers '{"server":{"name":""}}' >/dev/null
expect_fault 400 badRequest "is too short"
echo PASS
