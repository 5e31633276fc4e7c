#!/usr/bin/env bash
# A volume's view has exactly Cinder's fields for the microversion asked
# for (Tempest's schemas allow no others): the 3.0 core with
# consistencygroup_id, then group_id (3.13), service_uuid and
# shared_targets (3.48), volume_type_id (3.63), encryption_key_id (3.64),
# consumes_quota (3.65); admin-only fields for admins; the tenant attribute
# in show and lists but not in the create reply; no attach_status.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
adm=$(api_token admin)
PID_DEMO=$(project_id demo)
core='["attachments","availability_zone","bootable","consistencygroup_id","created_at","description","encrypted","id","links","metadata","multiattach","name","replication_status","size","snapshot_id","source_volid","status","updated_at","user_id","volume_type"]'
keys_are() {  # keys_are JQ_PATH EXPECTED_JSON_ARRAY WHAT
  jq -e --argjson want "$2" "$1 | keys == (\$want | sort)" "$T/last.body" >/dev/null \
    || fail "$3: keys $(jq -c "$1 | keys" "$T/last.body"), want $(jq -nc --argjson w "$2" '$w | sort')"
}
volmv() { echo "OpenStack-API-Version: volume 3.$1"; }

api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":1}}' >/dev/null; expect_status 202
VID=$(jq -r .volume.id "$T/last.body")
keys_are .volume "$core" "create reply at 3.0"

with() { jq -nc --argjson a "$core" --argjson b "$1" '$a + $b'; }
tenant='["os-vol-tenant-attr:tenant_id"]'
api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" >/dev/null; expect_status 200
keys_are .volume "$(with "$tenant")" "show at 3.0"
api "$tok" GET "/v3/$PID_DEMO/volumes/detail" >/dev/null; expect_status 200
keys_are '.volumes[0]' "$(with "$tenant")" "detail list at 3.0"
jq -e ".volumes[0][\"os-vol-tenant-attr:tenant_id\"] == \"$PID_DEMO\"" "$T/last.body" >/dev/null \
  || fail "tenant attribute $(cat "$T/last.body")"

steps='13:["group_id"] 47:["group_id"] 48:["group_id","service_uuid","shared_targets"] 63:["group_id","service_uuid","shared_targets","volume_type_id"] 64:["group_id","service_uuid","shared_targets","volume_type_id","encryption_key_id"] 70:["group_id","service_uuid","shared_targets","volume_type_id","encryption_key_id","consumes_quota"]'
for s in $steps; do
  v=${s%%:*} extra=${s#*:}
  api "$tok" GET "/v3/$PID_DEMO/volumes/$VID" "" -H "$(volmv "$v")" >/dev/null; expect_status 200
  keys_are .volume "$(with "$(jq -nc --argjson a "$tenant" --argjson b "$extra" '$a + $b')")" "show at 3.$v"
done
jq -e '.volume | .shared_targets == false and .consumes_quota == true and .encryption_key_id == null
       and .group_id == null and .consistencygroup_id == null and (.service_uuid | test("^[0-9a-f-]{36}$"))' \
  "$T/last.body" >/dev/null || fail "values at 3.70: $(cat "$T/last.body")"

# the same volume seen by an admin adds the admin-only attributes
admin_extra='["os-vol-tenant-attr:tenant_id","group_id","service_uuid","shared_targets","volume_type_id","encryption_key_id","consumes_quota","provider_id","cluster_name","migration_status","os-vol-host-attr:host","os-vol-mig-status-attr:migstat","os-vol-mig-status-attr:name_id"]'
api "$adm" GET "/v3/$PID_DEMO/volumes/$VID" "" -H "$(volmv 70)" >/dev/null; expect_status 200
keys_are .volume "$(with "$admin_extra")" "admin show at 3.70"
jq -e '.volume["os-vol-host-attr:host"] == "host1@volswap#pool1"' "$T/last.body" >/dev/null \
  || fail "host attribute $(cat "$T/last.body")"
