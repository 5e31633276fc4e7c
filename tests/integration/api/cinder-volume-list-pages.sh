#!/usr/bin/env bash
# Cinder's list paging: limit cuts a page and a full page links the next
# (marker = its last id, the request's other arguments kept), following
# the links visits every volume once; sort=key:dir and sort_key/sort_dir
# order the list (newest first without them), marker starts after that
# volume; bad arguments are Cinder's 400, an unknown marker 404.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
PID_DEMO=$(project_id demo)
for n in b c a; do
  api "$tok" POST "/v3/$PID_DEMO/volumes" "{\"volume\":{\"size\":1,\"name\":\"$n\"}}" >/dev/null
  expect_status 202
done
api "$tok" GET "/v3/$PID_DEMO/volumes/detail" >/dev/null; expect_status 200
jq -e '[.volumes[] | [.created_at, .id]] == ([.volumes[] | [.created_at, .id]] | sort | reverse)
       and (has("volumes_links") | not)' "$T/last.body" >/dev/null \
  || fail "default order: $(jq -c '[.volumes[] | [.created_at, .id]]' "$T/last.body")"
all=$(jq -c '[.volumes[].id] | sort' "$T/last.body")

# follow the next links from limit=1
path="/v3/$PID_DEMO/volumes?limit=1"; seen='[]'; pages=0
while [ -n "$path" ]; do
  api "$tok" GET "$path" >/dev/null; expect_status 200
  pages=$((pages + 1)); [ $pages -le 5 ] || fail "too many pages"
  seen=$(jq -c --argjson s "$seen" '$s + [.volumes[].id]' "$T/last.body")
  next=$(jq -r '.volumes_links[]? | select(.rel == "next") | .href' "$T/last.body")
  path=${next#"$URL"}
  [ -z "$next" ] || [ "$path" != "$next" ] || fail "next link off this service: $next"
done
[ "$pages" = 4 ] || fail "pages: $pages (3 full ones and an empty last)"
[ "$(jq -c 'sort' <<<"$seen")" = "$all" ] || fail "visited $seen, want $all"

api "$tok" GET "/v3/$PID_DEMO/volumes/detail?sort=name:asc" >/dev/null; expect_status 200
jq -e '[.volumes[].name] == ["a","b","c"]' "$T/last.body" >/dev/null || fail "sort: $(cat "$T/last.body")"
api "$tok" GET "/v3/$PID_DEMO/volumes/detail?sort_key=name&sort_dir=desc&limit=2" >/dev/null; expect_status 200
jq -e '[.volumes[].name] == ["c","b"] and (.volumes_links[0].href | test("marker="))' "$T/last.body" \
  >/dev/null || fail "sort_key: $(cat "$T/last.body")"
first=$(jq -r '.[0]' <<<"$all")
api "$tok" GET "/v3/$PID_DEMO/volumes?marker=$first&sort=id:asc" >/dev/null; expect_status 200
jq -e --argjson all "$all" '[.volumes[].id] == $all[1:]' "$T/last.body" >/dev/null \
  || fail "marker: $(cat "$T/last.body")"

api "$tok" GET "/v3/$PID_DEMO/volumes?sort=colour" >/dev/null; expect_fault 400 badRequest "Invalid sort key"
api "$tok" GET "/v3/$PID_DEMO/volumes?sort=name:up" >/dev/null; expect_fault 400 badRequest "sort direction"
api "$tok" GET "/v3/$PID_DEMO/volumes?sort=name&sort_key=id" >/dev/null; expect_fault 400 badRequest
api "$tok" GET "/v3/$PID_DEMO/volumes?limit=-1" >/dev/null; expect_fault 400 badRequest
api "$tok" GET "/v3/$PID_DEMO/volumes?marker=00000000-0000-0000-0000-000000000000" >/dev/null
expect_fault 404 itemNotFound "Marker"
