#!/usr/bin/env bash
# An install from before the swap records joined the registry's numbered
# migrations is upgraded with a swap in flight: its database is at schema 3
# with the old swap store's `swaps` table beside the registry, holding a
# swap accepted (states marked, nothing done on the host yet) when the old
# volswap-api stopped. The new one migrates the table on start, and
# recovery runs that swap to the end: the server ends on the new volume
# with its data, and the records are under schema 4.
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
DROP TABLE swaps;
UPDATE schema_version SET version=3;
CREATE TABLE IF NOT EXISTS swaps (id TEXT PRIMARY KEY, kind TEXT NOT NULL,
  server_id TEXT NOT NULL, project_id TEXT NOT NULL, user_id TEXT NOT NULL,
  host TEXT NOT NULL, old_volume_id TEXT NOT NULL, new_volume_id TEXT NOT NULL,
  attachment_id TEXT NOT NULL, old_node TEXT NOT NULL, new_node TEXT NOT NULL,
  old_path TEXT NOT NULL,
  old_size_gb INTEGER NOT NULL, new_size_gb INTEGER NOT NULL, phase TEXT NOT NULL,
  error TEXT NOT NULL, started_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  bytes_total INTEGER NOT NULL, bytes_done INTEGER NOT NULL,
  mirror_ms INTEGER NOT NULL, pivot_ms INTEGER NOT NULL, total_ms INTEGER NOT NULL,
  seq INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS swaps_server ON swaps(server_id);
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
[ "$(sqlite3 "$T/registry.db" "SELECT version FROM schema_version")" = 4 ] || fail "not migrated"
[ "$(wait_swap "$SID" "$OLD")" = completed ] || fail "recovered swap: $(cat "$T/last.body")"
[ "$(attached_volume "$SID")" = "$NEW" ] || fail "attachment names $(attached_volume "$SID")"
[ "$(volume_field "$OLD" status)" = available ] && [ "$(volume_field "$NEW" status)" = in-use ] \
  || fail "states: $(volume_field "$OLD" status) / $(volume_field "$NEW" status)"
file_check "$(volume_path "$NEW")" 0x5a 4
api "$ADMIN_TOKEN" GET "/v2.1/servers/$SID/os-instance-actions/req-crashed" >/dev/null
[ "$(jq -r '.instanceAction.events[] | select(.event=="compute_swap_volume") | .result' "$T/last.body")" = Success ] \
  || fail "event: $(cat "$T/last.body")"
[ "$(sqlite3 "$T/registry.db" "SELECT phase FROM swaps WHERE id='req-crashed'")" = done ] \
  || fail "record: $(sqlite3 "$T/registry.db" "SELECT phase FROM swaps")"
echo ok
