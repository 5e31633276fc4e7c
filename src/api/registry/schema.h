/* The registry's schema: the numbered migrations, written once for both
 * backends. Where the dialects differ, the text names a word the backend
 * defines before it includes this file:
 *   SQL_I64            a 64-bit integer column's type
 *   SQL_ROW_SEQ        what numbers an action's or event's rows in their
 *                      order of insertion, with its comma ("" where the
 *                      table's own rowid does)
 *   SQL_SWAP_SEQ       the column that orders the swap records
 *   SQL_SERIAL_KEY     an integer primary key the database counts up
 *   SQL_INDEX_PATH     an index of the volumes' paths, or ""
 *   SQL_VOLUME_META_GONE, SQL_VOLUME_IMAGE_META_GONE
 *                      the triggers that delete a volume's metadata with
 *                      it, or "" where the volume delete does it itself
 *   SQL_LEASE_COLUMNS  migration 6 (ALTER TABLE spells several columns
 *                      differently)
 *   SQL_RESOURCE_TYPES the INSERT of Glance's resource types of migration 11
 * Private to src/api/registry. */
#ifndef VOLSWAP_API_REGISTRY_SCHEMA_H
#define VOLSWAP_API_REGISTRY_SCHEMA_H

/* clang-format off */
#define REG_MIGRATIONS                                                                        \
    /* 1: the initial schema */                                                               \
    "CREATE TABLE hosts (name TEXT PRIMARY KEY, driver TEXT NOT NULL,"                        \
    "  qmp TEXT NOT NULL, nbd TEXT NOT NULL);"                                                \
    "CREATE TABLE servers (id TEXT PRIMARY KEY, name TEXT NOT NULL,"                          \
    "  project_id TEXT NOT NULL, user_id TEXT NOT NULL,"                                      \
    "  host TEXT NOT NULL REFERENCES hosts(name),"                                            \
    "  status TEXT NOT NULL, vm_state TEXT NOT NULL, task_state TEXT NOT NULL,"               \
    "  locked INTEGER NOT NULL DEFAULT 0,"                                                    \
    "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"                                  \
    "CREATE INDEX servers_project ON servers(project_id);"                                    \
    "CREATE TABLE volumes (id TEXT PRIMARY KEY, project_id TEXT NOT NULL,"                    \
    "  user_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,"                 \
    "  size_gb " SQL_I64 " NOT NULL, host TEXT NOT NULL REFERENCES hosts(name),"              \
    "  pool TEXT NOT NULL, path TEXT NOT NULL, status TEXT NOT NULL,"                         \
    "  attach_status TEXT NOT NULL, migration_status TEXT NOT NULL,"                          \
    "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"                                  \
    "CREATE INDEX volumes_project ON volumes(project_id);"                                    \
    SQL_INDEX_PATH                                                                            \
    "CREATE TABLE attachments (id TEXT PRIMARY KEY, bdm_uuid TEXT NOT NULL,"                  \
    "  server_id TEXT NOT NULL REFERENCES servers(id),"                                       \
    "  volume_id TEXT NOT NULL UNIQUE REFERENCES volumes(id),"                                \
    "  device TEXT NOT NULL, tag TEXT NOT NULL,"                                              \
    "  delete_on_termination INTEGER NOT NULL, node_name TEXT NOT NULL,"                      \
    "  export_id TEXT NOT NULL, export_name TEXT NOT NULL,"                                   \
    "  connection_info TEXT NOT NULL, created_at TEXT NOT NULL,"                              \
    "  UNIQUE(server_id, device));"                                                           \
    "CREATE TABLE instance_actions (request_id TEXT NOT NULL,"                                \
    "  server_id TEXT NOT NULL REFERENCES servers(id), action TEXT NOT NULL,"                 \
    "  project_id TEXT NOT NULL, user_id TEXT NOT NULL, message TEXT NOT NULL,"               \
    "  start_time TEXT NOT NULL, updated_at TEXT NOT NULL," SQL_ROW_SEQ                       \
    "  PRIMARY KEY(server_id, request_id));"                                                  \
    "CREATE TABLE instance_action_events (request_id TEXT NOT NULL,"                          \
    "  event TEXT NOT NULL, start_time TEXT NOT NULL, finish_time TEXT NOT NULL,"             \
    "  result TEXT NOT NULL, traceback TEXT NOT NULL, host TEXT NOT NULL,"                    \
    "  details TEXT NOT NULL," SQL_ROW_SEQ " PRIMARY KEY(request_id, event));",               \
    /* 2: Keystone tokens, so that a restart keeps everyone logged in */                      \
    "CREATE TABLE tokens (id_hash TEXT PRIMARY KEY, auth TEXT NOT NULL,"                      \
    "  expires " SQL_I64 " NOT NULL);"                                                        \
    "CREATE INDEX tokens_expires ON tokens(expires);",                                        \
    /* 3: volume and server metadata; a volume's leaves with its row (servers                 \
     * are never deleted, only marked) */                                                     \
    "CREATE TABLE metadata (kind TEXT NOT NULL, owner TEXT NOT NULL,"                         \
    "  key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(kind, owner, key));"               \
    SQL_VOLUME_META_GONE,                                                                     \
    /* 4: the swap records join the registry, so that a swap's phase and the                  \
     * registry changes it implies commit in one transaction. No foreign                      \
     * keys: a record outlives the volumes it names. */                                       \
    "CREATE TABLE swaps (id TEXT PRIMARY KEY, kind TEXT NOT NULL,"                            \
    "  server_id TEXT NOT NULL, project_id TEXT NOT NULL, user_id TEXT NOT NULL,"             \
    "  host TEXT NOT NULL, old_volume_id TEXT NOT NULL, new_volume_id TEXT NOT NULL,"         \
    "  attachment_id TEXT NOT NULL, old_node TEXT NOT NULL, new_node TEXT NOT NULL,"          \
    "  old_path TEXT NOT NULL, old_size_gb " SQL_I64 " NOT NULL, new_size_gb " SQL_I64        \
    " NOT NULL,"                                                                              \
    "  phase TEXT NOT NULL, error TEXT NOT NULL,"                                             \
    "  started_at TEXT NOT NULL, updated_at TEXT NOT NULL,"                                   \
    "  bytes_total " SQL_I64 " NOT NULL, bytes_done " SQL_I64 " NOT NULL,"                    \
    "  mirror_ms " SQL_I64 " NOT NULL, pivot_ms " SQL_I64 " NOT NULL, total_ms " SQL_I64      \
    " NOT NULL,"                                                                              \
    "  " SQL_SWAP_SEQ ");"                                                                    \
    "CREATE INDEX swaps_server ON swaps(server_id, seq);"                                     \
    "CREATE INDEX swaps_phase ON swaps(phase, seq);",                                         \
    /* 5: the series a swap's worker sampled while it ran (a JSON document),                  \
     * kept for its report. An install that made this table outside the                      \
     * migrations keeps it as it is. */                                                       \
    "CREATE TABLE IF NOT EXISTS swap_series (id TEXT PRIMARY KEY, series TEXT NOT NULL);",    \
    /* 6: each swap's lease: the node driving it, the epoch of its hold and                   \
     * when the hold lapses (ms since the epoch); a record from before has                    \
     * no owner and a lapsed lease, so whoever starts takes it over */                        \
    SQL_LEASE_COLUMNS,                                                                        \
    /* 7: Cinder's bootable flag and readonly admin metadata of a volume */                   \
    "ALTER TABLE volumes ADD COLUMN bootable INTEGER NOT NULL DEFAULT 0;"                     \
    "ALTER TABLE volumes ADD COLUMN readonly INTEGER NOT NULL DEFAULT -1;",                   \
    /* 8: Nova's key pairs, unique per user and name */                                       \
    "CREATE TABLE keypairs (id " SQL_SERIAL_KEY ", user_id TEXT NOT NULL,"                    \
    "  name TEXT NOT NULL, type TEXT NOT NULL, fingerprint TEXT NOT NULL,"                    \
    "  public_key TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE(user_id, name));",          \
    /* 9: Glance's images; a volume's image metadata leaves with its row */                   \
    "CREATE TABLE images (id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL,"      \
    "  status TEXT NOT NULL, visibility TEXT NOT NULL, disk_format TEXT NOT NULL,"            \
    "  container_format TEXT NOT NULL, size " SQL_I64 " NOT NULL, virtual_size " SQL_I64      \
    " NOT NULL,"                                                                              \
    "  checksum TEXT NOT NULL, os_hash_algo TEXT NOT NULL, os_hash_value TEXT NOT NULL,"      \
    "  min_disk " SQL_I64 " NOT NULL, min_ram " SQL_I64 " NOT NULL, protected INTEGER NOT NULL," \
    "  os_hidden INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"      \
    SQL_VOLUME_IMAGE_META_GONE,                                                               \
    /* 10: a server's attachments in the order they are listed, read from an                  \
     * index rather than sorted for every list */                                             \
    "CREATE INDEX IF NOT EXISTS attachments_server"                                           \
    "  ON attachments(server_id, created_at, device);",                                       \
    /* 11: Glance's image members and metadata definitions (the catalog's                     \
     * namespaces and what they hold, stored as JSON documents), with the                     \
     * resource types Glance's own catalog names */                                           \
    "CREATE TABLE IF NOT EXISTS image_members (image_id TEXT NOT NULL, member TEXT NOT NULL," \
    "  status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"             \
    "  PRIMARY KEY(image_id, member));"                                                       \
    "CREATE INDEX IF NOT EXISTS image_members_member ON image_members(member);"               \
    "CREATE TABLE IF NOT EXISTS metadefs (kind TEXT NOT NULL, namespace TEXT NOT NULL,"       \
    " name TEXT NOT NULL,"                                                                    \
    "  body TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"               \
    "  seq " SQL_SERIAL_KEY ", UNIQUE(kind, namespace, name));"                               \
    "CREATE INDEX IF NOT EXISTS metadefs_namespace ON metadefs(namespace);"                   \
    SQL_RESOURCE_TYPES
/* clang-format on */

#endif
