#!/usr/bin/env bash
# An admin reaches any project's volume through the admin project's Cinder
# URL (show, and the lists with all_tenants, narrowed by project_id), as in
# Cinder; a member still gets 404 for another project's volume, and
# all_tenants is ignored for a member.
. "$(dirname "$0")/lib.sh"
api_setup
bob=$(api_token bob other)
alice=$(api_token alice)
adm=$(api_token admin)
PID_DEMO=$(project_id demo)
PID_OTHER=$(project_id other bob)
api "$bob" POST "/v3/$PID_OTHER/volumes" '{"volume":{"size":1,"name":"bobs"}}' >/dev/null; expect_status 202
BV=$(jq -r .volume.id "$T/last.body")
api "$alice" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1,"name":"alices"}}' >/dev/null; expect_status 202
AV=$(jq -r .volume.id "$T/last.body")

api "$adm" GET "/v3/$PID_DEMO/volumes/$BV" >/dev/null; expect_status 200
jq -e ".volume[\"os-vol-tenant-attr:tenant_id\"] == \"$PID_OTHER\"" "$T/last.body" >/dev/null \
  || fail "admin show: $(cat "$T/last.body")"
api "$alice" GET "/v3/$PID_DEMO/volumes/$BV" >/dev/null
expect_fault 404 itemNotFound "Volume $BV could not be found."

api "$adm" GET "/v3/$PID_DEMO/volumes/detail" >/dev/null; expect_status 200
jq -e '[.volumes[].name] == ["alices"]' "$T/last.body" >/dev/null || fail "admin list: $(cat "$T/last.body")"
api "$adm" GET "/v3/$PID_DEMO/volumes/detail?all_tenants=1" >/dev/null; expect_status 200
jq -e '[.volumes[].name] | sort == ["alices","bobs"]' "$T/last.body" >/dev/null \
  || fail "all_tenants: $(cat "$T/last.body")"
api "$adm" GET "/v3/$PID_DEMO/volumes?all_tenants=1&project_id=$PID_OTHER" >/dev/null; expect_status 200
jq -e "[.volumes[].id] == [\"$BV\"]" "$T/last.body" >/dev/null || fail "project_id: $(cat "$T/last.body")"
api "$alice" GET "/v3/$PID_DEMO/volumes/detail?all_tenants=1" >/dev/null; expect_status 200
jq -e "[.volumes[].id] == [\"$AV\"]" "$T/last.body" >/dev/null || fail "member all_tenants: $(cat "$T/last.body")"
