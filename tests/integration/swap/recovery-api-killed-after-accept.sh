#!/usr/bin/env bash
# volswap-api dies right after answering 202 (states marked, swap recorded
# as "accepted", nothing done on the host yet). The window is too short to
# hit with a signal, so the test builds that state in the registry while
# the API is stopped, then starts it: recovery runs the swap from the
# start and it completes -- the server ends on the new volume with its data.
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
swap_setup
attached_pair 1 4
ATT=$(sqlite3 "$T/registry.db" "SELECT id FROM attachments WHERE volume_id='$OLD'")
NODE=$(sqlite3 "$T/registry.db" "SELECT node_name FROM attachments WHERE volume_id='$OLD'")
NEWNODE=vol-$(echo "$NEW" | tr -d - | cut -c1-26)
PROJ=$(sqlite3 "$T/registry.db" "SELECT project_id FROM servers WHERE id='$SID'")
api_stop
NOW=2026-01-01T00:00:00.000000
sqlite3 "$T/registry.db" <<SQL
UPDATE volumes SET status='detaching' WHERE id='$OLD';
UPDATE volumes SET status='attaching' WHERE id='$NEW';
INSERT INTO instance_actions(request_id, server_id, action, project_id, user_id, message, start_time, updated_at)
  VALUES('req-crashed', '$SID', 'swap_volume', '$PROJ', 'admin', '', '$NOW', '$NOW');
INSERT INTO swaps(id, kind, server_id, project_id, user_id, host, old_volume_id, new_volume_id,
  attachment_id, old_node, new_node, old_path, old_size_gb, new_size_gb, phase, error, started_at,
  updated_at, bytes_total, bytes_done, mirror_ms, pivot_ms, total_ms, seq)
  VALUES('req-crashed', 'swap', '$SID', '$PROJ', 'admin', 'host1', '$OLD', '$NEW', '$ATT', '$NODE',
  '$NEWNODE', '', 1, 1, 'accepted', '', '$NOW', '$NOW', 0, 0, 0, 0, 0, 1);
SQL
api_start
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "recovered swap: $(cat "$T/last.body")"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(volume_field "$OLD" status)" = available ] && [ "$(volume_field "$NEW" status)" = in-use ] \
  || fail "states: $(volume_field "$OLD" status) / $(volume_field "$NEW" status)"
file_check "$(volume_path "$NEW")" 0x5a 4
api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID/os-instance-actions/req-crashed" >/dev/null
[ "$(jq -r '.instanceAction.events[] | select(.event=="compute_swap_volume") | .result' "$T/last.body")" = Success ] \
  || fail "event: $(cat "$T/last.body")"
echo ok
