#!/usr/bin/env bash
# An install from before the swap records joined the registry's numbered
# migrations is upgraded with a swap in flight: its database is at schema 3
# with the old swap store's `swaps` table beside the registry, holding a
# swap accepted (states marked, nothing done on the host yet) when the old
# volswap-api stopped. The new one migrates the table on start, and
# recovery runs that swap to the end: the server ends on the new volume
# with its data, and the records are under the current schema.
# an SQLite install's history (PostgreSQL registries began at the swap
# records' migration): on SQLite whatever the suite runs on
VOLSWAP_TEST_DB=sqlite
. "$VOLSWAP_SRC/tests/integration/swap/lib.sh"
swap_setup
attached_pair 1 4
api_stop
plant_accepted_swap "
DROP TABLE swaps;
ALTER TABLE volumes DROP COLUMN bootable;
ALTER TABLE volumes DROP COLUMN readonly;
DROP TABLE keypairs;
DROP TRIGGER volume_image_metadata_gone;
DROP TABLE images;
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
CREATE INDEX IF NOT EXISTS swaps_server ON swaps(server_id);"
api_start
[ "$(sqlite3 "$T/registry.db" "SELECT version FROM schema_version")" = 11 ] || fail "not migrated"
expect_planted_swap_completed
[ "$(sqlite3 "$T/registry.db" "SELECT phase FROM swaps WHERE id='req-crashed'")" = done ] \
  || fail "record: $(sqlite3 "$T/registry.db" "SELECT phase FROM swaps")"
echo ok
