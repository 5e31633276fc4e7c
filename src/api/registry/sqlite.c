/* The SQLite registry backend (registry.h). Writes go through one writer
 * connection shared by the HTTP threads and the swap workers, serialised by
 * a recursive mutex held from a transaction's begin to its end: SQLite
 * serialises writers anyway, and a single connection lets one thread's
 * transaction span several calls (a swap's phase and the volume and
 * attachment changes it implies commit together). Nested begins are
 * savepoints. Reads inside a transaction run on the writer's connection,
 * which holds the transaction's own writes; every other read runs on the
 * calling thread's reader connection (opened at its first read), without
 * the writer's lock, and a read scope (read_begin, one per HTTP request)
 * keeps one read transaction open on it, so SQLite takes its WAL read
 * lock (an fcntl on the -shm file) once a request, not once a statement. WAL mode keeps readers off the
 * writer's back, foreign keys keep attachments and events tied to what they
 * name, and the schema is built by numbered migrations recorded in
 * schema_version so an old database is upgraded in place. Every statement
 * is prepared once, with bound parameters only. */
#include "registry.h"
#include "statements.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE hosts (name TEXT PRIMARY KEY, driver TEXT NOT NULL,"
    "  qmp TEXT NOT NULL, nbd TEXT NOT NULL);"
    "CREATE TABLE servers (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
    "  project_id TEXT NOT NULL, user_id TEXT NOT NULL,"
    "  host TEXT NOT NULL REFERENCES hosts(name),"
    "  status TEXT NOT NULL, vm_state TEXT NOT NULL, task_state TEXT NOT NULL,"
    "  locked INTEGER NOT NULL DEFAULT 0,"
    "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE INDEX servers_project ON servers(project_id);"
    "CREATE TABLE volumes (id TEXT PRIMARY KEY, project_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,"
    "  size_gb INTEGER NOT NULL, host TEXT NOT NULL REFERENCES hosts(name),"
    "  pool TEXT NOT NULL, path TEXT NOT NULL, status TEXT NOT NULL,"
    "  attach_status TEXT NOT NULL, migration_status TEXT NOT NULL,"
    "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE INDEX volumes_project ON volumes(project_id);"
    "CREATE TABLE attachments (id TEXT PRIMARY KEY, bdm_uuid TEXT NOT NULL,"
    "  server_id TEXT NOT NULL REFERENCES servers(id),"
    "  volume_id TEXT NOT NULL UNIQUE REFERENCES volumes(id),"
    "  device TEXT NOT NULL, tag TEXT NOT NULL,"
    "  delete_on_termination INTEGER NOT NULL, node_name TEXT NOT NULL,"
    "  export_id TEXT NOT NULL, export_name TEXT NOT NULL,"
    "  connection_info TEXT NOT NULL, created_at TEXT NOT NULL,"
    "  UNIQUE(server_id, device));"
    "CREATE TABLE instance_actions (request_id TEXT NOT NULL,"
    "  server_id TEXT NOT NULL REFERENCES servers(id), action TEXT NOT NULL,"
    "  project_id TEXT NOT NULL, user_id TEXT NOT NULL, message TEXT NOT NULL,"
    "  start_time TEXT NOT NULL, updated_at TEXT NOT NULL,"
    "  PRIMARY KEY(server_id, request_id));"
    "CREATE TABLE instance_action_events (request_id TEXT NOT NULL,"
    "  event TEXT NOT NULL, start_time TEXT NOT NULL, finish_time TEXT NOT NULL,"
    "  result TEXT NOT NULL, traceback TEXT NOT NULL, host TEXT NOT NULL,"
    "  details TEXT NOT NULL, PRIMARY KEY(request_id, event));",
    /* 2: Keystone tokens, so that a restart keeps everyone logged in */
    "CREATE TABLE tokens (id_hash TEXT PRIMARY KEY, auth TEXT NOT NULL,"
    "  expires INTEGER NOT NULL);"
    "CREATE INDEX tokens_expires ON tokens(expires);",
    /* 3: volume and server metadata; a volume's leaves with its row (servers
   * are never deleted, only marked) */
    "CREATE TABLE metadata (kind TEXT NOT NULL, owner TEXT NOT NULL,"
    "  key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(kind, owner, key));"
    "CREATE TRIGGER volume_metadata_gone AFTER DELETE ON volumes BEGIN"
    "  DELETE FROM metadata WHERE kind='volume' AND owner=old.id; END;",
    /* 4: the swap records join the registry, so that a swap's phase and the
     * registry changes it implies commit in one transaction. Before, the
     * swap workflow kept them on a connection of its own in a `swaps` table
     * made outside these migrations; adopt_unnumbered_swaps moves such a
     * table's rows (an upgraded install's in-flight swaps among them) into
     * this one. No foreign keys: a record outlives the volumes it names. */
    "CREATE TABLE swaps (id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
    "  server_id TEXT NOT NULL, project_id TEXT NOT NULL, user_id TEXT NOT NULL,"
    "  host TEXT NOT NULL, old_volume_id TEXT NOT NULL, new_volume_id TEXT NOT NULL,"
    "  attachment_id TEXT NOT NULL, old_node TEXT NOT NULL, new_node TEXT NOT NULL,"
    "  old_path TEXT NOT NULL, old_size_gb INTEGER NOT NULL, new_size_gb INTEGER NOT NULL,"
    "  phase TEXT NOT NULL, error TEXT NOT NULL,"
    "  started_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    "  bytes_total INTEGER NOT NULL, bytes_done INTEGER NOT NULL,"
    "  mirror_ms INTEGER NOT NULL, pivot_ms INTEGER NOT NULL, total_ms INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL UNIQUE);"
    "CREATE INDEX swaps_server ON swaps(server_id, seq);"
    "CREATE INDEX swaps_phase ON swaps(phase, seq);",
    /* 5: the series a swap's worker sampled while it ran (a JSON document),
     * kept for its report. An install that made this table outside the
     * migrations keeps it as it is. */
    "CREATE TABLE IF NOT EXISTS swap_series (id TEXT PRIMARY KEY, series TEXT NOT NULL);",
    /* 6: each swap's lease: the node driving it, the epoch of its hold and
     * when the hold lapses (ms since the epoch); a record from before has
     * no owner and a lapsed lease, so whoever starts takes it over */
    "ALTER TABLE swaps ADD COLUMN owner TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE swaps ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE swaps ADD COLUMN lease_expires INTEGER NOT NULL DEFAULT 0;",
    /* 7: Cinder's bootable flag and readonly admin metadata of a volume */
    "ALTER TABLE volumes ADD COLUMN bootable INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE volumes ADD COLUMN readonly INTEGER NOT NULL DEFAULT -1;",
    /* 8: Nova's key pairs, unique per user and name */
    "CREATE TABLE keypairs (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL,"
    "  name TEXT NOT NULL, type TEXT NOT NULL, fingerprint TEXT NOT NULL,"
    "  public_key TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE(user_id, name));",
    /* 9: Glance's images; a volume's image metadata leaves with its row */
    "CREATE TABLE images (id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL,"
    "  status TEXT NOT NULL, visibility TEXT NOT NULL, disk_format TEXT NOT NULL,"
    "  container_format TEXT NOT NULL, size INTEGER NOT NULL, virtual_size INTEGER NOT NULL,"
    "  checksum TEXT NOT NULL, os_hash_algo TEXT NOT NULL, os_hash_value TEXT NOT NULL,"
    "  min_disk INTEGER NOT NULL, min_ram INTEGER NOT NULL, protected INTEGER NOT NULL,"
    "  os_hidden INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE TRIGGER volume_image_metadata_gone AFTER DELETE ON volumes BEGIN"
    "  DELETE FROM metadata WHERE kind='volume-image' AND owner=old.id; END;",
    /* 10: a server's attachments in the order they are listed, read from an
     * index rather than sorted for every list */
    "CREATE INDEX IF NOT EXISTS attachments_server"
    "  ON attachments(server_id, created_at, device);",
    /* 11: Glance's image members and metadata definitions (the catalog's
     * namespaces and what they hold, stored as JSON documents), with the
     * resource types Glance's own catalog names */
    "CREATE TABLE IF NOT EXISTS image_members (image_id TEXT NOT NULL, member TEXT NOT NULL,"
    "  status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    "  PRIMARY KEY(image_id, member));"
    "CREATE INDEX IF NOT EXISTS image_members_member ON image_members(member);"
    "CREATE TABLE IF NOT EXISTS metadefs (kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,"
    "  body TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT, UNIQUE(kind, namespace, name));"
    "CREATE INDEX IF NOT EXISTS metadefs_namespace ON metadefs(namespace);"
    "INSERT OR IGNORE INTO metadefs(kind, namespace, name, body, created_at, updated_at)"
    "  SELECT 'resource_type', '', t, '{}', strftime('%Y-%m-%dT%H:%M:%SZ','now'),"
    "  strftime('%Y-%m-%dT%H:%M:%SZ','now') FROM (SELECT 'OS::Glance::Image' AS t"
    "  UNION ALL SELECT 'OS::Cinder::Volume' UNION ALL SELECT 'OS::Nova::Flavor'"
    "  UNION ALL SELECT 'OS::Nova::Aggregate' UNION ALL SELECT 'OS::Nova::Server'"
    "  UNION ALL SELECT 'OS::Trove::Instance');",
};
#define N_MIGRATIONS    (int)(sizeof migrations / sizeof migrations[0])
#define SWAPS_MIGRATION 4

/* now on the database's clock, in ms since the epoch */
#define NOW_MS "CAST((julianday('now')-2440587.5)*86400000.0 AS INTEGER)"

/* clang-format off */
enum q {
    REG_STATEMENTS(REG_Q_ENUM)
    Q_SRV_VIEW_VOL, /* this backend's own: Q_SRV_VIEW of one volume */
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_SAVEPOINT,
    Q_RELEASE,
    Q_ROLLBACK_TO,
    Q__COUNT
};
/* clang-format on */

static const char *const sql_text[Q__COUNT] = {
    [Q_HOST_PUT] = "INSERT INTO hosts(name,driver,qmp,nbd) VALUES(?,?,?,?) "
                   "ON CONFLICT(name) DO UPDATE SET driver=excluded.driver,"
                   "qmp=excluded.qmp, nbd=excluded.nbd",
    [Q_HOST_LIST] = "SELECT name,driver,qmp,nbd FROM hosts ORDER BY name",
    [Q_SRV_INS] = "INSERT INTO servers(" SRV_COLS ") VALUES(?,?,?,?,?,?,?,?,?,?,?)",
    [Q_SRV_GET] = "SELECT " SRV_COLS " FROM servers WHERE id=?",
    [Q_SRV_UPD] = "UPDATE servers SET name=?2,project_id=?3,user_id=?4,host=?5,status=?6,"
                  "vm_state=?7,task_state=?8,locked=?9,created_at=?10,updated_at=?11 WHERE id=?1",
    [Q_SRV_LIST] = "SELECT " SRV_COLS
                   " FROM servers WHERE project_id=? ORDER BY created_at DESC, id",
    [Q_SRV_LIST_ALL] = "SELECT " SRV_COLS " FROM servers ORDER BY created_at DESC, id",
    /* one row per attachment (one with NULLs for none), in the list's
     * order, from the attachments_server index */
    [Q_SRV_VIEW] = "SELECT s.id,s.name,s.project_id,s.user_id,s.host,s.status,s.vm_state,"
                   "s.task_state,s.locked,s.created_at,s.updated_at,a.id,a.bdm_uuid,a.volume_id,"
                   "a.device,a.tag,a.delete_on_termination FROM servers s LEFT JOIN attachments a "
                   "ON a.server_id=s.id WHERE s.id=? ORDER BY a.created_at, a.device",
    [Q_SRV_VIEW_VOL] = "SELECT s.id,s.name,s.project_id,s.user_id,s.host,s.status,s.vm_state,"
                       "s.task_state,s.locked,s.created_at,s.updated_at,a.id,a.bdm_uuid,"
                       "a.volume_id,a.device,a.tag,a.delete_on_termination FROM servers s "
                       "LEFT JOIN attachments a ON a.volume_id=?2 AND a.server_id=s.id "
                       "WHERE s.id=?1",
    [Q_VOL_INS] = "INSERT INTO volumes(" VOL_COLS ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [Q_VOL_GET] = "SELECT " VOL_COLS " FROM volumes WHERE id=?",
    [Q_VOL_UPD] = "UPDATE volumes SET project_id=?2,user_id=?3,name=?4,description=?5,"
                  "size_gb=?6,host=?7,pool=?8,path=?9,status=?10,attach_status=?11,"
                  "migration_status=?12,created_at=?13,updated_at=?14,bootable=?15,readonly=?16 "
                  "WHERE id=?1",
    [Q_VOL_DEL] = "DELETE FROM volumes WHERE id=?",
    [Q_VOL_LIST] = "SELECT " VOL_COLS
                   " FROM volumes WHERE project_id=? ORDER BY created_at DESC, id",
    [Q_VOL_LIST_ALL] = "SELECT " VOL_COLS " FROM volumes ORDER BY created_at DESC, id",
    [Q_VOL_PATH] = "SELECT 1 FROM volumes WHERE path=?",
    [Q_ATT_INS] = "INSERT INTO attachments(" ATT_COLS ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
    [Q_ATT_UPD] = "UPDATE attachments SET bdm_uuid=?2,server_id=?3,volume_id=?4,device=?5,"
                  "tag=?6,delete_on_termination=?7,node_name=?8,export_id=?9,"
                  "export_name=?10,connection_info=?11,created_at=?12 WHERE id=?1",
    [Q_ATT_GET] = "SELECT " ATT_COLS " FROM attachments WHERE server_id=? AND volume_id=?",
    [Q_ATT_GET_ID] = "SELECT " ATT_COLS " FROM attachments WHERE id=?",
    [Q_ATT_GET_VOL] = "SELECT " ATT_COLS " FROM attachments WHERE volume_id=?",
    [Q_ATT_DEL] = "DELETE FROM attachments WHERE id=?",
    [Q_ATT_LIST] = "SELECT " ATT_COLS
                   " FROM attachments WHERE server_id=? ORDER BY created_at, device",
    [Q_ATT_LIST_ALL] = "SELECT " ATT_COLS " FROM attachments ORDER BY created_at, device",
    [Q_ACT_INS] = "INSERT INTO instance_actions(" ACT_COLS ") VALUES(?,?,?,?,?,?,?,?)",
    [Q_ACT_UPD] = "UPDATE instance_actions SET action=?3,project_id=?4,user_id=?5,message=?6,"
                  "start_time=?7,updated_at=?8 WHERE request_id=?1 AND server_id=?2",
    [Q_ACT_GET] = "SELECT " ACT_COLS " FROM instance_actions WHERE server_id=? AND request_id=?",
    [Q_ACT_LIST] = "SELECT " ACT_COLS " FROM instance_actions WHERE server_id=? "
                   "ORDER BY start_time DESC, rowid DESC",
    [Q_EV_INS] = "INSERT INTO instance_action_events(" EV_COLS ") VALUES(?,?,?,?,?,?,?,?)",
    [Q_EV_UPD] = "UPDATE instance_action_events SET start_time=?3,finish_time=?4,result=?5,"
                 "traceback=?6,host=?7,details=?8 WHERE request_id=?1 AND event=?2",
    [Q_EV_LIST] = "SELECT " EV_COLS " FROM instance_action_events WHERE request_id=? "
                  "ORDER BY start_time, rowid",
    [Q_SWAP_INS] = "INSERT INTO swaps(" SWAP_COLS ",lease_expires,seq) VALUES(?,?,?,?,?,?,?,?,"
                   "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?," NOW_MS "+?26,"
                   "(SELECT COALESCE(MAX(seq),0)+1 FROM swaps))",
    [Q_SWAP_UPD] = "UPDATE swaps SET kind=?2,server_id=?3,project_id=?4,user_id=?5,"
                   "host=?6,old_volume_id=?7,new_volume_id=?8,attachment_id=?9,old_node=?10,"
                   "new_node=?11,old_path=?12,old_size_gb=?13,new_size_gb=?14,phase=?15,"
                   "error=?16,started_at=?17,updated_at=?18,bytes_total=?19,bytes_done=?20,"
                   "mirror_ms=?21,pivot_ms=?22,total_ms=?23,lease_expires=" NOW_MS "+?26 "
                   "WHERE id=?1 AND owner=?24 AND epoch=?25",
    [Q_LEASE_RENEW] = "UPDATE swaps SET lease_expires=" NOW_MS "+?4 WHERE id=?1 AND owner=?2 AND "
                      "epoch=?3 AND " SWAP_UNFINISHED,
    [Q_LEASE_TAKE] = "UPDATE swaps SET owner=?1, epoch=epoch+1, lease_expires=" NOW_MS "+?2 "
                     "WHERE " SWAP_UNFINISHED " AND (?3=2 OR lease_expires<" NOW_MS
                     " OR (?3=1 AND owner=?1)) RETURNING " SWAP_COLS,
    [Q_SWAP_OPEN] = "SELECT " SWAP_COLS " FROM swaps WHERE " SWAP_UNFINISHED " ORDER BY seq",
    [Q_SWAP_LATEST] = "SELECT " SWAP_COLS " FROM swaps WHERE server_id=?1 AND "
                      "(old_volume_id=?2 OR new_volume_id=?2) ORDER BY seq DESC LIMIT 1",
    [Q_SWAP_GET] = "SELECT " SWAP_COLS " FROM swaps WHERE id=?",
    [Q_SWAP_ALL] = "SELECT " SWAP_COLS " FROM swaps ORDER BY seq",
    [Q_SERIES_PUT] = "INSERT OR REPLACE INTO swap_series(id,series) VALUES(?,?)",
    [Q_SERIES_GET] = "SELECT series FROM swap_series WHERE id=?",
    [Q_KP_INS] = "INSERT INTO keypairs(user_id,name,type,fingerprint,public_key,created_at) "
                 "VALUES(?,?,?,?,?,?)",
    [Q_KP_GET] = "SELECT " KP_COLS " FROM keypairs WHERE user_id=? AND name=?",
    [Q_KP_LIST] = "SELECT " KP_COLS " FROM keypairs WHERE user_id=? ORDER BY name",
    [Q_KP_LIST_ALL] = "SELECT " KP_COLS " FROM keypairs ORDER BY user_id, name",
    [Q_KP_DEL] = "DELETE FROM keypairs WHERE user_id=? AND name=?",
    [Q_IMG_INS] = "INSERT INTO images(" IMG_COLS ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [Q_IMG_GET] = "SELECT " IMG_COLS " FROM images WHERE id=?",
    [Q_IMG_UPD] = "UPDATE images SET owner=?2,name=?3,status=?4,visibility=?5,disk_format=?6,"
                  "container_format=?7,size=?8,virtual_size=?9,checksum=?10,os_hash_algo=?11,"
                  "os_hash_value=?12,min_disk=?13,min_ram=?14,protected=?15,os_hidden=?16,"
                  "created_at=?17,updated_at=?18 WHERE id=?1",
    [Q_IMG_DEL] = "DELETE FROM images WHERE id=?",
    [Q_IMG_LIST] = "SELECT " IMG_COLS " FROM images ORDER BY created_at, id",
    [Q_MEM_PUT] = "INSERT OR REPLACE INTO image_members(" MEM_COLS ") VALUES(?,?,?,?,?)",
    [Q_MEM_GET] = "SELECT " MEM_COLS " FROM image_members WHERE image_id=? AND member=?",
    [Q_MEM_DEL] = "DELETE FROM image_members WHERE image_id=? AND member=?",
    [Q_MEM_DEL_ALL] = "DELETE FROM image_members WHERE image_id=?",
    [Q_MEM_LIST] = "SELECT " MEM_COLS " FROM image_members WHERE image_id=? "
                   "ORDER BY created_at, member",
    [Q_MEM_LIST_BY] = "SELECT " MEM_COLS " FROM image_members WHERE member=? "
                      "ORDER BY created_at, image_id",
    /* a replaced definition keeps its place (seq) in the lists */
    [Q_MDEF_PUT] = "INSERT INTO metadefs(" MDEF_COLS ") VALUES(?,?,?,?,?,?) "
                   "ON CONFLICT(kind, namespace, name) DO UPDATE SET body=excluded.body,"
                   "created_at=excluded.created_at, updated_at=excluded.updated_at",
    [Q_MDEF_GET] = "SELECT " MDEF_COLS " FROM metadefs WHERE kind=? AND namespace=? AND name=?",
    [Q_MDEF_LIST] = "SELECT " MDEF_COLS " FROM metadefs WHERE kind=? AND namespace=? ORDER BY seq",
    [Q_MDEF_LIST_ALL] = "SELECT " MDEF_COLS " FROM metadefs WHERE kind=? ORDER BY seq",
    [Q_MDEF_DEL] = "DELETE FROM metadefs WHERE kind=? AND namespace=? AND name=?",
    [Q_MDEF_DEL_KIND] = "DELETE FROM metadefs WHERE kind=? AND namespace=?",
    [Q_MDEF_DEL_NS] = "DELETE FROM metadefs WHERE namespace=?",
    [Q_MDEF_RENAME] = "UPDATE metadefs SET namespace=?2 WHERE namespace=?1",
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SAVEPOINT] = "SAVEPOINT nested",
    [Q_RELEASE] = "RELEASE nested",
    [Q_ROLLBACK_TO] = "ROLLBACK TO nested",
    [Q_TOK_PUT] = "INSERT OR REPLACE INTO tokens(id_hash,auth,expires) VALUES(?,?,?)",
    [Q_TOK_GET] = "SELECT id_hash,auth,expires FROM tokens WHERE id_hash=?",
    [Q_TOK_DEL] = "DELETE FROM tokens WHERE id_hash=?",
    [Q_TOK_PURGE] = "DELETE FROM tokens WHERE expires<=?",
    [Q_MD_LIST] = "SELECT key,value FROM metadata WHERE kind=? AND owner=? ORDER BY key",
    [Q_MD_PUT] = "INSERT OR REPLACE INTO metadata(kind,owner,key,value) VALUES(?,?,?,?)",
    [Q_MD_DEL] = "DELETE FROM metadata WHERE kind=? AND owner=? AND key=?",
    [Q_MD_DEL_ALL] = "DELETE FROM metadata WHERE kind=? AND owner=?",
};

/* A connection and its prepared statements. */
struct conn {
    sqlite3 *db;
    sqlite3_stmt *stmt[Q__COUNT];
};

/* A thread's own connection for reads outside a transaction, so that
 * readers neither wait for the writer's lock nor for each other, and a
 * request can read from one snapshot (sq_read_begin). */
struct reader {
    struct conn c;
    sqlite3_stmt *begin, *commit; /* a deferred BEGIN (no lock until a read), COMMIT */
    struct sqlite_registry *s;
    int snapshot_depth;  /* sq_read_begin nesting; > 0: BEGIN is open */
    struct vs_list link; /* in sqlite_registry.readers */
};

struct sqlite_registry {
    struct registry base;
    struct conn w;        /* the writer's: transactions and every write */
    pthread_mutex_t lock; /* recursive: held from begin to commit */
    char path[4096];
    pthread_key_t reader_key; /* this thread's struct reader */
    bool reader_key_made;
    pthread_mutex_t readers_lock; /* a leaf: guards the list only */
    struct vs_list readers;
    int schema_version;
    /* under the lock: the open transaction's nesting depth (0 = none), and
     * whether SQLite gave it up (it rolls a whole transaction back on a full
     * disk, and later statements would run outside it) with the error that
     * made it do so */
    int depth;
    bool abandoned;
    char abandoned_error[512];
    enum reg_error_kind abandoned_kind;
};

static __thread char last_error[512];
static __thread enum reg_error_kind last_kind;
/* The reader connection the calling thread's current read runs on (NULL:
 * the writer's), and the registry whose transaction it holds, if any. */
static __thread struct conn *tl_conn;
static __thread struct sqlite_registry *tl_txn;

static struct sqlite_registry *SR(struct registry *r)
{
    return (struct sqlite_registry *)r;
}

static enum reg_error_kind error_kind(int code)
{
    switch (code & 0xff) {
    case SQLITE_FULL: return REG_ERR_FULL;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return REG_ERR_BUSY;
    case SQLITE_CONSTRAINT: return REG_ERR_CONSTRAINT;
    default: return REG_ERR_OTHER;
    }
}

/* Records the connection's error for WHAT. A failure that made SQLite end
 * the open transaction abandons it: its later statements and its commit
 * fail with this error instead of running outside it. */
static int db_fail(struct sqlite_registry *s, const char *what)
{
    sqlite3 *db = tl_conn ? tl_conn->db : s->w.db;
    snprintf(last_error, sizeof last_error, "%s: %s", what, sqlite3_errmsg(db));
    last_kind = error_kind(sqlite3_extended_errcode(db));
    if (!tl_conn && s->depth > 0 && !s->abandoned && sqlite3_get_autocommit(s->w.db)) {
        s->abandoned = true;
        memcpy(s->abandoned_error, last_error, sizeof s->abandoned_error);
        s->abandoned_kind = last_kind;
    }
    return -1;
}

/* Refuses to run anything in an abandoned transaction. */
static int check_abandoned(struct sqlite_registry *s)
{
    if (tl_conn || !s->abandoned)
        return 0;
    snprintf(last_error, sizeof last_error, "%s", s->abandoned_error);
    last_kind = s->abandoned_kind;
    return -1;
}

/* Fetches the prepared statement for Q, reset and ready to bind. Caller holds
 * the lock. */
static sqlite3_stmt *stmt_get(struct sqlite_registry *s, enum q q)
{
    sqlite3_stmt *st = (tl_conn ? tl_conn : &s->w)->stmt[q];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/* After a statement's last step: reset, and its parameters unbound, so
 * that no statement keeps a pointer to the caller's strings (bind_text
 * does not copy them). */
static void stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Bound without a copy (SQLITE_STATIC): V outlives the statement's steps,
 * which run before the function that bound it returns, and stmt_done
 * unbinds it. */
static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_STATIC);
}

static void col_text(sqlite3_stmt *st, int i, char *out, size_t outlen)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (n >= outlen) /* cannot happen for rows we wrote; never overflow */
        n = outlen - 1;
    if (n)
        memcpy(out, t, n);
    out[n] = '\0';
}
#define COL(st, i, field) col_text(st, i, field, sizeof field)

/* Runs a statement that returns no rows. */
static int exec_stmt(struct sqlite_registry *s, sqlite3_stmt *st, const char *what)
{
    if (check_abandoned(s) < 0)
        return -1;
    int rc = sqlite3_step(st);
    stmt_done(st);
    if (rc != SQLITE_DONE)
        return db_fail(s, what);
    return 0;
}

/* Generic "SELECT one row / SELECT many rows" helpers, parameterised by a
 * row reader, so each record type needs only its reader and binder. */
typedef void (*row_reader)(sqlite3_stmt *st, void *out);

static int query_one(struct sqlite_registry *s, sqlite3_stmt *st, row_reader rd, void *out,
                     const char *what)
{
    if (check_abandoned(s) < 0)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        rd(st, out);
        stmt_done(st);
        return 0;
    }
    stmt_done(st);
    return rc == SQLITE_DONE ? 1 : db_fail(s, what);
}

static int query_many(struct sqlite_registry *s, sqlite3_stmt *st, row_reader rd, size_t elem,
                      void **out, size_t *n, const char *what)
{
    *out = NULL;
    *n = 0;
    if (check_abandoned(s) < 0)
        return -1;
    size_t cap = 0;
    char *arr = NULL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            char *na = realloc(arr, cap * elem);
            if (!na) {
                free(arr);
                stmt_done(st);
                snprintf(last_error, sizeof last_error, "%s: out of memory", what);
                last_kind = REG_ERR_OTHER;
                return -1;
            }
            arr = na;
        }
        memset(arr + *n * elem, 0, elem);
        rd(st, arr + *n * elem);
        (*n)++;
    }
    stmt_done(st);
    if (rc != SQLITE_DONE) {
        free(arr);
        *n = 0;
        return db_fail(s, what);
    }
    *out = arr;
    return 0;
}

static void snapshot_renew(struct sqlite_registry *s);

/* A write outside a transaction commits on its own: a snapshot this
 * thread reads from is renewed after it, so the thread sees its write. */
#define LOCKED(s, expr)                   \
    ({                                    \
        pthread_mutex_lock(&(s)->lock);   \
        int _rc = (expr);                 \
        pthread_mutex_unlock(&(s)->lock); \
        if (tl_txn != (s))                \
            snapshot_renew(s);            \
        _rc;                              \
    })

/* ---- readers ---- */

static void conn_close(struct conn *c)
{
    for (int i = 0; i < Q__COUNT; i++)
        sqlite3_finalize(c->stmt[i]);
    sqlite3_close(c->db);
    memset(c, 0, sizeof *c);
}

static void stmt_run(sqlite3_stmt *st)
{
    sqlite3_step(st);
    sqlite3_reset(st);
}

static void reader_free(struct reader *rd)
{
    sqlite3_finalize(rd->begin);
    sqlite3_finalize(rd->commit);
    conn_close(&rd->c);
    free(rd);
}

/* A thread that ends closes its reader (pthread_key destructor). */
static void reader_gone(void *arg)
{
    struct reader *rd = arg;
    struct sqlite_registry *s = rd->s;
    pthread_mutex_lock(&s->readers_lock);
    vs_list_remove(&rd->link);
    pthread_mutex_unlock(&s->readers_lock);
    reader_free(rd);
}

/* The calling thread's reader, opened at its first read; NULL when it
 * cannot be opened (the read then goes to the writer's connection). */
static struct reader *reader_get(struct sqlite_registry *s)
{
    if (!s->reader_key_made)
        return NULL;
    struct reader *rd = pthread_getspecific(s->reader_key);
    if (rd)
        return rd;
    rd = calloc(1, sizeof *rd);
    if (!rd)
        return NULL;
    rd->s = s;
    /* no mutex: the connection is this thread's alone */
    if (sqlite3_open_v2(s->path, &rd->c.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(rd->c.db, 5000);
    if (sqlite3_exec(rd->c.db, "PRAGMA query_only=1", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    for (int i = 0; i < Q__COUNT; i++)
        if (sqlite3_prepare_v3(rd->c.db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &rd->c.stmt[i],
                               NULL) != SQLITE_OK)
            goto fail;
    if (sqlite3_prepare_v3(rd->c.db, "BEGIN", -1, SQLITE_PREPARE_PERSISTENT, &rd->begin, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v3(rd->c.db, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &rd->commit, NULL) !=
            SQLITE_OK)
        goto fail;
    pthread_mutex_lock(&s->readers_lock);
    vs_list_append(&s->readers, &rd->link);
    pthread_mutex_unlock(&s->readers_lock);
    pthread_setspecific(s->reader_key, rd);
    return rd;
fail:
    reader_free(rd);
    return NULL;
}

/* Runs a read: inside this thread's transaction on the writer's connection
 * (it must see the transaction's own writes), otherwise on the thread's
 * reader, without the writer's lock. */
#define READ(s, expr)                                              \
    ({                                                             \
        struct reader *rd_ = tl_txn == (s) ? NULL : reader_get(s); \
        int rrc_;                                                  \
        if (rd_) {                                                 \
            tl_conn = &rd_->c;                                     \
            rrc_ = (expr);                                         \
            tl_conn = NULL;                                        \
        } else {                                                   \
            rrc_ = LOCKED(s, expr);                                \
        }                                                          \
        rrc_;                                                      \
    })

/* After this thread committed, its open snapshot starts again, so that
 * it reads what it wrote. */
static void snapshot_renew(struct sqlite_registry *s)
{
    struct reader *rd = s->reader_key_made ? pthread_getspecific(s->reader_key) : NULL;
    if (rd && rd->snapshot_depth > 0) {
        stmt_run(rd->commit);
        stmt_run(rd->begin);
    }
}

/* Every read of this thread until sq_read_end sees one state of the
 * registry, and SQLite takes its read lock once for all of them instead of
 * once a statement. */
static int sq_read_begin(struct registry *r)
{
    struct sqlite_registry *s = SR(r);
    struct reader *rd = reader_get(s);
    if (rd && rd->snapshot_depth++ == 0)
        stmt_run(rd->begin);
    return 0;
}

static void sq_read_end(struct registry *r)
{
    struct sqlite_registry *s = SR(r);
    struct reader *rd = s->reader_key_made ? pthread_getspecific(s->reader_key) : NULL;
    if (rd && rd->snapshot_depth > 0 && --rd->snapshot_depth == 0)
        stmt_run(rd->commit);
}

/* ---- transactions ---- */

/* Runs a transaction-control statement whose failure must not replace the
 * error being reported (a rollback after a failed write). */
static void exec_quiet(struct sqlite_registry *s, enum q q)
{
    sqlite3_stmt *st = stmt_get(s, q);
    sqlite3_step(st);
    sqlite3_reset(st);
}

/* Ends the outermost transaction's bookkeeping and releases the lock taken
 * by its begin. */
static void txn_leave(struct sqlite_registry *s)
{
    bool outermost = --s->depth == 0;
    if (outermost) {
        s->abandoned = false;
        tl_txn = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    if (outermost)
        snapshot_renew(s);
}

static int sq_begin(struct registry *r)
{
    struct sqlite_registry *s = SR(r);
    pthread_mutex_lock(&s->lock);
    int rc = s->depth == 0 ? exec_stmt(s, stmt_get(s, Q_BEGIN), "begin")
                           : exec_stmt(s, stmt_get(s, Q_SAVEPOINT), "begin nested");
    if (rc < 0) {
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    s->depth++;
    tl_txn = s;
    return 0;
}

static int sq_commit(struct registry *r)
{
    struct sqlite_registry *s = SR(r);
    int rc = check_abandoned(s);
    if (rc == 0 && s->depth > 1) {
        rc = exec_stmt(s, stmt_get(s, Q_RELEASE), "commit nested");
    } else if (rc == 0) {
        rc = exec_stmt(s, stmt_get(s, Q_COMMIT), "commit");
        if (rc < 0 && !sqlite3_get_autocommit(s->w.db))
            exec_quiet(s, Q_ROLLBACK);
    } else if (s->depth == 1 && !sqlite3_get_autocommit(s->w.db)) {
        exec_quiet(s, Q_ROLLBACK);
    }
    /* a nested scope that fails to commit is rolled back like any other,
     * and its failure is the outer transaction's to handle */
    if (rc < 0 && s->depth > 1 && !s->abandoned) {
        exec_quiet(s, Q_ROLLBACK_TO);
        exec_quiet(s, Q_RELEASE);
    }
    txn_leave(s);
    return rc;
}

static void sq_rollback(struct registry *r)
{
    struct sqlite_registry *s = SR(r);
    if (s->depth > 1 && !s->abandoned) {
        exec_quiet(s, Q_ROLLBACK_TO);
        exec_quiet(s, Q_RELEASE);
    } else if (s->depth == 1 && !sqlite3_get_autocommit(s->w.db)) {
        exec_quiet(s, Q_ROLLBACK);
    }
    txn_leave(s);
}

/* ---- hosts ---- */
static int host_put_l(struct sqlite_registry *s, const struct reg_host *h)
{
    sqlite3_stmt *st = stmt_get(s, Q_HOST_PUT);
    bind_text(st, 1, h->name);
    bind_text(st, 2, h->driver);
    bind_text(st, 3, h->qmp);
    bind_text(st, 4, h->nbd);
    return exec_stmt(s, st, "host_put");
}
static int sq_host_put(struct registry *r, const struct reg_host *h)
{
    return LOCKED(SR(r), host_put_l(SR(r), h));
}
static void read_host(sqlite3_stmt *st, void *o)
{
    struct reg_host *h = o;
    COL(st, 0, h->name);
    COL(st, 1, h->driver);
    COL(st, 2, h->qmp);
    COL(st, 3, h->nbd);
}
static int sq_host_list(struct registry *r, struct reg_host **out, size_t *n)
{
    struct sqlite_registry *s = SR(r);
    return READ(s, query_many(s, stmt_get(s, Q_HOST_LIST), read_host, sizeof **out, (void **)out, n,
                              "host_list"));
}

/* ---- servers ---- */
static void bind_server(sqlite3_stmt *st, const struct reg_server *v)
{
    bind_text(st, 1, v->id);
    bind_text(st, 2, v->name);
    bind_text(st, 3, v->project_id);
    bind_text(st, 4, v->user_id);
    bind_text(st, 5, v->host);
    bind_text(st, 6, v->status);
    bind_text(st, 7, v->vm_state);
    bind_text(st, 8, v->task_state);
    sqlite3_bind_int(st, 9, v->locked);
    bind_text(st, 10, v->created_at);
    bind_text(st, 11, v->updated_at);
}
static void read_server(sqlite3_stmt *st, void *o)
{
    struct reg_server *v = o;
    COL(st, 0, v->id);
    COL(st, 1, v->name);
    COL(st, 2, v->project_id);
    COL(st, 3, v->user_id);
    COL(st, 4, v->host);
    COL(st, 5, v->status);
    COL(st, 6, v->vm_state);
    COL(st, 7, v->task_state);
    v->locked = sqlite3_column_int(st, 8) != 0;
    COL(st, 9, v->created_at);
    COL(st, 10, v->updated_at);
}
static int srv_write_l(struct sqlite_registry *s, enum q q, const struct reg_server *v)
{
    sqlite3_stmt *st = stmt_get(s, q);
    bind_server(st, v);
    return exec_stmt(s, st, "server write");
}
static int sq_server_insert(struct registry *r, const struct reg_server *v)
{
    return LOCKED(SR(r), srv_write_l(SR(r), Q_SRV_INS, v));
}
static int sq_server_update(struct registry *r, const struct reg_server *v)
{
    return LOCKED(SR(r), srv_write_l(SR(r), Q_SRV_UPD, v));
}
static int get_by_keys_l(struct sqlite_registry *s, enum q q, const char *k1, const char *k2,
                         row_reader rd, void *out)
{
    sqlite3_stmt *st = stmt_get(s, q);
    bind_text(st, 1, k1);
    if (k2)
        bind_text(st, 2, k2);
    return query_one(s, st, rd, out, "get");
}
static int list_l(struct sqlite_registry *s, enum q q_one, enum q q_all, const char *key,
                  row_reader rd, size_t elem, void **out, size_t *n)
{
    sqlite3_stmt *st = stmt_get(s, key ? q_one : q_all);
    if (key)
        bind_text(st, 1, key);
    return query_many(s, st, rd, elem, out, n, "list");
}
static int sq_server_get(struct registry *r, const char *id, struct reg_server *out)
{
    return READ(SR(r), get_by_keys_l(SR(r), Q_SRV_GET, id, NULL, read_server, out));
}
/* Q_SRV_VIEW's attachment part of a row, from column 11 */
static void read_att_view(sqlite3_stmt *st, struct reg_attachment_view *a, const char *server_id)
{
    COL(st, 11, a->id);
    COL(st, 12, a->bdm_uuid);
    memcpy(a->server_id, server_id, sizeof a->server_id);
    COL(st, 13, a->volume_id);
    COL(st, 14, a->device);
    COL(st, 15, a->tag);
    a->delete_on_termination = sqlite3_column_int(st, 16) != 0;
}
static int srv_view_l(struct sqlite_registry *s, const char *id, const char *volume_id,
                      struct reg_server *out, struct reg_attachment_view **atts, size_t *n)
{
    *atts = NULL;
    *n = 0;
    if (check_abandoned(s) < 0)
        return -1;
    sqlite3_stmt *st = stmt_get(s, volume_id ? Q_SRV_VIEW_VOL : Q_SRV_VIEW);
    bind_text(st, 1, id);
    if (volume_id)
        bind_text(st, 2, volume_id);
    struct reg_attachment_view *arr = NULL;
    size_t count = 0, cap = 0;
    bool found = false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!found)
            read_server(st, out);
        found = true;
        if (sqlite3_column_type(st, 11) == SQLITE_NULL) /* no attachment */
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 4;
            struct reg_attachment_view *na = realloc(arr, cap * sizeof *arr);
            if (!na) {
                free(arr);
                stmt_done(st);
                snprintf(last_error, sizeof last_error, "get: out of memory");
                last_kind = REG_ERR_OTHER;
                return -1;
            }
            arr = na;
        }
        read_att_view(st, &arr[count++], out->id);
    }
    stmt_done(st);
    if (rc != SQLITE_DONE) {
        free(arr);
        return db_fail(s, "get");
    }
    if (!found) {
        free(arr);
        return 1;
    }
    *atts = arr;
    *n = count;
    return 0;
}
static int sq_server_view(struct registry *r, const char *id, const char *volume_id,
                          struct reg_server *out, struct reg_attachment_view **atts, size_t *n)
{
    return READ(SR(r), srv_view_l(SR(r), id, volume_id, out, atts, n));
}
/* Nothing to gain here: one statement reads a server and its attachments
 * without a hint, and a look-up of a token (a Fernet token's revocation;
 * others are validated from memory) runs in the request's one read
 * transaction with its other reads already. */
static void sq_read_hint_server(struct registry *r, const char *id)
{
    (void)r;
    (void)id;
}
static int sq_server_list(struct registry *r, const char *project, struct reg_server **out,
                          size_t *n)
{
    return READ(SR(r), list_l(SR(r), Q_SRV_LIST, Q_SRV_LIST_ALL, project, read_server, sizeof **out,
                              (void **)out, n));
}

/* ---- volumes ---- */
static void bind_volume(sqlite3_stmt *st, const struct reg_volume *v)
{
    bind_text(st, 1, v->id);
    bind_text(st, 2, v->project_id);
    bind_text(st, 3, v->user_id);
    bind_text(st, 4, v->name);
    bind_text(st, 5, v->description);
    sqlite3_bind_int64(st, 6, v->size_gb);
    bind_text(st, 7, v->host);
    bind_text(st, 8, v->pool);
    bind_text(st, 9, v->path);
    bind_text(st, 10, v->status);
    bind_text(st, 11, v->attach_status);
    bind_text(st, 12, v->migration_status);
    bind_text(st, 13, v->created_at);
    bind_text(st, 14, v->updated_at);
    sqlite3_bind_int(st, 15, v->bootable);
    sqlite3_bind_int(st, 16, v->readonly);
}
static void read_volume(sqlite3_stmt *st, void *o)
{
    struct reg_volume *v = o;
    COL(st, 0, v->id);
    COL(st, 1, v->project_id);
    COL(st, 2, v->user_id);
    COL(st, 3, v->name);
    COL(st, 4, v->description);
    v->size_gb = sqlite3_column_int64(st, 5);
    COL(st, 6, v->host);
    COL(st, 7, v->pool);
    COL(st, 8, v->path);
    COL(st, 9, v->status);
    COL(st, 10, v->attach_status);
    COL(st, 11, v->migration_status);
    COL(st, 12, v->created_at);
    COL(st, 13, v->updated_at);
    v->bootable = sqlite3_column_int(st, 14) != 0;
    v->readonly = sqlite3_column_int(st, 15);
}
static int vol_write_l(struct sqlite_registry *s, enum q q, const struct reg_volume *v)
{
    sqlite3_stmt *st = stmt_get(s, q);
    bind_volume(st, v);
    return exec_stmt(s, st, "volume write");
}
static int sq_volume_insert(struct registry *r, const struct reg_volume *v)
{
    return LOCKED(SR(r), vol_write_l(SR(r), Q_VOL_INS, v));
}
static int sq_volume_update(struct registry *r, const struct reg_volume *v)
{
    return LOCKED(SR(r), vol_write_l(SR(r), Q_VOL_UPD, v));
}
static int del_l(struct sqlite_registry *s, enum q q, const char *id)
{
    sqlite3_stmt *st = stmt_get(s, q);
    bind_text(st, 1, id);
    return exec_stmt(s, st, "delete");
}
static int sq_volume_delete(struct registry *r, const char *id)
{
    return LOCKED(SR(r), del_l(SR(r), Q_VOL_DEL, id));
}
static int sq_volume_get(struct registry *r, const char *id, struct reg_volume *out)
{
    return READ(SR(r), get_by_keys_l(SR(r), Q_VOL_GET, id, NULL, read_volume, out));
}
static int sq_volume_list(struct registry *r, const char *project, struct reg_volume **out,
                          size_t *n)
{
    return READ(SR(r), list_l(SR(r), Q_VOL_LIST, Q_VOL_LIST_ALL, project, read_volume, sizeof **out,
                              (void **)out, n));
}
static void read_flag(sqlite3_stmt *st, void *o)
{
    *(bool *)o = sqlite3_column_int(st, 0) != 0;
}
static int sq_volume_path_used(struct registry *r, const char *path, bool *used)
{
    *used = false;
    int rc = READ(SR(r), get_by_keys_l(SR(r), Q_VOL_PATH, path, NULL, read_flag, used));
    return rc < 0 ? -1 : 0;
}

/* ---- attachments ---- */
static void bind_att(sqlite3_stmt *st, const struct reg_attachment *a)
{
    bind_text(st, 1, a->id);
    bind_text(st, 2, a->bdm_uuid);
    bind_text(st, 3, a->server_id);
    bind_text(st, 4, a->volume_id);
    bind_text(st, 5, a->device);
    bind_text(st, 6, a->tag);
    sqlite3_bind_int(st, 7, a->delete_on_termination);
    bind_text(st, 8, a->node_name);
    bind_text(st, 9, a->export_id);
    bind_text(st, 10, a->export_name);
    bind_text(st, 11, a->connection_info);
    bind_text(st, 12, a->created_at);
}
static void read_att(sqlite3_stmt *st, void *o)
{
    struct reg_attachment *a = o;
    COL(st, 0, a->id);
    COL(st, 1, a->bdm_uuid);
    COL(st, 2, a->server_id);
    COL(st, 3, a->volume_id);
    COL(st, 4, a->device);
    COL(st, 5, a->tag);
    a->delete_on_termination = sqlite3_column_int(st, 6) != 0;
    COL(st, 7, a->node_name);
    COL(st, 8, a->export_id);
    COL(st, 9, a->export_name);
    COL(st, 10, a->connection_info);
    COL(st, 11, a->created_at);
}
static int att_write_l(struct sqlite_registry *s, enum q q, const struct reg_attachment *a)
{
    sqlite3_stmt *st = stmt_get(s, q);
    bind_att(st, a);
    return exec_stmt(s, st, "attachment write");
}
static int sq_att_insert(struct registry *r, const struct reg_attachment *a)
{
    return LOCKED(SR(r), att_write_l(SR(r), Q_ATT_INS, a));
}
static int sq_att_update(struct registry *r, const struct reg_attachment *a)
{
    return LOCKED(SR(r), att_write_l(SR(r), Q_ATT_UPD, a));
}
static int sq_att_get(struct registry *r, const char *server_id, const char *volume_id,
                      struct reg_attachment *out)
{
    return READ(SR(r), get_by_keys_l(SR(r), Q_ATT_GET, server_id, volume_id, read_att, out));
}
static int sq_att_get_id(struct registry *r, const char *id, struct reg_attachment *out)
{
    return READ(SR(r), get_by_keys_l(SR(r), Q_ATT_GET_ID, id, NULL, read_att, out));
}
static int sq_att_get_vol(struct registry *r, const char *vid, struct reg_attachment *out)
{
    return READ(SR(r), get_by_keys_l(SR(r), Q_ATT_GET_VOL, vid, NULL, read_att, out));
}
static int sq_att_delete(struct registry *r, const char *id)
{
    return LOCKED(SR(r), del_l(SR(r), Q_ATT_DEL, id));
}
static int sq_att_list(struct registry *r, const char *server_id, struct reg_attachment **out,
                       size_t *n)
{
    return READ(SR(r), list_l(SR(r), Q_ATT_LIST, Q_ATT_LIST_ALL, server_id, read_att, sizeof **out,
                              (void **)out, n));
}

/* ---- instance actions and events ---- */
static void bind_act(sqlite3_stmt *st, const struct reg_action *a)
{
    bind_text(st, 1, a->request_id);
    bind_text(st, 2, a->server_id);
    bind_text(st, 3, a->action);
    bind_text(st, 4, a->project_id);
    bind_text(st, 5, a->user_id);
    bind_text(st, 6, a->message);
    bind_text(st, 7, a->start_time);
    bind_text(st, 8, a->updated_at);
}
static void read_act(sqlite3_stmt *st, void *o)
{
    struct reg_action *a = o;
    COL(st, 0, a->request_id);
    COL(st, 1, a->server_id);
    COL(st, 2, a->action);
    COL(st, 3, a->project_id);
    COL(st, 4, a->user_id);
    COL(st, 5, a->message);
    COL(st, 6, a->start_time);
    COL(st, 7, a->updated_at);
}
static int act_write_l(struct sqlite_registry *s, enum q q, const struct reg_action *a)
{
    sqlite3_stmt *st = stmt_get(s, q);
    bind_act(st, a);
    return exec_stmt(s, st, "action write");
}
static int sq_act_insert(struct registry *r, const struct reg_action *a)
{
    return LOCKED(SR(r), act_write_l(SR(r), Q_ACT_INS, a));
}
static int sq_act_update(struct registry *r, const struct reg_action *a)
{
    return LOCKED(SR(r), act_write_l(SR(r), Q_ACT_UPD, a));
}
static int sq_act_get(struct registry *r, const char *server_id, const char *rid,
                      struct reg_action *out)
{
    return READ(SR(r), get_by_keys_l(SR(r), Q_ACT_GET, server_id, rid, read_act, out));
}
static int sq_act_list(struct registry *r, const char *server_id, struct reg_action **out,
                       size_t *n)
{
    return READ(SR(r), list_l(SR(r), Q_ACT_LIST, Q_ACT_LIST, server_id, read_act, sizeof **out,
                              (void **)out, n));
}
static void bind_ev(sqlite3_stmt *st, const struct reg_event *e)
{
    bind_text(st, 1, e->request_id);
    bind_text(st, 2, e->event);
    bind_text(st, 3, e->start_time);
    bind_text(st, 4, e->finish_time);
    bind_text(st, 5, e->result);
    bind_text(st, 6, e->traceback);
    bind_text(st, 7, e->host);
    bind_text(st, 8, e->details);
}
static void read_ev(sqlite3_stmt *st, void *o)
{
    struct reg_event *e = o;
    COL(st, 0, e->request_id);
    COL(st, 1, e->event);
    COL(st, 2, e->start_time);
    COL(st, 3, e->finish_time);
    COL(st, 4, e->result);
    COL(st, 5, e->traceback);
    COL(st, 6, e->host);
    COL(st, 7, e->details);
}
static int ev_write_l(struct sqlite_registry *s, enum q q, const struct reg_event *e)
{
    sqlite3_stmt *st = stmt_get(s, q);
    bind_ev(st, e);
    return exec_stmt(s, st, "event write");
}
static int sq_ev_insert(struct registry *r, const struct reg_event *e)
{
    return LOCKED(SR(r), ev_write_l(SR(r), Q_EV_INS, e));
}
static int sq_ev_update(struct registry *r, const struct reg_event *e)
{
    return LOCKED(SR(r), ev_write_l(SR(r), Q_EV_UPD, e));
}
static int sq_ev_list(struct registry *r, const char *rid, struct reg_event **out, size_t *n)
{
    return READ(SR(r),
                list_l(SR(r), Q_EV_LIST, Q_EV_LIST, rid, read_ev, sizeof **out, (void **)out, n));
}

/* ---- tokens ---- */
static int tok_put_l(struct sqlite_registry *s, const struct reg_token *t)
{
    sqlite3_stmt *st = stmt_get(s, Q_TOK_PUT);
    bind_text(st, 1, t->id_hash);
    bind_text(st, 2, t->auth);
    sqlite3_bind_int64(st, 3, t->expires);
    return exec_stmt(s, st, "token put");
}
static int sq_tok_put(struct registry *r, const struct reg_token *t)
{
    return LOCKED(SR(r), tok_put_l(SR(r), t));
}
static void read_tok(sqlite3_stmt *st, void *o)
{
    struct reg_token *t = o;
    COL(st, 0, t->id_hash);
    COL(st, 1, t->auth);
    t->expires = sqlite3_column_int64(st, 2);
}
static int tok_get_l(struct sqlite_registry *s, const char *id_hash, struct reg_token *out)
{
    sqlite3_stmt *st = stmt_get(s, Q_TOK_GET);
    bind_text(st, 1, id_hash);
    return query_one(s, st, read_tok, out, "token get");
}
static int sq_tok_get(struct registry *r, const char *id_hash, struct reg_token *out)
{
    return READ(SR(r), tok_get_l(SR(r), id_hash, out));
}
static int tok_del_l(struct sqlite_registry *s, const char *id_hash)
{
    sqlite3_stmt *st = stmt_get(s, Q_TOK_DEL);
    bind_text(st, 1, id_hash);
    return exec_stmt(s, st, "token delete");
}
static int sq_tok_delete(struct registry *r, const char *id_hash)
{
    return LOCKED(SR(r), tok_del_l(SR(r), id_hash));
}
static int tok_purge_l(struct sqlite_registry *s, int64_t now)
{
    sqlite3_stmt *st = stmt_get(s, Q_TOK_PURGE);
    sqlite3_bind_int64(st, 1, now);
    return exec_stmt(s, st, "token purge");
}
static int sq_tok_purge(struct registry *r, int64_t now)
{
    return LOCKED(SR(r), tok_purge_l(SR(r), now));
}

/* ---- metadata ---- */
static void read_meta(sqlite3_stmt *st, void *o)
{
    struct reg_meta *m = o;
    COL(st, 0, m->key);
    COL(st, 1, m->value);
}
static int md_list_l(struct sqlite_registry *s, enum reg_meta_kind kind, const char *owner,
                     struct reg_meta **out, size_t *n)
{
    sqlite3_stmt *st = stmt_get(s, Q_MD_LIST);
    bind_text(st, 1, reg_meta_kind_name(kind));
    bind_text(st, 2, owner);
    return query_many(s, st, read_meta, sizeof **out, (void **)out, n, "metadata list");
}
static int sq_md_list(struct registry *r, enum reg_meta_kind kind, const char *owner,
                      struct reg_meta **out, size_t *n)
{
    return READ(SR(r), md_list_l(SR(r), kind, owner, out, n));
}
static int md_put_l(struct sqlite_registry *s, enum reg_meta_kind kind, const char *owner,
                    const struct reg_meta *m)
{
    sqlite3_stmt *st = stmt_get(s, Q_MD_PUT);
    bind_text(st, 1, reg_meta_kind_name(kind));
    bind_text(st, 2, owner);
    bind_text(st, 3, m->key);
    bind_text(st, 4, m->value);
    return exec_stmt(s, st, "metadata put");
}
static int sq_md_put(struct registry *r, enum reg_meta_kind kind, const char *owner,
                     const struct reg_meta *m)
{
    return LOCKED(SR(r), md_put_l(SR(r), kind, owner, m));
}
static int md_del_l(struct sqlite_registry *s, enum reg_meta_kind kind, const char *owner,
                    const char *key)
{
    sqlite3_stmt *st = stmt_get(s, key ? Q_MD_DEL : Q_MD_DEL_ALL);
    bind_text(st, 1, reg_meta_kind_name(kind));
    bind_text(st, 2, owner);
    if (key)
        bind_text(st, 3, key);
    if (exec_stmt(s, st, "metadata delete") < 0)
        return -1;
    return key && sqlite3_changes(s->w.db) == 0 ? 1 : 0;
}
static int sq_md_delete(struct registry *r, enum reg_meta_kind kind, const char *owner,
                        const char *key)
{
    return LOCKED(SR(r), md_del_l(SR(r), kind, owner, key));
}

/* ---- swap records ---- */
static void bind_swap(sqlite3_stmt *st, const struct reg_swap *w)
{
    int i = 1;
    bind_text(st, i++, w->id);
    bind_text(st, i++, w->kind);
    bind_text(st, i++, w->server_id);
    bind_text(st, i++, w->project_id);
    bind_text(st, i++, w->user_id);
    bind_text(st, i++, w->host);
    bind_text(st, i++, w->old_volume_id);
    bind_text(st, i++, w->new_volume_id);
    bind_text(st, i++, w->attachment_id);
    bind_text(st, i++, w->old_node);
    bind_text(st, i++, w->new_node);
    bind_text(st, i++, w->old_path);
    sqlite3_bind_int64(st, i++, w->old_size_gb);
    sqlite3_bind_int64(st, i++, w->new_size_gb);
    bind_text(st, i++, w->phase);
    bind_text(st, i++, w->error);
    bind_text(st, i++, w->started_at);
    bind_text(st, i++, w->updated_at);
    sqlite3_bind_int64(st, i++, w->bytes_total);
    sqlite3_bind_int64(st, i++, w->bytes_done);
    sqlite3_bind_int64(st, i++, w->mirror_ms);
    sqlite3_bind_int64(st, i++, w->pivot_ms);
    sqlite3_bind_int64(st, i++, w->total_ms);
    bind_text(st, i++, w->owner);
    sqlite3_bind_int64(st, i++, w->epoch);
    sqlite3_bind_int64(st, i++, w->lease_ms);
}
static void read_swap(sqlite3_stmt *st, void *o)
{
    struct reg_swap *w = o;
    int i = 0;
    COL(st, i++, w->id);
    COL(st, i++, w->kind);
    COL(st, i++, w->server_id);
    COL(st, i++, w->project_id);
    COL(st, i++, w->user_id);
    COL(st, i++, w->host);
    COL(st, i++, w->old_volume_id);
    COL(st, i++, w->new_volume_id);
    COL(st, i++, w->attachment_id);
    COL(st, i++, w->old_node);
    COL(st, i++, w->new_node);
    COL(st, i++, w->old_path);
    w->old_size_gb = sqlite3_column_int64(st, i++);
    w->new_size_gb = sqlite3_column_int64(st, i++);
    COL(st, i++, w->phase);
    COL(st, i++, w->error);
    COL(st, i++, w->started_at);
    COL(st, i++, w->updated_at);
    w->bytes_total = sqlite3_column_int64(st, i++);
    w->bytes_done = sqlite3_column_int64(st, i++);
    w->mirror_ms = sqlite3_column_int64(st, i++);
    w->pivot_ms = sqlite3_column_int64(st, i++);
    w->total_ms = sqlite3_column_int64(st, i++);
    COL(st, i++, w->owner);
    w->epoch = sqlite3_column_int64(st, i++);
}
static int swap_write_l(struct sqlite_registry *s, enum q q, const struct reg_swap *w)
{
    sqlite3_stmt *st = stmt_get(s, q);
    bind_swap(st, w);
    if (exec_stmt(s, st, "swap record write") < 0)
        return -1;
    return q == Q_SWAP_UPD && sqlite3_changes(s->w.db) == 0 ? 1 : 0;
}
static int sq_swap_insert(struct registry *r, const struct reg_swap *w)
{
    return LOCKED(SR(r), swap_write_l(SR(r), Q_SWAP_INS, w));
}
static int sq_swap_update(struct registry *r, const struct reg_swap *w)
{
    return LOCKED(SR(r), swap_write_l(SR(r), Q_SWAP_UPD, w));
}
static int lease_renew_l(struct sqlite_registry *s, const char *id, const char *owner,
                         int64_t epoch, int64_t lease_ms)
{
    sqlite3_stmt *st = stmt_get(s, Q_LEASE_RENEW);
    bind_text(st, 1, id);
    bind_text(st, 2, owner);
    sqlite3_bind_int64(st, 3, epoch);
    sqlite3_bind_int64(st, 4, lease_ms);
    if (exec_stmt(s, st, "swap lease renew") < 0)
        return -1;
    return sqlite3_changes(s->w.db) == 0 ? 1 : 0;
}
static int sq_swap_lease_renew(struct registry *r, const char *id, const char *owner, int64_t epoch,
                               int64_t lease_ms)
{
    return LOCKED(SR(r), lease_renew_l(SR(r), id, owner, epoch, lease_ms));
}
static int lease_take_l(struct sqlite_registry *s, const char *owner, int64_t lease_ms,
                        enum reg_lease_take which, struct reg_swap **out, size_t *n)
{
    sqlite3_stmt *st = stmt_get(s, Q_LEASE_TAKE);
    bind_text(st, 1, owner);
    sqlite3_bind_int64(st, 2, lease_ms);
    sqlite3_bind_int(st, 3, (int)which);
    if (query_many(s, st, read_swap, sizeof **out, (void **)out, n, "swap lease take") < 0)
        return -1;
    if (*n > 1) /* no array at all when nothing was taken */
        qsort(*out, *n, sizeof **out, reg_swap_cmp_started);
    return 0;
}
static int sq_swap_lease_take(struct registry *r, const char *owner, int64_t lease_ms,
                              enum reg_lease_take which, struct reg_swap **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    return LOCKED(SR(r), lease_take_l(SR(r), owner, lease_ms, which, out, n));
}
static int sq_swap_unfinished(struct registry *r, struct reg_swap **out, size_t *n)
{
    struct sqlite_registry *s = SR(r);
    return READ(s, query_many(s, stmt_get(s, Q_SWAP_OPEN), read_swap, sizeof **out, (void **)out, n,
                              "swap records"));
}
static int sq_swap_latest(struct registry *r, const char *server_id, const char *volume_id,
                          struct reg_swap *out)
{
    memset(out, 0, sizeof *out);
    return READ(SR(r), get_by_keys_l(SR(r), Q_SWAP_LATEST, server_id, volume_id, read_swap, out));
}

static int sq_swap_get(struct registry *r, const char *id, struct reg_swap *out)
{
    memset(out, 0, sizeof *out);
    return READ(SR(r), get_by_keys_l(SR(r), Q_SWAP_GET, id, NULL, read_swap, out));
}
static int sq_swap_all(struct registry *r, struct reg_swap **out, size_t *n)
{
    struct sqlite_registry *s = SR(r);
    return READ(s, query_many(s, stmt_get(s, Q_SWAP_ALL), read_swap, sizeof **out, (void **)out, n,
                              "swap records"));
}
static int series_put_l(struct sqlite_registry *s, const char *id, const char *series)
{
    sqlite3_stmt *st = stmt_get(s, Q_SERIES_PUT);
    bind_text(st, 1, id);
    bind_text(st, 2, series);
    return exec_stmt(s, st, "swap series write");
}
static int sq_swap_series_put(struct registry *r, const char *id, const char *series)
{
    return LOCKED(SR(r), series_put_l(SR(r), id, series));
}
/* The series is a document of any length, so it is read whole into a
 * string of its own rather than a fixed field. */
static void read_series(sqlite3_stmt *st, void *o)
{
    const unsigned char *t = sqlite3_column_text(st, 0);
    *(char **)o = strdup(t ? (const char *)t : "");
}
static int sq_swap_series_get(struct registry *r, const char *id, char **series)
{
    *series = NULL;
    int rc = READ(SR(r), get_by_keys_l(SR(r), Q_SERIES_GET, id, NULL, read_series, series));
    if (rc == 0 && !*series) {
        snprintf(last_error, sizeof last_error, "swap series read: out of memory");
        last_kind = REG_ERR_OTHER;
        return -1;
    }
    return rc;
}

/* ---- key pairs ---- */
static void read_keypair(sqlite3_stmt *st, void *o)
{
    struct reg_keypair *k = o;
    k->id = sqlite3_column_int64(st, 0);
    COL(st, 1, k->user_id);
    COL(st, 2, k->name);
    COL(st, 3, k->type);
    COL(st, 4, k->fingerprint);
    COL(st, 5, k->public_key);
    COL(st, 6, k->created_at);
}
static int kp_insert_l(struct sqlite_registry *s, struct reg_keypair *k)
{
    sqlite3_stmt *st = stmt_get(s, Q_KP_INS);
    bind_text(st, 1, k->user_id);
    bind_text(st, 2, k->name);
    bind_text(st, 3, k->type);
    bind_text(st, 4, k->fingerprint);
    bind_text(st, 5, k->public_key);
    bind_text(st, 6, k->created_at);
    if (exec_stmt(s, st, "key pair write") < 0)
        return -1;
    k->id = sqlite3_last_insert_rowid(s->w.db);
    return 0;
}
static int sq_keypair_insert(struct registry *r, struct reg_keypair *k)
{
    return LOCKED(SR(r), kp_insert_l(SR(r), k));
}
static int sq_keypair_get(struct registry *r, const char *user_id, const char *name,
                          struct reg_keypair *out)
{
    return READ(SR(r), get_by_keys_l(SR(r), Q_KP_GET, user_id, name, read_keypair, out));
}
static int sq_keypair_list(struct registry *r, const char *user_id, struct reg_keypair **out,
                           size_t *n)
{
    return READ(SR(r), list_l(SR(r), Q_KP_LIST, Q_KP_LIST_ALL, user_id, read_keypair, sizeof **out,
                              (void **)out, n));
}
static int kp_delete_l(struct sqlite_registry *s, const char *user_id, const char *name)
{
    sqlite3_stmt *st = stmt_get(s, Q_KP_DEL);
    bind_text(st, 1, user_id);
    bind_text(st, 2, name);
    if (exec_stmt(s, st, "key pair delete") < 0)
        return -1;
    return sqlite3_changes(s->w.db) ? 0 : 1;
}
static int sq_keypair_delete(struct registry *r, const char *user_id, const char *name)
{
    return LOCKED(SR(r), kp_delete_l(SR(r), user_id, name));
}

/* ---- images ---- */
static void read_image(sqlite3_stmt *st, void *o)
{
    struct reg_image *im = o;
    COL(st, 0, im->id);
    COL(st, 1, im->owner);
    COL(st, 2, im->name);
    COL(st, 3, im->status);
    COL(st, 4, im->visibility);
    COL(st, 5, im->disk_format);
    COL(st, 6, im->container_format);
    im->size = sqlite3_column_int64(st, 7);
    im->virtual_size = sqlite3_column_int64(st, 8);
    COL(st, 9, im->checksum);
    COL(st, 10, im->os_hash_algo);
    COL(st, 11, im->os_hash_value);
    im->min_disk = sqlite3_column_int64(st, 12);
    im->min_ram = sqlite3_column_int64(st, 13);
    im->protected_ = sqlite3_column_int(st, 14) != 0;
    im->os_hidden = sqlite3_column_int(st, 15) != 0;
    COL(st, 16, im->created_at);
    COL(st, 17, im->updated_at);
}
static int img_write_l(struct sqlite_registry *s, enum q q, const struct reg_image *im)
{
    sqlite3_stmt *st = stmt_get(s, q);
    bind_text(st, 1, im->id);
    bind_text(st, 2, im->owner);
    bind_text(st, 3, im->name);
    bind_text(st, 4, im->status);
    bind_text(st, 5, im->visibility);
    bind_text(st, 6, im->disk_format);
    bind_text(st, 7, im->container_format);
    sqlite3_bind_int64(st, 8, im->size);
    sqlite3_bind_int64(st, 9, im->virtual_size);
    bind_text(st, 10, im->checksum);
    bind_text(st, 11, im->os_hash_algo);
    bind_text(st, 12, im->os_hash_value);
    sqlite3_bind_int64(st, 13, im->min_disk);
    sqlite3_bind_int64(st, 14, im->min_ram);
    sqlite3_bind_int(st, 15, im->protected_);
    sqlite3_bind_int(st, 16, im->os_hidden);
    bind_text(st, 17, im->created_at);
    bind_text(st, 18, im->updated_at);
    if (exec_stmt(s, st, "image write") < 0)
        return -1;
    return q == Q_IMG_UPD && sqlite3_changes(s->w.db) == 0 ? 1 : 0;
}
static int sq_image_insert(struct registry *r, const struct reg_image *im)
{
    return LOCKED(SR(r), img_write_l(SR(r), Q_IMG_INS, im));
}
static int sq_image_update(struct registry *r, const struct reg_image *im)
{
    return LOCKED(SR(r), img_write_l(SR(r), Q_IMG_UPD, im));
}
static int sq_image_get(struct registry *r, const char *id, struct reg_image *out)
{
    return READ(SR(r), get_by_keys_l(SR(r), Q_IMG_GET, id, NULL, read_image, out));
}
static int img_delete_l(struct sqlite_registry *s, const char *id)
{
    if (del_l(s, Q_IMG_DEL, id) < 0)
        return -1;
    return sqlite3_changes(s->w.db) ? 0 : 1;
}
static int sq_image_delete(struct registry *r, const char *id)
{
    return LOCKED(SR(r), img_delete_l(SR(r), id));
}
static int sq_image_list(struct registry *r, struct reg_image **out, size_t *n)
{
    return READ(SR(r), list_l(SR(r), Q_IMG_LIST, Q_IMG_LIST, NULL, read_image, sizeof **out,
                              (void **)out, n));
}

/* ---- image members ---- */
static void read_member(sqlite3_stmt *st, void *o)
{
    struct reg_image_member *m = o;
    COL(st, 0, m->image_id);
    COL(st, 1, m->member);
    COL(st, 2, m->status);
    COL(st, 3, m->created_at);
    COL(st, 4, m->updated_at);
}
static int member_put_l(struct sqlite_registry *s, const struct reg_image_member *m)
{
    sqlite3_stmt *st = stmt_get(s, Q_MEM_PUT);
    bind_text(st, 1, m->image_id);
    bind_text(st, 2, m->member);
    bind_text(st, 3, m->status);
    bind_text(st, 4, m->created_at);
    bind_text(st, 5, m->updated_at);
    return exec_stmt(s, st, "image member write");
}
static int sq_member_put(struct registry *r, const struct reg_image_member *m)
{
    return LOCKED(SR(r), member_put_l(SR(r), m));
}
static int sq_member_get(struct registry *r, const char *image_id, const char *member,
                         struct reg_image_member *out)
{
    return READ(SR(r), get_by_keys_l(SR(r), Q_MEM_GET, image_id, member, read_member, out));
}
static int member_delete_l(struct sqlite_registry *s, const char *image_id, const char *member)
{
    sqlite3_stmt *st = stmt_get(s, member ? Q_MEM_DEL : Q_MEM_DEL_ALL);
    bind_text(st, 1, image_id);
    if (member)
        bind_text(st, 2, member);
    if (exec_stmt(s, st, "image member delete") < 0)
        return -1;
    return member && sqlite3_changes(s->w.db) == 0 ? 1 : 0;
}
static int sq_member_delete(struct registry *r, const char *image_id, const char *member)
{
    return LOCKED(SR(r), member_delete_l(SR(r), image_id, member));
}
static int sq_member_list(struct registry *r, const char *image_id, const char *member,
                          struct reg_image_member **out, size_t *n)
{
    enum q q = image_id ? Q_MEM_LIST : Q_MEM_LIST_BY;
    return READ(SR(r), list_l(SR(r), q, q, image_id ? image_id : member, read_member, sizeof **out,
                              (void **)out, n));
}

/* ---- metadata definitions ---- */
static void read_metadef(sqlite3_stmt *st, void *o)
{
    struct reg_metadef *d = o;
    COL(st, 0, d->kind);
    COL(st, 1, d->ns);
    COL(st, 2, d->name);
    COL(st, 3, d->body);
    COL(st, 4, d->created_at);
    COL(st, 5, d->updated_at);
}
static int metadef_put_l(struct sqlite_registry *s, const struct reg_metadef *d)
{
    sqlite3_stmt *st = stmt_get(s, Q_MDEF_PUT);
    bind_text(st, 1, d->kind);
    bind_text(st, 2, d->ns);
    bind_text(st, 3, d->name);
    bind_text(st, 4, d->body);
    bind_text(st, 5, d->created_at);
    bind_text(st, 6, d->updated_at);
    return exec_stmt(s, st, "metadata definition write");
}
static int sq_metadef_put(struct registry *r, const struct reg_metadef *d)
{
    return LOCKED(SR(r), metadef_put_l(SR(r), d));
}
static int metadef_get_l(struct sqlite_registry *s, const char *kind, const char *ns,
                         const char *name, struct reg_metadef *out)
{
    sqlite3_stmt *st = stmt_get(s, Q_MDEF_GET);
    bind_text(st, 1, kind);
    bind_text(st, 2, ns);
    bind_text(st, 3, name);
    return query_one(s, st, read_metadef, out, "get");
}
static int sq_metadef_get(struct registry *r, const char *kind, const char *ns, const char *name,
                          struct reg_metadef *out)
{
    return READ(SR(r), metadef_get_l(SR(r), kind, ns, name, out));
}
static int metadef_list_l(struct sqlite_registry *s, const char *kind, const char *ns,
                          struct reg_metadef **out, size_t *n)
{
    sqlite3_stmt *st = stmt_get(s, ns ? Q_MDEF_LIST : Q_MDEF_LIST_ALL);
    bind_text(st, 1, kind);
    if (ns)
        bind_text(st, 2, ns);
    return query_many(s, st, read_metadef, sizeof **out, (void **)out, n, "list");
}
static int sq_metadef_list(struct registry *r, const char *kind, const char *ns,
                           struct reg_metadef **out, size_t *n)
{
    return READ(SR(r), metadef_list_l(SR(r), kind, ns, out, n));
}
static int metadef_delete_l(struct sqlite_registry *s, const char *kind, const char *ns,
                            const char *name)
{
    sqlite3_stmt *st;
    if (!kind) {
        st = stmt_get(s, Q_MDEF_DEL_NS);
        bind_text(st, 1, ns);
    } else {
        st = stmt_get(s, name ? Q_MDEF_DEL : Q_MDEF_DEL_KIND);
        bind_text(st, 1, kind);
        bind_text(st, 2, ns);
        if (name)
            bind_text(st, 3, name);
    }
    if (exec_stmt(s, st, "metadata definition delete") < 0)
        return -1;
    return kind && name && sqlite3_changes(s->w.db) == 0 ? 1 : 0;
}
static int sq_metadef_delete(struct registry *r, const char *kind, const char *ns, const char *name)
{
    return LOCKED(SR(r), metadef_delete_l(SR(r), kind, ns, name));
}
static int metadef_rename_l(struct sqlite_registry *s, const char *from, const char *to)
{
    sqlite3_stmt *st = stmt_get(s, Q_MDEF_RENAME);
    bind_text(st, 1, from);
    bind_text(st, 2, to);
    return exec_stmt(s, st, "metadata definition rename");
}
static int sq_metadef_rename(struct registry *r, const char *from, const char *to)
{
    return LOCKED(SR(r), metadef_rename_l(SR(r), from, to));
}

static const char *sq_last_error(struct registry *r)
{
    return last_error;
}

static enum reg_error_kind sq_last_error_kind(struct registry *r)
{
    return last_kind;
}

static void sq_close(struct registry *r)
{
    if (!r)
        return;
    struct sqlite_registry *s = SR(r);
    /* the threads still alive keep a dangling key value, never read again:
     * the key goes first */
    if (s->reader_key_made)
        pthread_key_delete(s->reader_key);
    vs_list_for_each_safe(pos, &s->readers) {
        vs_list_remove(pos);
        reader_free(vs_list_entry(pos, struct reader, link));
    }
    conn_close(&s->w);
    pthread_mutex_destroy(&s->readers_lock);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static const struct registry_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .read_begin = sq_read_begin,
    .read_end = sq_read_end,
    .host_put = sq_host_put,
    .host_list = sq_host_list,
    .server_insert = sq_server_insert,
    .server_get = sq_server_get,
    .server_update = sq_server_update,
    .server_list = sq_server_list,
    .server_view = sq_server_view,
    .read_hint_server = sq_read_hint_server,
    .volume_insert = sq_volume_insert,
    .volume_get = sq_volume_get,
    .volume_update = sq_volume_update,
    .volume_delete = sq_volume_delete,
    .volume_list = sq_volume_list,
    .volume_path_used = sq_volume_path_used,
    .attachment_insert = sq_att_insert,
    .attachment_update = sq_att_update,
    .attachment_get = sq_att_get,
    .attachment_get_by_id = sq_att_get_id,
    .attachment_get_by_volume = sq_att_get_vol,
    .attachment_delete = sq_att_delete,
    .attachment_list = sq_att_list,
    .action_insert = sq_act_insert,
    .action_update = sq_act_update,
    .action_get = sq_act_get,
    .action_list = sq_act_list,
    .event_insert = sq_ev_insert,
    .event_update = sq_ev_update,
    .event_list = sq_ev_list,
    .token_put = sq_tok_put,
    .token_get = sq_tok_get,
    .token_delete = sq_tok_delete,
    .token_purge = sq_tok_purge,
    .meta_list = sq_md_list,
    .meta_put = sq_md_put,
    .meta_delete = sq_md_delete,
    .swap_insert = sq_swap_insert,
    .swap_update = sq_swap_update,
    .swap_lease_renew = sq_swap_lease_renew,
    .swap_lease_take = sq_swap_lease_take,
    .swap_unfinished = sq_swap_unfinished,
    .swap_latest = sq_swap_latest,
    .swap_get = sq_swap_get,
    .swap_all = sq_swap_all,
    .swap_series_put = sq_swap_series_put,
    .swap_series_get = sq_swap_series_get,
    .keypair_insert = sq_keypair_insert,
    .keypair_get = sq_keypair_get,
    .keypair_list = sq_keypair_list,
    .keypair_delete = sq_keypair_delete,
    .image_insert = sq_image_insert,
    .image_get = sq_image_get,
    .image_update = sq_image_update,
    .image_delete = sq_image_delete,
    .image_list = sq_image_list,
    .member_put = sq_member_put,
    .member_get = sq_member_get,
    .member_delete = sq_member_delete,
    .member_list = sq_member_list,
    .metadef_put = sq_metadef_put,
    .metadef_get = sq_metadef_get,
    .metadef_list = sq_metadef_list,
    .metadef_delete = sq_metadef_delete,
    .metadef_rename = sq_metadef_rename,
    .last_error = sq_last_error,
    .last_error_kind = sq_last_error_kind,
};

static bool table_exists(struct sqlite_registry *s, const char *name)
{
    sqlite3_stmt *st = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(s->w.db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

/* Migration 4, inside its transaction: a `swaps` table made before the
 * swap records were the registry's (same columns, created outside the
 * numbered migrations) is set aside before the migration creates the
 * registry's own, and its rows, in their order, are moved into it after. */
static int adopt_unnumbered_swaps(struct sqlite_registry *s, bool before, char **msg)
{
    if (before)
        return table_exists(s, "swaps")
                   ? sqlite3_exec(s->w.db,
                                  "DROP INDEX IF EXISTS swaps_server;"
                                  "DROP INDEX IF EXISTS swaps_phase;"
                                  "ALTER TABLE swaps RENAME TO swaps_unnumbered;",
                                  NULL, NULL, msg)
                   : SQLITE_OK;
    if (!table_exists(s, "swaps_unnumbered"))
        return SQLITE_OK;
    return sqlite3_exec(s->w.db,
                        "INSERT INTO swaps(" SWAP_REC_COLS ",seq) SELECT " SWAP_REC_COLS
                        ",ROW_NUMBER() OVER (ORDER BY seq, rowid) FROM swaps_unnumbered;"
                        "DROP TABLE swaps_unnumbered;",
                        NULL, NULL, msg);
}

/* Applies every migration newer than the database's schema_version, each in
 * its own transaction together with the version bump. */
static int migrate(struct sqlite_registry *s, char *errbuf, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(s->w.db,
                     "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);", NULL,
                     NULL, &msg) != SQLITE_OK)
        goto fail;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->w.db, "SELECT COALESCE(MAX(version),0) FROM schema_version", -1, &st,
                           NULL) != SQLITE_OK)
        goto fail_db;
    int version = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > N_MIGRATIONS) {
        snprintf(errbuf, errlen,
                 "database schema version %d is newer than this "
                 "volswap-api (%d)",
                 version, N_MIGRATIONS);
        return -1;
    }
    for (int v = version + 1; v <= N_MIGRATIONS; v++) {
        if (sqlite3_exec(s->w.db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
            goto fail;
        if ((v == SWAPS_MIGRATION && adopt_unnumbered_swaps(s, true, &msg) != SQLITE_OK) ||
            sqlite3_exec(s->w.db, migrations[v - 1], NULL, NULL, &msg) != SQLITE_OK ||
            (v == SWAPS_MIGRATION && adopt_unnumbered_swaps(s, false, &msg) != SQLITE_OK)) {
            sqlite3_exec(s->w.db, "ROLLBACK", NULL, NULL, NULL);
            goto fail;
        }
        char bump[96];
        snprintf(bump, sizeof bump,
                 "DELETE FROM schema_version; "
                 "INSERT INTO schema_version VALUES(%d); COMMIT;",
                 v);
        if (sqlite3_exec(s->w.db, bump, NULL, NULL, &msg) != SQLITE_OK) {
            sqlite3_exec(s->w.db, "ROLLBACK", NULL, NULL, NULL);
            goto fail;
        }
    }
    s->schema_version = N_MIGRATIONS;
    return 0;
fail:
    snprintf(errbuf, errlen, "schema migration failed: %s", msg ? msg : "?");
    sqlite3_free(msg);
    return -1;
fail_db:
    snprintf(errbuf, errlen, "schema migration failed: %s", sqlite3_errmsg(s->w.db));
    return -1;
}

/* SQLite's memory statistics take one process-wide mutex on every
 * allocation and free, which every reader thread then contends for; nothing
 * here reads them. Must precede SQLite's initialisation (a no-op after). */
static void sqlite_configure_once(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

struct registry *registry_sqlite_open(const char *path, char *errbuf, size_t errlen)
{
    static pthread_once_t configured = PTHREAD_ONCE_INIT;
    pthread_once(&configured, sqlite_configure_once);
    struct sqlite_registry *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &sqlite_ops;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_mutex_init(&s->readers_lock, NULL);
    vs_list_init(&s->readers);
    snprintf(s->path, sizeof s->path, "%s", path);
    /* no SQLite mutex: s->lock already serialises every use of it */
    if (sqlite3_open_v2(path, &s->w.db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(errbuf, errlen, "cannot open database %s: %s", path,
                 s->w.db ? sqlite3_errmsg(s->w.db) : "out of memory");
        sq_close(&s->base);
        return NULL;
    }
    sqlite3_busy_timeout(s->w.db, 5000);
    char *msg = NULL;
    /* normal (not exclusive) locking: an operator's sqlite3 shell (and the
     * tests) may share the file. synchronous=FULL: a swap's phase is written
     * before its effect on the host can be seen, and must outlive a power
     * cut as well as a crash of this process */
    if (sqlite3_exec(s->w.db,
                     "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; "
                     "PRAGMA synchronous=FULL;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(errbuf, errlen, "cannot configure database %s: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        sq_close(&s->base);
        return NULL;
    }
    if (migrate(s, errbuf, errlen) < 0) {
        sq_close(&s->base);
        return NULL;
    }
    for (int i = 0; i < Q__COUNT; i++) {
        if (sqlite3_prepare_v3(s->w.db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &s->w.stmt[i],
                               NULL) != SQLITE_OK) {
            snprintf(errbuf, errlen, "cannot prepare statement %d: %s", i, sqlite3_errmsg(s->w.db));
            sq_close(&s->base);
            return NULL;
        }
    }
    /* an in-memory database is one connection's: no readers beside it */
    s->reader_key_made = strcmp(path, ":memory:") != 0 && path[0] &&
                         strncmp(path, "file:", 5) != 0 && strlen(path) < sizeof s->path &&
                         pthread_key_create(&s->reader_key, reader_gone) == 0;
    return &s->base;
}

int registry_sqlite_schema_version(struct registry *r)
{
    return SR(r)->schema_version;
}
