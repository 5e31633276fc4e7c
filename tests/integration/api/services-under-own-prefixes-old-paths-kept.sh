#!/usr/bin/env bash
# Each service has its own path prefix, as devstack lays them out, and the
# catalog names them (identity BASE/identity/v3, compute BASE/compute/v2.1,
# volume BASE/volume/v3/P, image BASE/image): the identity root answers
# Keystone's 300 version list, the compute root Nova's versions whose v2.0
# and v2.1 self links answer; novaclient works through the catalog; the
# unprefixed /v3 and /v2.1 keep working.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
api "$tok" POST /identity/v3/auth/tokens "$(jq -nc '{auth:{identity:{methods:["password"],password:{user:{name:"alice",domain:{id:"default"},password:"alicepw"}}},scope:{project:{name:"demo",domain:{id:"default"}}}}}')" >/dev/null
expect_status 201
jq -e --arg u "$URL" '[.token.catalog[] | {(.type): (.endpoints[] | select(.interface == "public") | .url)}] | add
   | .identity == ($u + "/identity/v3") and .compute == ($u + "/compute/v2.1") and .image == ($u + "/image")
   and (.volumev3 | startswith($u + "/volume/v3/"))' "$T/last.body" >/dev/null \
  || fail "catalog: $(jq -c '.token.catalog' "$T/last.body")"
api "" GET /identity/ >/dev/null; expect_status 300
jq -e '.versions.values | length == 1 and .[0].id == "v3.14" and .[0].status == "stable"
       and (.[0]["media-types"] | length) == 1' "$T/last.body" >/dev/null || fail "identity root: $(cat "$T/last.body")"
api "" GET /compute/ >/dev/null; expect_status 200
[ "$(jq -r '[.versions[].id] | join(" ")' "$T/last.body")" = "v2.0 v2.1" ] || fail "compute root: $(cat "$T/last.body")"
for href in $(jq -r '.versions[].links[] | select(.rel == "self") | .href' "$T/last.body"); do
  api "" GET "${href#"$URL"}" >/dev/null; expect_status 200
  [ "$(jq -r '.version.links[] | select(.rel == "self") | .href' "$T/last.body")" = "$href" ] \
    || fail "$href names another self link: $(cat "$T/last.body")"
done
api "$tok" GET /compute/v2.1/servers >/dev/null; expect_status 200
api "$tok" GET /v2.1/servers >/dev/null; expect_status 200
api "$tok" GET /identity/v3/auth/tokens "" -H "X-Subject-Token: $tok" >/dev/null; expect_status 200
api "$tok" GET /v3/auth/tokens "" -H "X-Subject-Token: $tok" >/dev/null; expect_status 200
need_novaclient
password_env alice demo
nova list >"$T/out" || fail "nova list through the catalog: $(cat "$T/nova.err")"
