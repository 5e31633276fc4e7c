#!/usr/bin/env bash
# The endpoint tables of docs/api.md are what `volswap-api --print-routes
# SERVICE` prints from the route table, between the markers
#   <!-- routes SERVICE: ... -->  and  <!-- end of routes SERVICE -->
# Regenerate a table by replacing what lies between them with that output.
. "$(dirname "$0")/../lib.sh"
vs_init
bin=$VOLSWAP_BUILD/src/api/volswap-api
[ -x "$bin" ] || vs_fail "volswap-api is not built"
for svc in identity compute volume image; do
  "$bin" --print-routes "$svc" >"$VS_TMP/$svc.gen" || vs_fail "--print-routes $svc failed"
  sed -n "/^<!-- routes $svc: /,/^<!-- end of routes $svc -->/p" "$VS_SRC/docs/api.md" |
    sed '1d;$d' >"$VS_TMP/$svc.doc"
  [ -s "$VS_TMP/$svc.doc" ] || vs_fail "docs/api.md has no generated table for $svc"
  diff -u "$VS_TMP/$svc.doc" "$VS_TMP/$svc.gen" >&2 ||
    vs_fail "docs/api.md's $svc table is stale: regenerate it with volswap-api --print-routes $svc"
done
