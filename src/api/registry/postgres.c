/* The PostgreSQL registry backend (registry.h), for several volswap-api
 * nodes on one database. Each node keeps a small pool of connections; a
 * call outside a transaction borrows one for its single statement (which
 * PostgreSQL runs in its own transaction), a transaction keeps the one its
 * begin borrowed until its outermost commit or rollback, and nested begins
 * are savepoints, as in the SQLite backend. Every outermost transaction
 * first takes one transaction-scoped advisory lock: writers are serialised
 * across every node exactly as SQLite's BEGIN IMMEDIATE serialises them in
 * one process, so a check and the write it guards (a quota, a volume's
 * state) see no other node's write in between, while plain reads run in
 * parallel. A statement that fails inside a transaction leaves PostgreSQL's
 * transaction (or savepoint) aborted: the scope is abandoned, its later
 * calls and its commit fail with that first error, and rolling back a
 * nested scope recovers the outer one. A connection the server dropped is
 * re-established (and its statements prepared again) the next time it is
 * borrowed; meanwhile calls fail with REG_ERR_BUSY, which the API answers
 * with 503, and a transaction whose connection died was rolled back by the
 * server, so nothing is half applied. The schema is built by the same
 * numbered migrations as SQLite's (in PostgreSQL's dialect), applied under
 * a session advisory lock so that nodes starting together apply each once.
 * The connection string is libpq's (URI or keywords); the password comes
 * from libpq's environment or password file, and no message here repeats
 * the connection string. */
#include "registry.h"
#include "statements.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_SIZE 4
/* advisory lock keys: 'vsw' + 1 (migrations), 'vsw' + 2 (writers) */
#define LOCK_MIGRATE "7566711"
#define LOCK_WRITE   "7566712"

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
    "  size_gb BIGINT NOT NULL, host TEXT NOT NULL REFERENCES hosts(name),"
    "  pool TEXT NOT NULL, path TEXT NOT NULL, status TEXT NOT NULL,"
    "  attach_status TEXT NOT NULL, migration_status TEXT NOT NULL,"
    "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE INDEX volumes_project ON volumes(project_id);"
    "CREATE INDEX volumes_path ON volumes(path);"
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
    "  start_time TEXT NOT NULL, updated_at TEXT NOT NULL, seq BIGSERIAL,"
    "  PRIMARY KEY(server_id, request_id));"
    "CREATE TABLE instance_action_events (request_id TEXT NOT NULL,"
    "  event TEXT NOT NULL, start_time TEXT NOT NULL, finish_time TEXT NOT NULL,"
    "  result TEXT NOT NULL, traceback TEXT NOT NULL, host TEXT NOT NULL,"
    "  details TEXT NOT NULL, seq BIGSERIAL, PRIMARY KEY(request_id, event));",
    /* 2: Keystone tokens */
    "CREATE TABLE tokens (id_hash TEXT PRIMARY KEY, auth TEXT NOT NULL,"
    "  expires BIGINT NOT NULL);"
    "CREATE INDEX tokens_expires ON tokens(expires);",
    /* 3: volume and server metadata (a volume's is deleted with it by the
     * volume delete statement, where SQLite uses a trigger) */
    "CREATE TABLE metadata (kind TEXT NOT NULL, owner TEXT NOT NULL,"
    "  key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(kind, owner, key));",
    /* 4: the swap records; seq orders them across nodes */
    "CREATE TABLE swaps (id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
    "  server_id TEXT NOT NULL, project_id TEXT NOT NULL, user_id TEXT NOT NULL,"
    "  host TEXT NOT NULL, old_volume_id TEXT NOT NULL, new_volume_id TEXT NOT NULL,"
    "  attachment_id TEXT NOT NULL, old_node TEXT NOT NULL, new_node TEXT NOT NULL,"
    "  old_path TEXT NOT NULL, old_size_gb BIGINT NOT NULL, new_size_gb BIGINT NOT NULL,"
    "  phase TEXT NOT NULL, error TEXT NOT NULL,"
    "  started_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    "  bytes_total BIGINT NOT NULL, bytes_done BIGINT NOT NULL,"
    "  mirror_ms BIGINT NOT NULL, pivot_ms BIGINT NOT NULL, total_ms BIGINT NOT NULL,"
    "  seq BIGSERIAL UNIQUE);"
    "CREATE INDEX swaps_server ON swaps(server_id, seq);"
    "CREATE INDEX swaps_phase ON swaps(phase, seq);",
    /* 5: the series a swap's worker sampled while it ran (a JSON document) */
    "CREATE TABLE IF NOT EXISTS swap_series (id TEXT PRIMARY KEY, series TEXT NOT NULL);",
    /* 6: each swap's lease (as SQLite's migration 6) */
    "ALTER TABLE swaps ADD COLUMN owner TEXT NOT NULL DEFAULT '',"
    "  ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0,"
    "  ADD COLUMN lease_expires BIGINT NOT NULL DEFAULT 0;",
    /* 7: Cinder's bootable flag and readonly admin metadata of a volume */
    "ALTER TABLE volumes ADD COLUMN bootable INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE volumes ADD COLUMN readonly INTEGER NOT NULL DEFAULT -1;",
    /* 8: Nova's key pairs, unique per user and name */
    "CREATE TABLE keypairs (id BIGSERIAL PRIMARY KEY, user_id TEXT NOT NULL,"
    "  name TEXT NOT NULL, type TEXT NOT NULL, fingerprint TEXT NOT NULL,"
    "  public_key TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE(user_id, name));",
    /* 9: Glance's images (a volume's image metadata goes with it in the
     * volume delete statement) */
    "CREATE TABLE images (id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL,"
    "  status TEXT NOT NULL, visibility TEXT NOT NULL, disk_format TEXT NOT NULL,"
    "  container_format TEXT NOT NULL, size BIGINT NOT NULL, virtual_size BIGINT NOT NULL,"
    "  checksum TEXT NOT NULL, os_hash_algo TEXT NOT NULL, os_hash_value TEXT NOT NULL,"
    "  min_disk BIGINT NOT NULL, min_ram BIGINT NOT NULL, protected INTEGER NOT NULL,"
    "  os_hidden INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);",
    /* 10: a server's attachments in the order they are listed (as SQLite's
     * migration 10) */
    "CREATE INDEX IF NOT EXISTS attachments_server"
    "  ON attachments(server_id, created_at, device);",
    /* 11: Glance's image members and metadata definitions (as SQLite's
     * migration 11) */
    "CREATE TABLE IF NOT EXISTS image_members (image_id TEXT NOT NULL, member TEXT NOT NULL,"
    "  status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    "  PRIMARY KEY(image_id, member));"
    "CREATE INDEX IF NOT EXISTS image_members_member ON image_members(member);"
    "CREATE TABLE IF NOT EXISTS metadefs (kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,"
    "  body TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    "  seq BIGSERIAL PRIMARY KEY, UNIQUE(kind, namespace, name));"
    "CREATE INDEX IF NOT EXISTS metadefs_namespace ON metadefs(namespace);"
    "INSERT INTO metadefs(kind, namespace, name, body, created_at, updated_at)"
    "  SELECT 'resource_type', '', t,"
    "  '{}', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    "  to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    "  FROM unnest(ARRAY['OS::Glance::Image', 'OS::Cinder::Volume', 'OS::Nova::Flavor',"
    "  'OS::Nova::Aggregate', 'OS::Nova::Server', 'OS::Trove::Instance'])"
    "  WITH ORDINALITY AS rt(t, i) ORDER BY i ON CONFLICT DO NOTHING;",
};
#define N_MIGRATIONS (int)(sizeof migrations / sizeof migrations[0])

/* now on the database's clock, in ms since the epoch (every node measures
 * a lease by the same clock) */
#define NOW_MS "(extract(epoch FROM clock_timestamp())*1000)::bigint"

/* A server and every column of its attachments, one row each (one whose
 * attachment is NULL for none), in the list's order: what a read scope
 * keeps of the server it read (struct pg_scope). */
#define SRV_VIEW_SQL                                                              \
    "SELECT s.*, a.* FROM (SELECT " SRV_COLS " FROM servers WHERE id=$1) s "      \
    "LEFT JOIN LATERAL (SELECT " ATT_COLS " FROM attachments WHERE server_id=$1 " \
    "ORDER BY created_at, device) a ON true"

/* clang-format off */
enum q {
    REG_STATEMENTS(REG_Q_ENUM)
    Q_TOK_SRV_VIEW, /* this backend's own: a token, and a server's view beside it */
    Q__COUNT
};
/* clang-format on */

static const char *const sql_text[Q__COUNT] = {
    [Q_HOST_PUT] = "INSERT INTO hosts(name,driver,qmp,nbd) VALUES($1,$2,$3,$4) "
                   "ON CONFLICT(name) DO UPDATE SET driver=excluded.driver,"
                   "qmp=excluded.qmp, nbd=excluded.nbd",
    [Q_HOST_LIST] = "SELECT name,driver,qmp,nbd FROM hosts ORDER BY name",
    [Q_SRV_INS] = "INSERT INTO servers(" SRV_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
    [Q_SRV_GET] = "SELECT " SRV_COLS " FROM servers WHERE id=$1",
    [Q_SRV_UPD] = "UPDATE servers SET name=$2,project_id=$3,user_id=$4,host=$5,status=$6,"
                  "vm_state=$7,task_state=$8,locked=$9,created_at=$10,updated_at=$11 WHERE id=$1",
    [Q_SRV_LIST] = "SELECT " SRV_COLS
                   " FROM servers WHERE project_id=$1 ORDER BY created_at DESC, id",
    [Q_SRV_LIST_ALL] = "SELECT " SRV_COLS " FROM servers ORDER BY created_at DESC, id",
    [Q_SRV_VIEW] = SRV_VIEW_SQL,
    /* the token's row (NULLs when there is none), then Q_SRV_VIEW's */
    [Q_TOK_SRV_VIEW] = "SELECT t.id_hash, t.auth, t.expires, v.* FROM (SELECT 1) one "
                       "LEFT JOIN tokens t ON t.id_hash=$2 "
                       "LEFT JOIN LATERAL (" SRV_VIEW_SQL ") v ON true",
    [Q_VOL_INS] = "INSERT INTO volumes(" VOL_COLS
                  ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)",
    [Q_VOL_GET] = "SELECT " VOL_COLS " FROM volumes WHERE id=$1",
    [Q_VOL_UPD] = "UPDATE volumes SET project_id=$2,user_id=$3,name=$4,description=$5,"
                  "size_gb=$6,host=$7,pool=$8,path=$9,status=$10,attach_status=$11,"
                  "migration_status=$12,created_at=$13,updated_at=$14,bootable=$15,readonly=$16 "
                  "WHERE id=$1",
    [Q_VOL_DEL] = "WITH md AS (DELETE FROM metadata WHERE kind IN ('volume','volume-image') "
                  "AND owner=$1) "
                  "DELETE FROM volumes WHERE id=$1",
    [Q_VOL_LIST] = "SELECT " VOL_COLS
                   " FROM volumes WHERE project_id=$1 ORDER BY created_at DESC, id",
    [Q_VOL_LIST_ALL] = "SELECT " VOL_COLS " FROM volumes ORDER BY created_at DESC, id",
    [Q_VOL_PATH] = "SELECT 1 FROM volumes WHERE path=$1 LIMIT 1",
    [Q_ATT_INS] = "INSERT INTO attachments(" ATT_COLS
                  ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
    [Q_ATT_UPD] = "UPDATE attachments SET bdm_uuid=$2,server_id=$3,volume_id=$4,device=$5,"
                  "tag=$6,delete_on_termination=$7,node_name=$8,export_id=$9,"
                  "export_name=$10,connection_info=$11,created_at=$12 WHERE id=$1",
    [Q_ATT_GET] = "SELECT " ATT_COLS " FROM attachments WHERE server_id=$1 AND volume_id=$2",
    [Q_ATT_GET_ID] = "SELECT " ATT_COLS " FROM attachments WHERE id=$1",
    [Q_ATT_GET_VOL] = "SELECT " ATT_COLS " FROM attachments WHERE volume_id=$1",
    [Q_ATT_DEL] = "DELETE FROM attachments WHERE id=$1",
    [Q_ATT_LIST] = "SELECT " ATT_COLS
                   " FROM attachments WHERE server_id=$1 ORDER BY created_at, device",
    [Q_ATT_LIST_ALL] = "SELECT " ATT_COLS " FROM attachments ORDER BY created_at, device",
    [Q_ACT_INS] = "INSERT INTO instance_actions(" ACT_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8)",
    [Q_ACT_UPD] = "UPDATE instance_actions SET action=$3,project_id=$4,user_id=$5,message=$6,"
                  "start_time=$7,updated_at=$8 WHERE request_id=$1 AND server_id=$2",
    [Q_ACT_GET] = "SELECT " ACT_COLS " FROM instance_actions WHERE server_id=$1 AND request_id=$2",
    [Q_ACT_LIST] = "SELECT " ACT_COLS " FROM instance_actions WHERE server_id=$1 "
                   "ORDER BY start_time DESC, seq DESC",
    [Q_EV_INS] = "INSERT INTO instance_action_events(" EV_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8)",
    [Q_EV_UPD] = "UPDATE instance_action_events SET start_time=$3,finish_time=$4,result=$5,"
                 "traceback=$6,host=$7,details=$8 WHERE request_id=$1 AND event=$2",
    [Q_EV_LIST] = "SELECT " EV_COLS " FROM instance_action_events WHERE request_id=$1 "
                  "ORDER BY start_time, seq",
    [Q_TOK_PUT] = "INSERT INTO tokens(id_hash,auth,expires) VALUES($1,$2,$3) "
                  "ON CONFLICT(id_hash) DO UPDATE SET auth=excluded.auth,expires=excluded.expires",
    [Q_TOK_GET] = "SELECT id_hash,auth,expires FROM tokens WHERE id_hash=$1",
    [Q_TOK_DEL] = "DELETE FROM tokens WHERE id_hash=$1",
    [Q_TOK_PURGE] = "DELETE FROM tokens WHERE expires<=$1",
    [Q_MD_LIST] = "SELECT key,value FROM metadata WHERE kind=$1 AND owner=$2 ORDER BY key",
    [Q_MD_PUT] = "INSERT INTO metadata(kind,owner,key,value) VALUES($1,$2,$3,$4) "
                 "ON CONFLICT(kind,owner,key) DO UPDATE SET value=excluded.value",
    [Q_MD_DEL] = "DELETE FROM metadata WHERE kind=$1 AND owner=$2 AND key=$3",
    [Q_MD_DEL_ALL] = "DELETE FROM metadata WHERE kind=$1 AND owner=$2",
    [Q_SWAP_INS] = "INSERT INTO swaps(" SWAP_COLS ",lease_expires) VALUES($1,$2,$3,$4,$5,$6,$7,$8,"
                   "$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25," NOW_MS
                   "+$26)",
    [Q_SWAP_UPD] = "UPDATE swaps SET kind=$2,server_id=$3,project_id=$4,user_id=$5,"
                   "host=$6,old_volume_id=$7,new_volume_id=$8,attachment_id=$9,old_node=$10,"
                   "new_node=$11,old_path=$12,old_size_gb=$13,new_size_gb=$14,phase=$15,"
                   "error=$16,started_at=$17,updated_at=$18,bytes_total=$19,bytes_done=$20,"
                   "mirror_ms=$21,pivot_ms=$22,total_ms=$23,lease_expires=" NOW_MS "+$26 "
                   "WHERE id=$1 AND owner=$24 AND epoch=$25",
    [Q_LEASE_RENEW] = "UPDATE swaps SET lease_expires=" NOW_MS "+$4 WHERE id=$1 AND owner=$2 AND "
                      "epoch=$3 AND " SWAP_UNFINISHED,
    [Q_LEASE_TAKE] = "UPDATE swaps SET owner=$1, epoch=epoch+1, lease_expires=" NOW_MS "+$2 "
                     "WHERE " SWAP_UNFINISHED " AND ($3=2 OR lease_expires<" NOW_MS
                     " OR ($3=1 AND owner=$1)) RETURNING " SWAP_COLS,
    [Q_SWAP_OPEN] = "SELECT " SWAP_COLS " FROM swaps WHERE " SWAP_UNFINISHED " ORDER BY seq",
    [Q_SWAP_LATEST] = "SELECT " SWAP_COLS " FROM swaps WHERE server_id=$1 AND "
                      "(old_volume_id=$2 OR new_volume_id=$2) ORDER BY seq DESC LIMIT 1",
    [Q_SWAP_GET] = "SELECT " SWAP_COLS " FROM swaps WHERE id=$1",
    [Q_SWAP_ALL] = "SELECT " SWAP_COLS " FROM swaps ORDER BY seq",
    [Q_SERIES_PUT] = "INSERT INTO swap_series(id,series) VALUES($1,$2) "
                     "ON CONFLICT(id) DO UPDATE SET series=excluded.series",
    [Q_SERIES_GET] = "SELECT series FROM swap_series WHERE id=$1",
    [Q_KP_INS] = "INSERT INTO keypairs(user_id,name,type,fingerprint,public_key,created_at) "
                 "VALUES($1,$2,$3,$4,$5,$6) RETURNING id",
    [Q_KP_GET] = "SELECT " KP_COLS " FROM keypairs WHERE user_id=$1 AND name=$2",
    [Q_KP_LIST] = "SELECT " KP_COLS " FROM keypairs WHERE user_id=$1 ORDER BY name",
    [Q_KP_LIST_ALL] = "SELECT " KP_COLS " FROM keypairs ORDER BY user_id, name",
    [Q_KP_DEL] = "DELETE FROM keypairs WHERE user_id=$1 AND name=$2",
    [Q_IMG_INS] = "INSERT INTO images(" IMG_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,"
                  "$12,$13,$14,$15,$16,$17,$18)",
    [Q_IMG_GET] = "SELECT " IMG_COLS " FROM images WHERE id=$1",
    [Q_IMG_UPD] = "UPDATE images SET owner=$2,name=$3,status=$4,visibility=$5,disk_format=$6,"
                  "container_format=$7,size=$8,virtual_size=$9,checksum=$10,os_hash_algo=$11,"
                  "os_hash_value=$12,min_disk=$13,min_ram=$14,protected=$15,os_hidden=$16,"
                  "created_at=$17,updated_at=$18 WHERE id=$1",
    [Q_IMG_DEL] = "DELETE FROM images WHERE id=$1",
    [Q_IMG_LIST] = "SELECT " IMG_COLS " FROM images ORDER BY created_at, id",
    [Q_MEM_PUT] = "INSERT INTO image_members(" MEM_COLS ") VALUES($1,$2,$3,$4,$5) "
                  "ON CONFLICT(image_id, member) DO UPDATE SET status=excluded.status,"
                  "created_at=excluded.created_at, updated_at=excluded.updated_at",
    [Q_MEM_GET] = "SELECT " MEM_COLS " FROM image_members WHERE image_id=$1 AND member=$2",
    [Q_MEM_DEL] = "DELETE FROM image_members WHERE image_id=$1 AND member=$2",
    [Q_MEM_DEL_ALL] = "DELETE FROM image_members WHERE image_id=$1",
    [Q_MEM_LIST] = "SELECT " MEM_COLS " FROM image_members WHERE image_id=$1 "
                   "ORDER BY created_at, member",
    [Q_MEM_LIST_BY] = "SELECT " MEM_COLS " FROM image_members WHERE member=$1 "
                      "ORDER BY created_at, image_id",
    [Q_MDEF_PUT] = "INSERT INTO metadefs(" MDEF_COLS ") VALUES($1,$2,$3,$4,$5,$6) "
                   "ON CONFLICT(kind, namespace, name) DO UPDATE SET body=excluded.body,"
                   "created_at=excluded.created_at, updated_at=excluded.updated_at",
    [Q_MDEF_GET] = "SELECT " MDEF_COLS " FROM metadefs WHERE kind=$1 AND namespace=$2 AND name=$3",
    [Q_MDEF_LIST] = "SELECT " MDEF_COLS " FROM metadefs WHERE kind=$1 AND namespace=$2 "
                    "ORDER BY seq",
    [Q_MDEF_LIST_ALL] = "SELECT " MDEF_COLS " FROM metadefs WHERE kind=$1 ORDER BY seq",
    [Q_MDEF_DEL] = "DELETE FROM metadefs WHERE kind=$1 AND namespace=$2 AND name=$3",
    [Q_MDEF_DEL_KIND] = "DELETE FROM metadefs WHERE kind=$1 AND namespace=$2",
    [Q_MDEF_DEL_NS] = "DELETE FROM metadefs WHERE namespace=$1",
    [Q_MDEF_RENAME] = "UPDATE metadefs SET namespace=$2 WHERE namespace=$1",
};

struct pg_conn {
    PGconn *c;
    bool ready; /* connected and every statement prepared */
    bool busy;  /* lent out (under the pool lock) */
};

struct pg_registry {
    struct registry base;
    char *conninfo;
    pthread_mutex_t lock; /* the pool */
    pthread_cond_t freed;
    struct pg_conn conns[POOL_SIZE];
    int schema_version;
};

/* The calling thread's open transaction: which registry and connection it
 * holds, how deep it is nested, and the scope a failed statement aborted
 * (0 = none) with that statement's error. */
struct pg_txn {
    struct pg_registry *owner;
    int slot, depth, aborted_depth;
    char aborted_error[512];
    enum reg_error_kind aborted_kind;
};
static __thread struct pg_txn txn;

/* The calling thread's read scope (one per HTTP request) and the view of
 * one server it read: the server's row and its attachments come from one
 * statement when the scope first reads the server, and the attachment
 * reads of that server in the same scope are answered from it, so a
 * request showing a server's attachments makes one round trip to the
 * database instead of two. Every statement that writes, every transaction
 * and the end of the scope forget the view; reads inside a transaction
 * never use it. */
struct pg_scope {
    struct pg_registry *owner;
    int depth;
    char hint[37]; /* read_hint_server's server, "" once used */
    bool valid;
    struct reg_server srv;
    struct reg_attachment *atts;
    size_t n;
};
static __thread struct pg_scope scope;

static void scope_forget(void)
{
    free(scope.atts);
    scope.atts = NULL;
    scope.n = 0;
    scope.valid = false;
}

static __thread char last_error[512];
static __thread enum reg_error_kind last_kind;

static struct pg_registry *PR(struct registry *r)
{
    return (struct pg_registry *)r;
}

static bool in_txn(struct pg_registry *s)
{
    return txn.owner == s && txn.depth > 0;
}

/* libpq's messages end with a newline; the log and the fault body do not
 * want it. */
static void set_error(enum reg_error_kind kind, const char *what, const char *msg)
{
    snprintf(last_error, sizeof last_error, "%s: %s", what, msg ? msg : "?");
    size_t n = strlen(last_error);
    while (n && (last_error[n - 1] == '\n' || last_error[n - 1] == ' '))
        last_error[--n] = '\0';
    last_kind = kind;
}

static enum reg_error_kind sqlstate_kind(const char *st)
{
    if (!st)
        return REG_ERR_BUSY; /* no answer from the server: it is gone */
    if (!strncmp(st, "23", 2))
        return REG_ERR_CONSTRAINT;
    if (!strcmp(st, "53100"))
        return REG_ERR_FULL;
    if (!strncmp(st, "08", 2) || !strncmp(st, "57P", 3) || !strcmp(st, "40001") ||
        !strcmp(st, "40P01") || !strcmp(st, "55P03") || !strcmp(st, "53300"))
        return REG_ERR_BUSY;
    return REG_ERR_OTHER;
}

/* Records why RES (or the connection) failed; inside a transaction, the
 * scope it aborted. */
static int pg_fail(struct pg_registry *s, struct pg_conn *pc, PGresult *res, const char *what)
{
    if (PQstatus(pc->c) != CONNECTION_OK) {
        pc->ready = false;
        set_error(REG_ERR_BUSY, what, "database unavailable");
    } else {
        const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        set_error(sqlstate_kind(res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL), what,
                  msg ? msg : PQerrorMessage(pc->c));
    }
    if (in_txn(s) && !txn.aborted_depth) {
        txn.aborted_depth = txn.depth;
        memcpy(txn.aborted_error, last_error, sizeof txn.aborted_error);
        txn.aborted_kind = last_kind;
    }
    return -1;
}

static int check_aborted(struct pg_registry *s)
{
    if (!in_txn(s) || !txn.aborted_depth)
        return 0;
    snprintf(last_error, sizeof last_error, "%s", txn.aborted_error);
    last_kind = txn.aborted_kind;
    return -1;
}

/* Connects (or reconnects) PC and prepares every statement on it. */
static int conn_ready(struct pg_registry *s, struct pg_conn *pc)
{
    if (pc->ready && PQstatus(pc->c) == CONNECTION_OK)
        return 0;
    if (!pc->c || PQstatus(pc->c) != CONNECTION_OK) {
        if (pc->c)
            PQfinish(pc->c);
        pc->ready = false;
        pc->c = PQconnectdb(s->conninfo);
        if (!pc->c || PQstatus(pc->c) != CONNECTION_OK) {
            set_error(REG_ERR_BUSY, "database unavailable",
                      pc->c ? PQerrorMessage(pc->c) : "out of memory");
            return -1;
        }
    }
    for (int i = 0; i < Q__COUNT; i++) {
        char name[16];
        snprintf(name, sizeof name, "q%d", i);
        PGresult *res = PQprepare(pc->c, name, sql_text[i], 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            set_error(REG_ERR_OTHER, "prepare", PQresultErrorMessage(res));
            PQclear(res);
            return -1;
        }
        PQclear(res);
    }
    pc->ready = true;
    return 0;
}

/* Borrows a connection: the transaction's own inside one, else a free one
 * of the pool (waiting for it). */
static int conn_get(struct pg_registry *s)
{
    if (in_txn(s))
        return txn.slot;
    pthread_mutex_lock(&s->lock);
    int slot = -1;
    for (;;) {
        for (int i = 0; i < POOL_SIZE && slot < 0; i++)
            if (!s->conns[i].busy)
                slot = i;
        if (slot >= 0)
            break;
        pthread_cond_wait(&s->freed, &s->lock);
    }
    s->conns[slot].busy = true;
    pthread_mutex_unlock(&s->lock);
    if (conn_ready(s, &s->conns[slot]) < 0) {
        pthread_mutex_lock(&s->lock);
        s->conns[slot].busy = false;
        pthread_cond_signal(&s->freed);
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    return slot;
}

static void conn_put(struct pg_registry *s, int slot)
{
    if (in_txn(s))
        return;
    pthread_mutex_lock(&s->lock);
    s->conns[slot].busy = false;
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->lock);
}

/* Runs prepared statement Q with N text parameters. On success returns the
 * result (caller clears it); on failure NULL with the error recorded. */
static PGresult *run(struct pg_registry *s, enum q q, int n, const char *const *params,
                     const char *what)
{
    if (check_aborted(s) < 0)
        return NULL;
    if (scope.valid && strncmp(sql_text[q], "SELECT", 6) != 0)
        scope_forget(); /* this thread writes: its later reads see it */
    /* PostgreSQL refuses text that is not UTF-8, where SQLite compares the
     * bytes: a key from a URL that is not UTF-8 names no record (every
     * stored one is), and such a value is never written */
    for (int i = 0; i < n; i++)
        if (params[i] && !vs_utf8_valid(params[i])) {
            if (!strncmp(sql_text[q], "SELECT", 6))
                return PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
            set_error(REG_ERR_OTHER, what, "a value is not valid UTF-8");
            return NULL;
        }
    int slot = conn_get(s);
    if (slot < 0)
        return NULL;
    struct pg_conn *pc = &s->conns[slot];
    char name[16];
    snprintf(name, sizeof name, "q%d", (int)q);
    PGresult *res = PQexecPrepared(pc->c, name, n, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pg_fail(s, pc, res, what);
        PQclear(res);
        res = NULL;
    }
    conn_put(s, slot);
    return res;
}

/* A statement returning no rows; 1 when CHANGED_OR_NONE and no row changed. */
static int exec_q(struct pg_registry *s, enum q q, int n, const char *const *p, const char *what,
                  bool none_is_1)
{
    PGresult *res = run(s, q, n, p, what);
    if (!res)
        return -1;
    bool none = !strcmp(PQcmdTuples(res), "0");
    PQclear(res);
    return none_is_1 && none ? 1 : 0;
}

typedef void (*row_reader)(PGresult *res, int row, void *out);

static void col(PGresult *res, int row, int i, char *out, size_t outlen)
{
    const char *t = PQgetvalue(res, row, i);
    size_t n = t ? strlen(t) : 0;
    if (n >= outlen) /* cannot happen for rows we wrote; never overflow */
        n = outlen - 1;
    if (n)
        memcpy(out, t, n);
    out[n] = '\0';
}
#define COL(res, row, i, field) col(res, row, i, field, sizeof field)
static int64_t col_int(PGresult *res, int row, int i)
{
    return strtoll(PQgetvalue(res, row, i), NULL, 10);
}

static int query_one(struct pg_registry *s, enum q q, int n, const char *const *p, row_reader rd,
                     void *out, const char *what)
{
    PGresult *res = run(s, q, n, p, what);
    if (!res)
        return -1;
    int rc = 1;
    if (PQntuples(res) > 0) {
        rd(res, 0, out);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

static int query_many(struct pg_registry *s, enum q q, int n, const char *const *p, row_reader rd,
                      size_t elem, void **out, size_t *count, const char *what)
{
    *out = NULL;
    *count = 0;
    PGresult *res = run(s, q, n, p, what);
    if (!res)
        return -1;
    int rows = PQntuples(res);
    char *arr = rows ? calloc((size_t)rows, elem) : NULL;
    if (rows && !arr) {
        PQclear(res);
        set_error(REG_ERR_OTHER, what, "out of memory");
        return -1;
    }
    for (int i = 0; i < rows; i++)
        rd(res, i, arr + (size_t)i * elem);
    PQclear(res);
    *out = arr;
    *count = (size_t)rows;
    return 0;
}

/* Integers travel as text like everything else. */
struct ints {
    char b[10][24];
};
static const char *itxt(struct ints *t, int i, int64_t v)
{
    snprintf(t->b[i], sizeof t->b[i], "%lld", (long long)v);
    return t->b[i];
}

/* ---- transactions ---- */

/* Runs a transaction-control command on the transaction's connection. */
static int txn_exec(struct pg_registry *s, const char *sql, const char *what)
{
    struct pg_conn *pc = &s->conns[txn.slot];
    PGresult *res = PQexec(pc->c, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = pg_fail(s, pc, res, what);
    PQclear(res);
    return rc;
}

/* Quietly (the error being reported stays the one that caused it). */
static void txn_exec_quiet(struct pg_registry *s, const char *sql)
{
    PQclear(PQexec(s->conns[txn.slot].c, sql));
}

static void txn_leave(struct pg_registry *s)
{
    if (--txn.depth > 0)
        return;
    int slot = txn.slot;
    txn = (struct pg_txn){ 0 };
    conn_put(s, slot);
}

static int pg_begin(struct registry *r)
{
    struct pg_registry *s = PR(r);
    scope_forget();
    if (in_txn(s)) {
        if (check_aborted(s) < 0 || txn_exec(s, "SAVEPOINT nested", "begin nested") < 0)
            return -1;
        txn.depth++;
        return 0;
    }
    if (txn.owner && txn.depth > 0) {
        set_error(REG_ERR_OTHER, "begin", "a transaction of another registry is open");
        return -1;
    }
    int slot = conn_get(s);
    if (slot < 0)
        return -1;
    txn = (struct pg_txn){ .owner = s, .slot = slot, .depth = 1 };
    if (txn_exec(s, "BEGIN; SELECT pg_advisory_xact_lock(" LOCK_WRITE ")", "begin") < 0) {
        if (PQstatus(s->conns[slot].c) == CONNECTION_OK)
            txn_exec_quiet(s, "ROLLBACK");
        txn_leave(s);
        return -1;
    }
    return 0;
}

/* Undoes the innermost scope; a nested one's rollback recovers the outer
 * transaction when the failure happened inside it. */
static void undo_scope(struct pg_registry *s)
{
    if (txn.depth > 1) {
        txn_exec_quiet(s, "ROLLBACK TO SAVEPOINT nested");
        txn_exec_quiet(s, "RELEASE SAVEPOINT nested");
        if (txn.aborted_depth >= txn.depth &&
            PQtransactionStatus(s->conns[txn.slot].c) == PQTRANS_INTRANS)
            txn.aborted_depth = 0;
    } else if (PQstatus(s->conns[txn.slot].c) == CONNECTION_OK) {
        txn_exec_quiet(s, "ROLLBACK");
    }
}

static int pg_commit(struct registry *r)
{
    struct pg_registry *s = PR(r);
    int rc = check_aborted(s);
    if (rc == 0)
        rc = txn.depth > 1 ? txn_exec(s, "RELEASE SAVEPOINT nested", "commit nested")
                           : txn_exec(s, "COMMIT", "commit");
    if (rc < 0)
        undo_scope(s);
    txn_leave(s);
    return rc;
}

static void pg_rollback(struct registry *r)
{
    struct pg_registry *s = PR(r);
    undo_scope(s);
    txn_leave(s);
}

/* ---- hosts ---- */
static int pg_host_put(struct registry *r, const struct reg_host *h)
{
    const char *p[] = { h->name, h->driver, h->qmp, h->nbd };
    return exec_q(PR(r), Q_HOST_PUT, 4, p, "host_put", false);
}
static void read_host(PGresult *res, int row, void *o)
{
    struct reg_host *h = o;
    COL(res, row, 0, h->name);
    COL(res, row, 1, h->driver);
    COL(res, row, 2, h->qmp);
    COL(res, row, 3, h->nbd);
}
static int pg_host_list(struct registry *r, struct reg_host **out, size_t *n)
{
    return query_many(PR(r), Q_HOST_LIST, 0, NULL, read_host, sizeof **out, (void **)out, n,
                      "host_list");
}

/* ---- servers ---- */
static int srv_write(struct registry *r, enum q q, const struct reg_server *v)
{
    const char *p[] = { v->id,         v->name,       v->project_id,
                        v->user_id,    v->host,       v->status,
                        v->vm_state,   v->task_state, v->locked ? "1" : "0",
                        v->created_at, v->updated_at };
    return exec_q(PR(r), q, 11, p, "server write", false);
}
static int pg_server_insert(struct registry *r, const struct reg_server *v)
{
    return srv_write(r, Q_SRV_INS, v);
}
static int pg_server_update(struct registry *r, const struct reg_server *v)
{
    return srv_write(r, Q_SRV_UPD, v);
}
/* a server's columns from column I of ROW on */
static void read_server_at(PGresult *res, int row, int i, struct reg_server *v)
{
    COL(res, row, i, v->id);
    COL(res, row, i + 1, v->name);
    COL(res, row, i + 2, v->project_id);
    COL(res, row, i + 3, v->user_id);
    COL(res, row, i + 4, v->host);
    COL(res, row, i + 5, v->status);
    COL(res, row, i + 6, v->vm_state);
    COL(res, row, i + 7, v->task_state);
    v->locked = col_int(res, row, i + 8) != 0;
    COL(res, row, i + 9, v->created_at);
    COL(res, row, i + 10, v->updated_at);
}
static void read_server(PGresult *res, int row, void *o)
{
    read_server_at(res, row, 0, o);
}
static int get_by(struct registry *r, enum q q, const char *k1, const char *k2, row_reader rd,
                  void *out)
{
    const char *p[] = { k1, k2 };
    return query_one(PR(r), q, k2 ? 2 : 1, p, rd, out, "get");
}
static int list_by(struct registry *r, enum q q_one, enum q q_all, const char *key, row_reader rd,
                   size_t elem, void **out, size_t *n)
{
    const char *p[] = { key };
    return query_many(PR(r), key ? q_one : q_all, key ? 1 : 0, p, rd, elem, out, n, "list");
}
/* Is the thread's read scope's view usable here (a scope of S, no
 * transaction open)? */
static bool scope_usable(struct pg_registry *s)
{
    return scope.owner == s && scope.depth > 0 && !in_txn(s);
}

static void read_att_at(PGresult *res, int row, int i, struct reg_attachment *a);

/* Takes a server and its attachments from RES, a Q_SRV_VIEW result whose
 * columns start at OFF, into the scope's view: 0, 1 when there is no such
 * server, -1. */
static int scope_fill(PGresult *res, int off)
{
    scope_forget();
    int rows = PQntuples(res);
    if (rows == 0 || PQgetisnull(res, 0, off))
        return 1;
    read_server_at(res, 0, off, &scope.srv);
    /* a server without attachments is one row whose attachment is NULL */
    size_t n = PQgetisnull(res, 0, off + 11) ? 0 : (size_t)rows;
    if (n && !(scope.atts = calloc(n, sizeof *scope.atts))) {
        set_error(REG_ERR_OTHER, "get", "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        read_att_at(res, (int)i, off + 11, &scope.atts[i]);
    scope.n = n;
    scope.valid = true;
    return 0;
}

/* Reads server ID and its attachments into the scope's view: 0, 1 when
 * there is no such server, -1. */
static int scope_load(struct pg_registry *s, const char *id)
{
    scope_forget();
    const char *p[] = { id };
    PGresult *res = run(s, Q_SRV_VIEW, 1, p, "get");
    if (!res)
        return -1;
    int rc = scope_fill(res, 0);
    PQclear(res);
    return rc;
}

static bool scope_has(struct pg_registry *s, const char *server_id)
{
    return scope_usable(s) && scope.valid && strcmp(scope.srv.id, server_id) == 0;
}

static int pg_server_get(struct registry *r, const char *id, struct reg_server *out)
{
    struct pg_registry *s = PR(r);
    if (scope_usable(s) && id) {
        int rc = scope_has(s, id) ? 0 : scope_load(s, id);
        if (rc == 0)
            *out = scope.srv;
        return rc;
    }
    return get_by(r, Q_SRV_GET, id, NULL, read_server, out);
}
/* The views of the scope's attachments, or of VOLUME_ID's alone (a copy
 * the caller frees). */
static int scope_views(const char *volume_id, struct reg_attachment_view **atts, size_t *n)
{
    *atts = NULL;
    *n = 0;
    size_t count = 0;
    for (size_t i = 0; i < scope.n; i++)
        count += !volume_id || !strcmp(scope.atts[i].volume_id, volume_id);
    if (!count)
        return 0;
    struct reg_attachment_view *v = malloc(count * sizeof *v);
    if (!v) {
        set_error(REG_ERR_OTHER, "get", "out of memory");
        return -1;
    }
    for (size_t i = 0, k = 0; i < scope.n; i++) {
        const struct reg_attachment *a = &scope.atts[i];
        if (volume_id && strcmp(a->volume_id, volume_id))
            continue;
        memcpy(v[k].id, a->id, sizeof v[k].id);
        memcpy(v[k].bdm_uuid, a->bdm_uuid, sizeof v[k].bdm_uuid);
        memcpy(v[k].server_id, a->server_id, sizeof v[k].server_id);
        memcpy(v[k].volume_id, a->volume_id, sizeof v[k].volume_id);
        memcpy(v[k].device, a->device, sizeof v[k].device);
        memcpy(v[k].tag, a->tag, sizeof v[k].tag);
        v[k].delete_on_termination = a->delete_on_termination;
        k++;
    }
    *atts = v;
    *n = count;
    return 0;
}
/* In a read scope, from its view (one statement, or none when the token's
 * look-up brought it); else read into a view of its own for this call. */
static int pg_server_view(struct registry *r, const char *id, const char *volume_id,
                          struct reg_server *out, struct reg_attachment_view **atts, size_t *n)
{
    struct pg_registry *s = PR(r);
    *atts = NULL;
    *n = 0;
    bool scoped = scope_usable(s);
    int rc = scoped && scope_has(s, id) ? 0 : scope_load(s, id);
    if (rc == 0) {
        *out = scope.srv;
        rc = scope_views(volume_id, atts, n);
    }
    if (!scoped)
        scope_forget();
    return rc;
}
static void pg_read_hint_server(struct registry *r, const char *id)
{
    struct pg_registry *s = PR(r);
    size_t len = strlen(id);
    /* a key that is not UTF-8 names nothing here (run): no hint */
    if (scope.owner != s || scope.depth <= 0 || len >= sizeof scope.hint || !vs_utf8_valid(id))
        return;
    memcpy(scope.hint, id, len + 1);
}
static int pg_server_list(struct registry *r, const char *project, struct reg_server **out,
                          size_t *n)
{
    return list_by(r, Q_SRV_LIST, Q_SRV_LIST_ALL, project, read_server, sizeof **out, (void **)out,
                   n);
}

/* ---- volumes ---- */
static int vol_write(struct registry *r, enum q q, const struct reg_volume *v)
{
    struct ints t;
    const char *p[] = { v->id,
                        v->project_id,
                        v->user_id,
                        v->name,
                        v->description,
                        itxt(&t, 0, v->size_gb),
                        v->host,
                        v->pool,
                        v->path,
                        v->status,
                        v->attach_status,
                        v->migration_status,
                        v->created_at,
                        v->updated_at,
                        itxt(&t, 1, v->bootable),
                        itxt(&t, 2, v->readonly) };
    return exec_q(PR(r), q, 16, p, "volume write", false);
}
static int pg_volume_insert(struct registry *r, const struct reg_volume *v)
{
    return vol_write(r, Q_VOL_INS, v);
}
static int pg_volume_update(struct registry *r, const struct reg_volume *v)
{
    return vol_write(r, Q_VOL_UPD, v);
}
static int pg_volume_delete(struct registry *r, const char *id)
{
    const char *p[] = { id };
    return exec_q(PR(r), Q_VOL_DEL, 1, p, "delete", false);
}
static void read_volume(PGresult *res, int row, void *o)
{
    struct reg_volume *v = o;
    COL(res, row, 0, v->id);
    COL(res, row, 1, v->project_id);
    COL(res, row, 2, v->user_id);
    COL(res, row, 3, v->name);
    COL(res, row, 4, v->description);
    v->size_gb = col_int(res, row, 5);
    COL(res, row, 6, v->host);
    COL(res, row, 7, v->pool);
    COL(res, row, 8, v->path);
    COL(res, row, 9, v->status);
    COL(res, row, 10, v->attach_status);
    COL(res, row, 11, v->migration_status);
    COL(res, row, 12, v->created_at);
    COL(res, row, 13, v->updated_at);
    v->bootable = col_int(res, row, 14) != 0;
    v->readonly = (int)col_int(res, row, 15);
}
static int pg_volume_get(struct registry *r, const char *id, struct reg_volume *out)
{
    return get_by(r, Q_VOL_GET, id, NULL, read_volume, out);
}
static int pg_volume_list(struct registry *r, const char *project, struct reg_volume **out,
                          size_t *n)
{
    return list_by(r, Q_VOL_LIST, Q_VOL_LIST_ALL, project, read_volume, sizeof **out, (void **)out,
                   n);
}
static void read_flag(PGresult *res, int row, void *o)
{
    *(bool *)o = col_int(res, row, 0) != 0;
}
static int pg_volume_path_used(struct registry *r, const char *path, bool *used)
{
    *used = false;
    return get_by(r, Q_VOL_PATH, path, NULL, read_flag, used) < 0 ? -1 : 0;
}

/* ---- attachments ---- */
static int att_write(struct registry *r, enum q q, const struct reg_attachment *a)
{
    const char *p[] = { a->id,
                        a->bdm_uuid,
                        a->server_id,
                        a->volume_id,
                        a->device,
                        a->tag,
                        a->delete_on_termination ? "1" : "0",
                        a->node_name,
                        a->export_id,
                        a->export_name,
                        a->connection_info,
                        a->created_at };
    return exec_q(PR(r), q, 12, p, "attachment write", false);
}
static int pg_att_insert(struct registry *r, const struct reg_attachment *a)
{
    return att_write(r, Q_ATT_INS, a);
}
static int pg_att_update(struct registry *r, const struct reg_attachment *a)
{
    return att_write(r, Q_ATT_UPD, a);
}
/* An attachment from the columns of RES's ROW that start at I. */
static void read_att_at(PGresult *res, int row, int i, struct reg_attachment *a)
{
    COL(res, row, i + 0, a->id);
    COL(res, row, i + 1, a->bdm_uuid);
    COL(res, row, i + 2, a->server_id);
    COL(res, row, i + 3, a->volume_id);
    COL(res, row, i + 4, a->device);
    COL(res, row, i + 5, a->tag);
    a->delete_on_termination = col_int(res, row, i + 6) != 0;
    COL(res, row, i + 7, a->node_name);
    COL(res, row, i + 8, a->export_id);
    COL(res, row, i + 9, a->export_name);
    COL(res, row, i + 10, a->connection_info);
    COL(res, row, i + 11, a->created_at);
}
static void read_att(PGresult *res, int row, void *o)
{
    read_att_at(res, row, 0, o);
}
static int pg_att_get(struct registry *r, const char *server_id, const char *volume_id,
                      struct reg_attachment *out)
{
    if (server_id && volume_id && scope_has(PR(r), server_id)) {
        for (size_t i = 0; i < scope.n; i++)
            if (strcmp(scope.atts[i].volume_id, volume_id) == 0) {
                *out = scope.atts[i];
                return 0;
            }
        return 1;
    }
    return get_by(r, Q_ATT_GET, server_id, volume_id, read_att, out);
}
static int pg_att_get_id(struct registry *r, const char *id, struct reg_attachment *out)
{
    return get_by(r, Q_ATT_GET_ID, id, NULL, read_att, out);
}
static int pg_att_get_vol(struct registry *r, const char *volume_id, struct reg_attachment *out)
{
    return get_by(r, Q_ATT_GET_VOL, volume_id, NULL, read_att, out);
}
static int pg_att_delete(struct registry *r, const char *id)
{
    const char *p[] = { id };
    return exec_q(PR(r), Q_ATT_DEL, 1, p, "delete", false);
}
static int pg_att_list(struct registry *r, const char *server_id, struct reg_attachment **out,
                       size_t *n)
{
    if (server_id && scope_has(PR(r), server_id)) {
        /* no array when there is nothing, as list_by */
        *out = scope.n ? malloc(scope.n * sizeof **out) : NULL;
        *n = *out ? scope.n : 0;
        if (scope.n && !*out) {
            set_error(REG_ERR_OTHER, "list", "out of memory");
            return -1;
        }
        if (scope.n)
            memcpy(*out, scope.atts, scope.n * sizeof **out);
        return 0;
    }
    return list_by(r, Q_ATT_LIST, Q_ATT_LIST_ALL, server_id, read_att, sizeof **out, (void **)out,
                   n);
}

/* ---- instance actions and events ---- */
static int act_write(struct registry *r, enum q q, const struct reg_action *a)
{
    const char *p[] = { a->request_id, a->server_id, a->action,     a->project_id,
                        a->user_id,    a->message,   a->start_time, a->updated_at };
    return exec_q(PR(r), q, 8, p, "action write", false);
}
static int pg_act_insert(struct registry *r, const struct reg_action *a)
{
    return act_write(r, Q_ACT_INS, a);
}
static int pg_act_update(struct registry *r, const struct reg_action *a)
{
    return act_write(r, Q_ACT_UPD, a);
}
static void read_act(PGresult *res, int row, void *o)
{
    struct reg_action *a = o;
    COL(res, row, 0, a->request_id);
    COL(res, row, 1, a->server_id);
    COL(res, row, 2, a->action);
    COL(res, row, 3, a->project_id);
    COL(res, row, 4, a->user_id);
    COL(res, row, 5, a->message);
    COL(res, row, 6, a->start_time);
    COL(res, row, 7, a->updated_at);
}
static int pg_act_get(struct registry *r, const char *server_id, const char *rid,
                      struct reg_action *out)
{
    return get_by(r, Q_ACT_GET, server_id, rid, read_act, out);
}
static int pg_act_list(struct registry *r, const char *server_id, struct reg_action **out,
                       size_t *n)
{
    return list_by(r, Q_ACT_LIST, Q_ACT_LIST, server_id, read_act, sizeof **out, (void **)out, n);
}
static int ev_write(struct registry *r, enum q q, const struct reg_event *e)
{
    const char *p[] = { e->request_id, e->event,     e->start_time, e->finish_time,
                        e->result,     e->traceback, e->host,       e->details };
    return exec_q(PR(r), q, 8, p, "event write", false);
}
static int pg_ev_insert(struct registry *r, const struct reg_event *e)
{
    return ev_write(r, Q_EV_INS, e);
}
static int pg_ev_update(struct registry *r, const struct reg_event *e)
{
    return ev_write(r, Q_EV_UPD, e);
}
static void read_ev(PGresult *res, int row, void *o)
{
    struct reg_event *e = o;
    COL(res, row, 0, e->request_id);
    COL(res, row, 1, e->event);
    COL(res, row, 2, e->start_time);
    COL(res, row, 3, e->finish_time);
    COL(res, row, 4, e->result);
    COL(res, row, 5, e->traceback);
    COL(res, row, 6, e->host);
    COL(res, row, 7, e->details);
}
static int pg_ev_list(struct registry *r, const char *rid, struct reg_event **out, size_t *n)
{
    return list_by(r, Q_EV_LIST, Q_EV_LIST, rid, read_ev, sizeof **out, (void **)out, n);
}

/* ---- tokens ---- */
static int pg_tok_put(struct registry *r, const struct reg_token *t)
{
    struct ints b;
    const char *p[] = { t->id_hash, t->auth, itxt(&b, 0, t->expires) };
    return exec_q(PR(r), Q_TOK_PUT, 3, p, "token put", false);
}
static void read_tok(PGresult *res, int row, void *o)
{
    struct reg_token *t = o;
    COL(res, row, 0, t->id_hash);
    COL(res, row, 1, t->auth);
    t->expires = col_int(res, row, 2);
}
/* The first token look-up of a read scope hinted at a server (a
 * request's token check, at its door) reads that server's view in the
 * same statement: one round trip serves the door and the handler. */
static int pg_tok_get(struct registry *r, const char *id_hash, struct reg_token *out)
{
    struct pg_registry *s = PR(r);
    if (scope_usable(s) && scope.hint[0] && !scope.valid && id_hash && vs_utf8_valid(id_hash)) {
        char server[sizeof scope.hint];
        memcpy(server, scope.hint, sizeof server);
        scope.hint[0] = '\0';
        const char *p[] = { server, id_hash };
        PGresult *res = run(s, Q_TOK_SRV_VIEW, 2, p, "get");
        if (!res)
            return -1;
        int rc = 1;
        if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
            read_tok(res, 0, out);
            rc = 0;
        }
        /* the view is only a head start: without it the handler reads it */
        if (PQntuples(res) > 0 && scope_fill(res, 3) < 0)
            scope_forget();
        PQclear(res);
        return rc;
    }
    return get_by(r, Q_TOK_GET, id_hash, NULL, read_tok, out);
}
static int pg_tok_delete(struct registry *r, const char *id_hash)
{
    const char *p[] = { id_hash };
    return exec_q(PR(r), Q_TOK_DEL, 1, p, "token delete", false);
}
static int pg_tok_purge(struct registry *r, int64_t now)
{
    struct ints b;
    const char *p[] = { itxt(&b, 0, now) };
    return exec_q(PR(r), Q_TOK_PURGE, 1, p, "token purge", false);
}

/* ---- metadata ---- */
static void read_meta(PGresult *res, int row, void *o)
{
    struct reg_meta *m = o;
    COL(res, row, 0, m->key);
    COL(res, row, 1, m->value);
}
static int pg_md_list(struct registry *r, enum reg_meta_kind kind, const char *owner,
                      struct reg_meta **out, size_t *n)
{
    const char *p[] = { reg_meta_kind_name(kind), owner };
    return query_many(PR(r), Q_MD_LIST, 2, p, read_meta, sizeof **out, (void **)out, n,
                      "metadata list");
}
static int pg_md_put(struct registry *r, enum reg_meta_kind kind, const char *owner,
                     const struct reg_meta *m)
{
    const char *p[] = { reg_meta_kind_name(kind), owner, m->key, m->value };
    return exec_q(PR(r), Q_MD_PUT, 4, p, "metadata put", false);
}
static int pg_md_delete(struct registry *r, enum reg_meta_kind kind, const char *owner,
                        const char *key)
{
    const char *p[] = { reg_meta_kind_name(kind), owner, key };
    return exec_q(PR(r), key ? Q_MD_DEL : Q_MD_DEL_ALL, key ? 3 : 2, p, "metadata delete",
                  key != NULL);
}

/* ---- swap records ---- */
static int swap_write(struct registry *r, enum q q, const struct reg_swap *w)
{
    struct ints b;
    const char *p[] = { w->id,
                        w->kind,
                        w->server_id,
                        w->project_id,
                        w->user_id,
                        w->host,
                        w->old_volume_id,
                        w->new_volume_id,
                        w->attachment_id,
                        w->old_node,
                        w->new_node,
                        w->old_path,
                        itxt(&b, 0, w->old_size_gb),
                        itxt(&b, 1, w->new_size_gb),
                        w->phase,
                        w->error,
                        w->started_at,
                        w->updated_at,
                        itxt(&b, 2, w->bytes_total),
                        itxt(&b, 3, w->bytes_done),
                        itxt(&b, 4, w->mirror_ms),
                        itxt(&b, 5, w->pivot_ms),
                        itxt(&b, 6, w->total_ms),
                        w->owner,
                        itxt(&b, 7, w->epoch),
                        itxt(&b, 8, w->lease_ms) };
    return exec_q(PR(r), q, 26, p, "swap record write", q == Q_SWAP_UPD);
}
static int pg_swap_insert(struct registry *r, const struct reg_swap *w)
{
    return swap_write(r, Q_SWAP_INS, w);
}
static int pg_swap_update(struct registry *r, const struct reg_swap *w)
{
    return swap_write(r, Q_SWAP_UPD, w);
}
static void read_swap(PGresult *res, int row, void *o)
{
    struct reg_swap *w = o;
    int i = 0;
    COL(res, row, i++, w->id);
    COL(res, row, i++, w->kind);
    COL(res, row, i++, w->server_id);
    COL(res, row, i++, w->project_id);
    COL(res, row, i++, w->user_id);
    COL(res, row, i++, w->host);
    COL(res, row, i++, w->old_volume_id);
    COL(res, row, i++, w->new_volume_id);
    COL(res, row, i++, w->attachment_id);
    COL(res, row, i++, w->old_node);
    COL(res, row, i++, w->new_node);
    COL(res, row, i++, w->old_path);
    w->old_size_gb = col_int(res, row, i++);
    w->new_size_gb = col_int(res, row, i++);
    COL(res, row, i++, w->phase);
    COL(res, row, i++, w->error);
    COL(res, row, i++, w->started_at);
    COL(res, row, i++, w->updated_at);
    w->bytes_total = col_int(res, row, i++);
    w->bytes_done = col_int(res, row, i++);
    w->mirror_ms = col_int(res, row, i++);
    w->pivot_ms = col_int(res, row, i++);
    w->total_ms = col_int(res, row, i++);
    COL(res, row, i++, w->owner);
    w->epoch = col_int(res, row, i++);
}
static int pg_swap_lease_renew(struct registry *r, const char *id, const char *owner, int64_t epoch,
                               int64_t lease_ms)
{
    struct ints b;
    const char *p[] = { id, owner, itxt(&b, 0, epoch), itxt(&b, 1, lease_ms) };
    return exec_q(PR(r), Q_LEASE_RENEW, 4, p, "swap lease renew", true);
}
static int pg_swap_lease_take(struct registry *r, const char *owner, int64_t lease_ms,
                              enum reg_lease_take which, struct reg_swap **out, size_t *n)
{
    struct ints b;
    const char *p[] = { owner, itxt(&b, 0, lease_ms), itxt(&b, 1, (int64_t)which) };
    if (query_many(PR(r), Q_LEASE_TAKE, 3, p, read_swap, sizeof **out, (void **)out, n,
                   "swap lease take") < 0)
        return -1;
    if (*n > 1) /* no array at all when nothing was taken */
        qsort(*out, *n, sizeof **out, reg_swap_cmp_started);
    return 0;
}
static int pg_swap_unfinished(struct registry *r, struct reg_swap **out, size_t *n)
{
    return query_many(PR(r), Q_SWAP_OPEN, 0, NULL, read_swap, sizeof **out, (void **)out, n,
                      "swap records");
}
static int pg_swap_latest(struct registry *r, const char *server_id, const char *volume_id,
                          struct reg_swap *out)
{
    memset(out, 0, sizeof *out);
    return get_by(r, Q_SWAP_LATEST, server_id, volume_id, read_swap, out);
}

static int pg_swap_get(struct registry *r, const char *id, struct reg_swap *out)
{
    memset(out, 0, sizeof *out);
    return get_by(r, Q_SWAP_GET, id, NULL, read_swap, out);
}
static int pg_swap_all(struct registry *r, struct reg_swap **out, size_t *n)
{
    return query_many(PR(r), Q_SWAP_ALL, 0, NULL, read_swap, sizeof **out, (void **)out, n,
                      "swap records");
}
static int pg_swap_series_put(struct registry *r, const char *id, const char *series)
{
    const char *p[] = { id, series };
    return exec_q(PR(r), Q_SERIES_PUT, 2, p, "swap series write", false);
}
/* The series is a document of any length: read whole into its own string. */
static void read_series(PGresult *res, int row, void *o)
{
    *(char **)o = strdup(PQgetvalue(res, row, 0));
}
static int pg_swap_series_get(struct registry *r, const char *id, char **series)
{
    *series = NULL;
    int rc = get_by(r, Q_SERIES_GET, id, NULL, read_series, series);
    if (rc == 0 && !*series) {
        set_error(REG_ERR_OTHER, "swap series read", "out of memory");
        return -1;
    }
    return rc;
}

/* ---- key pairs ---- */
static void read_keypair(PGresult *res, int row, void *o)
{
    struct reg_keypair *k = o;
    k->id = col_int(res, row, 0);
    COL(res, row, 1, k->user_id);
    COL(res, row, 2, k->name);
    COL(res, row, 3, k->type);
    COL(res, row, 4, k->fingerprint);
    COL(res, row, 5, k->public_key);
    COL(res, row, 6, k->created_at);
}
static void read_id(PGresult *res, int row, void *o)
{
    *(int64_t *)o = col_int(res, row, 0);
}
static int pg_keypair_insert(struct registry *r, struct reg_keypair *k)
{
    const char *p[] = {
        k->user_id, k->name, k->type, k->fingerprint, k->public_key, k->created_at
    };
    int rc = query_one(PR(r), Q_KP_INS, 6, p, read_id, &k->id, "key pair write");
    return rc < 0 ? -1 : 0;
}
static int pg_keypair_get(struct registry *r, const char *user_id, const char *name,
                          struct reg_keypair *out)
{
    return get_by(r, Q_KP_GET, user_id, name, read_keypair, out);
}
static int pg_keypair_list(struct registry *r, const char *user_id, struct reg_keypair **out,
                           size_t *n)
{
    return list_by(r, Q_KP_LIST, Q_KP_LIST_ALL, user_id, read_keypair, sizeof **out, (void **)out,
                   n);
}
static int pg_keypair_delete(struct registry *r, const char *user_id, const char *name)
{
    const char *p[] = { user_id, name };
    return exec_q(PR(r), Q_KP_DEL, 2, p, "key pair delete", true);
}

/* ---- images ---- */
static void read_image(PGresult *res, int row, void *o)
{
    struct reg_image *im = o;
    COL(res, row, 0, im->id);
    COL(res, row, 1, im->owner);
    COL(res, row, 2, im->name);
    COL(res, row, 3, im->status);
    COL(res, row, 4, im->visibility);
    COL(res, row, 5, im->disk_format);
    COL(res, row, 6, im->container_format);
    im->size = col_int(res, row, 7);
    im->virtual_size = col_int(res, row, 8);
    COL(res, row, 9, im->checksum);
    COL(res, row, 10, im->os_hash_algo);
    COL(res, row, 11, im->os_hash_value);
    im->min_disk = col_int(res, row, 12);
    im->min_ram = col_int(res, row, 13);
    im->protected_ = col_int(res, row, 14) != 0;
    im->os_hidden = col_int(res, row, 15) != 0;
    COL(res, row, 16, im->created_at);
    COL(res, row, 17, im->updated_at);
}
static int img_write(struct registry *r, enum q q, const struct reg_image *im)
{
    struct ints t;
    const char *p[] = { im->id,
                        im->owner,
                        im->name,
                        im->status,
                        im->visibility,
                        im->disk_format,
                        im->container_format,
                        itxt(&t, 0, im->size),
                        itxt(&t, 1, im->virtual_size),
                        im->checksum,
                        im->os_hash_algo,
                        im->os_hash_value,
                        itxt(&t, 2, im->min_disk),
                        itxt(&t, 3, im->min_ram),
                        itxt(&t, 4, im->protected_),
                        itxt(&t, 5, im->os_hidden),
                        im->created_at,
                        im->updated_at };
    return exec_q(PR(r), q, 18, p, "image write", q == Q_IMG_UPD);
}
static int pg_image_insert(struct registry *r, const struct reg_image *im)
{
    return img_write(r, Q_IMG_INS, im);
}
static int pg_image_update(struct registry *r, const struct reg_image *im)
{
    return img_write(r, Q_IMG_UPD, im);
}
static int pg_image_get(struct registry *r, const char *id, struct reg_image *out)
{
    return get_by(r, Q_IMG_GET, id, NULL, read_image, out);
}
static int pg_image_delete(struct registry *r, const char *id)
{
    const char *p[] = { id };
    return exec_q(PR(r), Q_IMG_DEL, 1, p, "image delete", true);
}
static int pg_image_list(struct registry *r, struct reg_image **out, size_t *n)
{
    return list_by(r, Q_IMG_LIST, Q_IMG_LIST, NULL, read_image, sizeof **out, (void **)out, n);
}

/* ---- image members ---- */
static void read_member(PGresult *res, int row, void *o)
{
    struct reg_image_member *m = o;
    COL(res, row, 0, m->image_id);
    COL(res, row, 1, m->member);
    COL(res, row, 2, m->status);
    COL(res, row, 3, m->created_at);
    COL(res, row, 4, m->updated_at);
}
static int pg_member_put(struct registry *r, const struct reg_image_member *m)
{
    const char *p[] = { m->image_id, m->member, m->status, m->created_at, m->updated_at };
    return exec_q(PR(r), Q_MEM_PUT, 5, p, "image member write", false);
}
static int pg_member_get(struct registry *r, const char *image_id, const char *member,
                         struct reg_image_member *out)
{
    return get_by(r, Q_MEM_GET, image_id, member, read_member, out);
}
static int pg_member_delete(struct registry *r, const char *image_id, const char *member)
{
    const char *p[] = { image_id, member };
    return exec_q(PR(r), member ? Q_MEM_DEL : Q_MEM_DEL_ALL, member ? 2 : 1, p,
                  "image member delete", member != NULL);
}
static int pg_member_list(struct registry *r, const char *image_id, const char *member,
                          struct reg_image_member **out, size_t *n)
{
    enum q q = image_id ? Q_MEM_LIST : Q_MEM_LIST_BY;
    return list_by(r, q, q, image_id ? image_id : member, read_member, sizeof **out, (void **)out,
                   n);
}

/* ---- metadata definitions ---- */
static void read_metadef(PGresult *res, int row, void *o)
{
    struct reg_metadef *d = o;
    COL(res, row, 0, d->kind);
    COL(res, row, 1, d->ns);
    COL(res, row, 2, d->name);
    COL(res, row, 3, d->body);
    COL(res, row, 4, d->created_at);
    COL(res, row, 5, d->updated_at);
}
static int pg_metadef_put(struct registry *r, const struct reg_metadef *d)
{
    const char *p[] = { d->kind, d->ns, d->name, d->body, d->created_at, d->updated_at };
    return exec_q(PR(r), Q_MDEF_PUT, 6, p, "metadata definition write", false);
}
static int pg_metadef_get(struct registry *r, const char *kind, const char *ns, const char *name,
                          struct reg_metadef *out)
{
    const char *p[] = { kind, ns, name };
    return query_one(PR(r), Q_MDEF_GET, 3, p, read_metadef, out, "get");
}
static int pg_metadef_list(struct registry *r, const char *kind, const char *ns,
                           struct reg_metadef **out, size_t *n)
{
    const char *p[] = { kind, ns };
    return query_many(PR(r), ns ? Q_MDEF_LIST : Q_MDEF_LIST_ALL, ns ? 2 : 1, p, read_metadef,
                      sizeof **out, (void **)out, n, "list");
}
static int pg_metadef_delete(struct registry *r, const char *kind, const char *ns, const char *name)
{
    if (!kind) {
        const char *p[] = { ns };
        return exec_q(PR(r), Q_MDEF_DEL_NS, 1, p, "metadata definition delete", false);
    }
    const char *p[] = { kind, ns, name };
    return exec_q(PR(r), name ? Q_MDEF_DEL : Q_MDEF_DEL_KIND, name ? 3 : 2, p,
                  "metadata definition delete", name != NULL);
}
static int pg_metadef_rename(struct registry *r, const char *from, const char *to)
{
    const char *p[] = { from, to };
    return exec_q(PR(r), Q_MDEF_RENAME, 2, p, "metadata definition rename", false);
}

static const char *pg_last_error(struct registry *r)
{
    return last_error;
}

static enum reg_error_kind pg_last_error_kind(struct registry *r)
{
    return last_kind;
}

static void pg_close(struct registry *r)
{
    if (!r)
        return;
    struct pg_registry *s = PR(r);
    for (int i = 0; i < POOL_SIZE; i++)
        if (s->conns[i].c)
            PQfinish(s->conns[i].c);
    free(s->conninfo);
    pthread_cond_destroy(&s->freed);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Read scopes: each statement reads its own snapshot on PostgreSQL (a
 * scope would hold a pooled connection for a whole request), except that
 * a server and its attachments are read together (scope_load). */
static int pg_read_begin(struct registry *r)
{
    struct pg_registry *s = PR(r);
    if (scope.depth > 0 && scope.owner != s)
        return -1; /* another registry's scope is open on this thread */
    scope.owner = s;
    scope.depth++;
    return 0;
}
static void pg_read_end(struct registry *r)
{
    if (scope.owner != PR(r) || scope.depth <= 0)
        return;
    if (--scope.depth == 0) {
        scope_forget();
        scope.hint[0] = '\0';
        scope.owner = NULL;
    }
}

static const struct registry_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .read_begin = pg_read_begin,
    .read_end = pg_read_end,
    .host_put = pg_host_put,
    .host_list = pg_host_list,
    .server_insert = pg_server_insert,
    .server_get = pg_server_get,
    .server_update = pg_server_update,
    .server_list = pg_server_list,
    .server_view = pg_server_view,
    .read_hint_server = pg_read_hint_server,
    .volume_insert = pg_volume_insert,
    .volume_get = pg_volume_get,
    .volume_update = pg_volume_update,
    .volume_delete = pg_volume_delete,
    .volume_list = pg_volume_list,
    .volume_path_used = pg_volume_path_used,
    .attachment_insert = pg_att_insert,
    .attachment_update = pg_att_update,
    .attachment_get = pg_att_get,
    .attachment_get_by_id = pg_att_get_id,
    .attachment_get_by_volume = pg_att_get_vol,
    .attachment_delete = pg_att_delete,
    .attachment_list = pg_att_list,
    .action_insert = pg_act_insert,
    .action_update = pg_act_update,
    .action_get = pg_act_get,
    .action_list = pg_act_list,
    .event_insert = pg_ev_insert,
    .event_update = pg_ev_update,
    .event_list = pg_ev_list,
    .token_put = pg_tok_put,
    .token_get = pg_tok_get,
    .token_delete = pg_tok_delete,
    .token_purge = pg_tok_purge,
    .meta_list = pg_md_list,
    .meta_put = pg_md_put,
    .meta_delete = pg_md_delete,
    .swap_insert = pg_swap_insert,
    .swap_update = pg_swap_update,
    .swap_lease_renew = pg_swap_lease_renew,
    .swap_lease_take = pg_swap_lease_take,
    .swap_unfinished = pg_swap_unfinished,
    .swap_latest = pg_swap_latest,
    .swap_get = pg_swap_get,
    .swap_all = pg_swap_all,
    .swap_series_put = pg_swap_series_put,
    .swap_series_get = pg_swap_series_get,
    .keypair_insert = pg_keypair_insert,
    .keypair_get = pg_keypair_get,
    .keypair_list = pg_keypair_list,
    .keypair_delete = pg_keypair_delete,
    .image_insert = pg_image_insert,
    .image_get = pg_image_get,
    .image_update = pg_image_update,
    .image_delete = pg_image_delete,
    .image_list = pg_image_list,
    .member_put = pg_member_put,
    .member_get = pg_member_get,
    .member_delete = pg_member_delete,
    .member_list = pg_member_list,
    .metadef_put = pg_metadef_put,
    .metadef_get = pg_metadef_get,
    .metadef_list = pg_metadef_list,
    .metadef_delete = pg_metadef_delete,
    .metadef_rename = pg_metadef_rename,
    .last_error = pg_last_error,
    .last_error_kind = pg_last_error_kind,
};

/* Runs SQL on C (a plain connection, before the statements are prepared). */
static int exec_plain(PGconn *c, const char *sql, char *errbuf, size_t errlen)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        snprintf(errbuf, errlen, "schema migration failed: %s", PQresultErrorMessage(res));
        size_t n = strlen(errbuf);
        if (n && errbuf[n - 1] == '\n')
            errbuf[n - 1] = '\0';
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* Applies every migration newer than schema_version, each in its own
 * transaction with the version bump, under a session advisory lock so that
 * nodes starting at the same moment apply each one once. */
static int migrate(struct pg_registry *s, PGconn *c, char *errbuf, size_t errlen)
{
    if (exec_plain(c, "SELECT pg_advisory_lock(" LOCK_MIGRATE ")", errbuf, errlen) < 0)
        return -1;
    int rc = -1;
    if (exec_plain(c,
                   "SET client_min_messages=warning;"
                   "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
                   errbuf, errlen) < 0)
        goto out;
    PGresult *res = PQexec(c, "SELECT COALESCE(MAX(version),0) FROM schema_version");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(errbuf, errlen, "schema migration failed: %s", PQresultErrorMessage(res));
        PQclear(res);
        goto out;
    }
    int version = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (version > N_MIGRATIONS) {
        snprintf(errbuf, errlen, "database schema version %d is newer than this volswap-api (%d)",
                 version, N_MIGRATIONS);
        goto out;
    }
    for (int v = version + 1; v <= N_MIGRATIONS; v++) {
        char bump[96];
        snprintf(bump, sizeof bump,
                 "DELETE FROM schema_version; INSERT INTO schema_version VALUES(%d); COMMIT", v);
        if (exec_plain(c, "BEGIN", errbuf, errlen) < 0)
            goto out;
        if (exec_plain(c, migrations[v - 1], errbuf, errlen) < 0 ||
            exec_plain(c, bump, errbuf, errlen) < 0) {
            PQclear(PQexec(c, "ROLLBACK"));
            goto out;
        }
    }
    s->schema_version = N_MIGRATIONS;
    rc = 0;
out:
    PQclear(PQexec(c, "SELECT pg_advisory_unlock(" LOCK_MIGRATE ")"));
    return rc;
}

bool registry_is_postgres(const char *database)
{
    return !strncmp(database, "postgresql://", 13) || !strncmp(database, "postgres://", 11) ||
           strchr(database, '=') != NULL;
}

struct registry *registry_postgres_open(const char *conninfo, char *errbuf, size_t errlen)
{
    struct pg_registry *s = calloc(1, sizeof *s);
    if (!s || !(s->conninfo = strdup(conninfo))) {
        free(s);
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &pg_ops;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->freed, NULL);
    struct pg_conn *pc = &s->conns[0];
    pc->c = PQconnectdb(conninfo);
    if (!pc->c || PQstatus(pc->c) != CONNECTION_OK) {
        /* libpq's message names host and user, never the password */
        snprintf(errbuf, errlen, "cannot connect to the database: %s",
                 pc->c ? PQerrorMessage(pc->c) : "out of memory");
        size_t n = strlen(errbuf);
        if (n && errbuf[n - 1] == '\n')
            errbuf[n - 1] = '\0';
        pg_close(&s->base);
        return NULL;
    }
    if (migrate(s, pc->c, errbuf, errlen) < 0) {
        pg_close(&s->base);
        return NULL;
    }
    if (conn_ready(s, pc) < 0) {
        snprintf(errbuf, errlen, "%s", last_error);
        pg_close(&s->base);
        return NULL;
    }
    return &s->base;
}

int registry_postgres_schema_version(struct registry *r)
{
    return PR(r)->schema_version;
}
