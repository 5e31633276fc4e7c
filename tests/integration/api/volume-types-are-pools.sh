#!/usr/bin/env bash
# Each pool is a volume type: GET /types lists pool1 and pool2 with stable
# ids (the same after a restart), GET /types/{id} and a volume create by
# the type's id or name land in that pool, and a volume shows its type id
# from 3.63. Availability zones: Cinder's are "nova" and the host, Nova's
# "nova". The unmodified openstack client lists both and creates a volume
# with --type.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
PID_DEMO=$(project_id demo)
api "$tok" GET "/v3/$PID_DEMO/types" >/dev/null; expect_status 200
jq -e '[.volume_types[].name] == ["pool1", "pool2"] and (.volume_types[0].id | test("^[0-9a-f-]{36}$"))' \
  "$T/last.body" >/dev/null || fail "types: $(cat "$T/last.body")"
t2=$(jq -r '.volume_types[] | select(.name=="pool2") | .id' "$T/last.body")
api_restart
tok=$(api_token alice)
api "$tok" GET "/v3/$PID_DEMO/types/$t2" >/dev/null; expect_status 200
jq -e '.volume_type.name == "pool2"' "$T/last.body" >/dev/null || fail "type after restart: $(cat "$T/last.body")"
api "$tok" GET "/v3/$PID_DEMO/types/nope" >/dev/null; expect_status 404
api "$tok" POST "/v3/$PID_DEMO/volumes" "{\"volume\":{\"size\":1,\"volume_type\":\"$t2\"}}" \
  -H 'OpenStack-API-Version: volume 3.63' >/dev/null
expect_status 202
jq -e --arg t "$t2" '.volume.volume_type == "pool2" and .volume.volume_type_id == $t' "$T/last.body" \
  >/dev/null || fail "volume by type id: $(cat "$T/last.body")"
v=$(jq -r .volume.id "$T/last.body")
case "$(reg_sql "SELECT path FROM volumes WHERE id='$v'")" in
  "$T/pool2/"*) ;; *) fail "volume not in pool2";; esac
api "$tok" GET "/v3/$PID_DEMO/os-availability-zone" >/dev/null; expect_status 200
jq -e '[.availabilityZoneInfo[].zoneName] == ["nova", "host1"]' "$T/last.body" >/dev/null \
  || fail "cinder zones: $(cat "$T/last.body")"
api "$tok" GET "/v2.1/os-availability-zone" >/dev/null; expect_status 200
jq -e '[.availabilityZoneInfo[].zoneName] == ["nova"]' "$T/last.body" >/dev/null \
  || fail "nova zones: $(cat "$T/last.body")"
if [ -x /usr/bin/openstack ]; then
  password_env alice demo
  export OS_IDENTITY_API_VERSION=3
  osc() { pyclient openstack "$@"; }
  osc volume type list -f value -c Name >"$T/out" || fail "type list: $(cat "$T/openstack.err")"
  [ "$(tr '\n' ' ' <"$T/out")" = "pool1 pool2 " ] || fail "type list: $(cat "$T/out")"
  osc volume create --size 1 --type pool2 -f value -c type tv >"$T/out" || fail "create: $(cat "$T/openstack.err")"
  grep -qx pool2 "$T/out" || fail "create --type: $(cat "$T/out")"
  osc availability zone list --compute --volume -f value -c "Zone Name" >"$T/out" || fail "az list: $(cat "$T/openstack.err")"
  grep -qx host1 "$T/out" || fail "az list: $(cat "$T/out")"
fi
echo ok
