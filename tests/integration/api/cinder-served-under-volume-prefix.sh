#!/usr/bin/env bash
# Cinder is also served under /volume, which the catalog names: GET
# /volume/ is Cinder's version document (300, v3.0 with min 3.0 and max
# 3.70), GET /volume/v3 the same for v3, and the volume API works under the
# prefix as it does at /v3 (the root stays Nova's document).
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
PID_DEMO=$(project_id demo)
api "$tok" GET /volume/ >/dev/null; expect_status 300
jq -e '.versions | length == 1 and .[0].id == "v3.0" and .[0].min_version == "3.0" and
  .[0].version == "3.70" and .[0].status == "CURRENT"' "$T/last.body" >/dev/null \
  || fail "/volume/: $(cat "$T/last.body")"
api "$tok" GET /volume/v3 >/dev/null; expect_status 200
jq -e '.versions[0].id == "v3.0"' "$T/last.body" >/dev/null || fail "/volume/v3: $(cat "$T/last.body")"
api "$tok" GET / >/dev/null
jq -e '[.versions[].id] == ["v2.0", "v2.1"]' "$T/last.body" >/dev/null || fail "root: $(cat "$T/last.body")"
api "$tok" POST "/volume/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"name":"pfx"}}' >/dev/null
expect_status 202
VID=$(jq -r .volume.id "$T/last.body")
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null; expect_status 200
api "$tok" GET "/volume/v3/$PID_DEMO/volumes/detail" >/dev/null; expect_status 200
jq -e --arg v "$VID" '[.volumes[].id] | index($v) != null' "$T/last.body" >/dev/null || fail "detail"
api "$tok" GET "/volume/v2.1/servers" >/dev/null
expect_status 404
echo ok
