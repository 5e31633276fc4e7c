#!/usr/bin/env bash
# Every record survives a restart of volswap-api: volumes with their states,
# servers, attachments (with connection_info) and instance actions with
# their events; the export keeps being served by the host meanwhile, and a
# detach after the restart works from the stored record.
. "$(dirname "$0")/lib.sh"
command -v nbdinfo >/dev/null || skip "nbdinfo not installed"
api_setup
tok=$(api_token alice)
make_volume_and_server "$tok"
vid2=$(api "$tok" POST "/v3/$PID_DEMO/volumes" '{"volume":{"size":2,"name":"spare"}}' | jq -r .volume.id)
attach "$tok" "$SID" "$VID"; expect_status 200
uri=$(export_uri "$tok" "$SID" "$VID")
snap() {
  local t=$1
  { api "$t" GET "/v3/$PID_DEMO/volumes/detail" | jq -S '[.volumes[] | del(.links)]'
    api "$t" GET /v2.1/servers/detail | jq -S '[.servers[] | del(.links)]'
    api "$t" GET "/v2.1/servers/$SID/os-volume_attachments" "" -H 'OpenStack-API-Version: compute 2.89' | jq -S .
    api "$t" GET "/v3/$PID_DEMO/attachments/detail" "" -H 'OpenStack-API-Version: volume 3.27' | jq -S .
    api "$t" GET "/v2.1/servers/$SID/os-instance-actions" "" -H 'OpenStack-API-Version: compute 2.58' | jq -S .
  } | sed "s/127.0.0.1:[0-9]*/HOST/g"
}
snap "$tok" >"$T/before"
api_restart
tok=$(api_token alice)
snap "$tok" >"$T/after"
diff "$T/before" "$T/after" || fail "records changed across restart"
grep -q "$vid2" "$T/after" || fail "spare volume lost"
nbdinfo --size "$uri" >/dev/null || fail "export gone"
api "$tok" DELETE "/v2.1/servers/$SID/os-volume_attachments/$VID" >/dev/null; expect_status 202
if nbdinfo --size "$uri" 2>/dev/null; then fail "export not removed after restart"; fi
