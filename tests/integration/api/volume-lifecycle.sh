#!/usr/bin/env bash
# Cinder volumes: create makes a sparse raw file of the size in the pool and
# answers 202 with the detail view; list, detail and show see it; os-extend
# grows it; delete removes the record and the file.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
pid=$(project_id demo)
api "$tok" POST /v3/$pid/volumes '{"volume":{"size":2,"name":"data","description":"d"}}' >/dev/null
expect_status 202
vid=$(jq -r .volume.id "$T/last.body")
jq -e '.volume | .status == "available" and .size == 2 and .name == "data" and .attachments == [] and .volume_type == "pool1"' "$T/last.body" >/dev/null || fail "create body $(cat "$T/last.body")"
f=$T/pool/volume-$vid
[ "$(stat -c %s "$f")" = $((2 * 1024 * 1024 * 1024)) ] || fail "file size"
[ "$(stat -c %b "$f")" -lt 100 ] || fail "file is not sparse"
api "$tok" GET /v3/$pid/volumes >/dev/null; expect_status 200
jq -e ".volumes == [.volumes[0]] and .volumes[0].id == \"$vid\" and (.volumes[0] | has(\"status\") | not)" "$T/last.body" >/dev/null || fail "summary list"
api "$tok" GET /v3/$pid/volumes/detail >/dev/null; expect_status 200
jq -e ".volumes[0].status == \"available\"" "$T/last.body" >/dev/null || fail "detail list"
api "$tok" GET "/v3/$pid/volumes/detail?name=nope" >/dev/null
jq -e '.volumes == []' "$T/last.body" >/dev/null || fail "name filter"
api "$tok" GET /v3/$pid/volumes/$vid >/dev/null; expect_status 200
[ "$(header OpenStack-API-Version)" = "volume 3.0" ] || fail "version header"
api "$tok" POST /v3/$pid/volumes/$vid/action '{"os-extend":{"new_size":3}}' >/dev/null; expect_status 202
[ "$(stat -c %s "$f")" = $((3 * 1024 * 1024 * 1024)) ] || fail "extend size"
api "$tok" GET /v3/$pid/volumes/$vid >/dev/null
jq -e '.volume.size == 3 and .volume.status == "available"' "$T/last.body" >/dev/null || fail "extended record"
api "$tok" DELETE /v3/$pid/volumes/$vid >/dev/null; expect_status 202
[ ! -e "$f" ] || fail "file left behind"
api "$tok" GET /v3/$pid/volumes/$vid >/dev/null
expect_fault 404 itemNotFound "Volume $vid could not be found."
# admin sees the host and migration status attributes
adm=$(api_token admin)
vid=$(api "$adm" POST /v3/$pid/volumes '{"volume":{"size":1}}' | jq -r .volume.id)
api "$adm" GET /v3/$pid/volumes/$vid >/dev/null
jq -e '.volume["os-vol-host-attr:host"] == "host1@volswap#pool1" and (.volume | has("migration_status"))' "$T/last.body" >/dev/null || fail "admin attributes"
api "$tok" GET /v3/$pid/volumes/$vid >/dev/null
jq -e '.volume | has("os-vol-host-attr:host") | not' "$T/last.body" >/dev/null || fail "member sees host"
