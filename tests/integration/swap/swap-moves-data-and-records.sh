#!/usr/bin/env bash
# A swap of an idle attached volume: 202 with no body, then the attachment
# names the new volume, the old one is available and the new one in-use,
# the export serves the new node, every byte written before the swap is on
# the new volume's file, and the swap_volume action has a successful
# compute_swap_volume event.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
swap_setup
OLD=$(new_volume "$ADMIN_TOKEN" 1); NEW=$(new_volume "$ADMIN_TOKEN" 1)
SID=$(new_server "$ADMIN_TOKEN")
attach "$ADMIN_TOKEN" "$SID" "$OLD"; expect_status 200
URI=$(export_uri "$ADMIN_TOKEN" "$SID" "$OLD")
nbd_fill "$URI" 0x5a 4
swap_put "$ADMIN_TOKEN" "$SID" "$OLD" "$NEW"
expect_status 202
[ ! -s "$T/last.body" ] || fail "202 with a body: $(cat "$T/last.body")"
REQ=$(header x-openstack-request-id)
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "swap did not complete: $(cat "$T/last.body")"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment still names $(attached_volume "$SID")"
[ "$(volume_field "$OLD" status)" = available ] || fail "old volume is $(volume_field "$OLD" status)"
[ "$(volume_field "$NEW" status)" = in-use ] || fail "new volume is $(volume_field "$NEW" status)"
[ "$(volume_field "$NEW" attachments[0].server_id)" = "$SID" ] || fail "new volume's attachment"
file_check "$(volume_path "$NEW")" 0x5a 4
# the export (same URI) now serves the new volume: a write lands there
nbd_fill "$URI" 0x33 1
file_check "$(volume_path "$NEW")" 0x33 1
file_check "$(volume_path "$OLD")" 0x5a 4
[ "$(export_node "$SID")" = "$(reg_sql "SELECT node_name FROM attachments WHERE server_id='$SID'")" ] \
  || fail "the export serves $(export_node "$SID"), the registry says otherwise"
api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID/os-instance-actions/$REQ" >/dev/null
expect_status 200
[ "$(jq -r .instanceAction.action "$T/last.body")" = swap_volume ] || fail "action: $(cat "$T/last.body")"
[ "$(jq -r '.instanceAction.events[] | select(.event=="compute_swap_volume") | .result' "$T/last.body")" = Success ] \
  || fail "event: $(cat "$T/last.body")"
P=$(progress "$SID" "$NEW")
[ "$(echo "$P" | jq -r .phase)" = done ] || fail "progress: $P"
[ "$(echo "$P" | jq -r .bytes_remaining)" = 0 ] || fail "progress: $P"
echo "ok: $P"
