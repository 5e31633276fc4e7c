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
#include "fields.h"
#include "schema.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The dialect's words in the migrations (schema.h). A volume's metadata
 * and image metadata leave with its row by trigger. */
#define SQL_I64        "INTEGER"
#define SQL_ROW_SEQ    ""
#define SQL_SWAP_SEQ   "seq INTEGER NOT NULL UNIQUE"
#define SQL_SERIAL_KEY "INTEGER PRIMARY KEY AUTOINCREMENT"
#define SQL_INDEX_PATH ""
#define SQL_VOLUME_META_GONE                                            \
    "CREATE TRIGGER volume_metadata_gone AFTER DELETE ON volumes BEGIN" \
    "  DELETE FROM metadata WHERE kind='volume' AND owner=old.id; END;"
#define SQL_VOLUME_IMAGE_META_GONE                                            \
    "CREATE TRIGGER volume_image_metadata_gone AFTER DELETE ON volumes BEGIN" \
    "  DELETE FROM metadata WHERE kind='volume-image' AND owner=old.id; END;"
#define SQL_LEASE_COLUMNS                                            \
    "ALTER TABLE swaps ADD COLUMN owner TEXT NOT NULL DEFAULT '';"   \
    "ALTER TABLE swaps ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;" \
    "ALTER TABLE swaps ADD COLUMN lease_expires INTEGER NOT NULL DEFAULT 0;"
#define SQL_RESOURCE_TYPES                                                                \
    "INSERT OR IGNORE INTO metadefs(kind, namespace, name, body, created_at, updated_at)" \
    "  SELECT 'resource_type', '', t, '{}', strftime('%Y-%m-%dT%H:%M:%SZ','now'),"        \
    "  strftime('%Y-%m-%dT%H:%M:%SZ','now') FROM (SELECT 'OS::Glance::Image' AS t"        \
    "  UNION ALL SELECT 'OS::Cinder::Volume' UNION ALL SELECT 'OS::Nova::Flavor'"         \
    "  UNION ALL SELECT 'OS::Nova::Aggregate' UNION ALL SELECT 'OS::Nova::Server'"        \
    "  UNION ALL SELECT 'OS::Trove::Instance');"

static const char *const migrations[] = { REG_MIGRATIONS };
#define N_MIGRATIONS (int)(sizeof migrations / sizeof migrations[0])
/* Before migration 4 the swap workflow kept its records on a connection
 * of its own, in a `swaps` table made outside the migrations:
 * adopt_unnumbered_swaps moves such a table's rows (an upgraded install's
 * in-flight swaps among them) into the registry's. */
#define SWAPS_MIGRATION 4

/* what orders actions and events inserted in the same second */
#define ROW_ORDER "rowid"
/* now on the database's clock, in ms since the epoch */
#define NOW_MS "CAST((julianday('now')-2440587.5)*86400000.0 AS INTEGER)"

/* clang-format off */
enum {
    Q_SRV_VIEW_VOL = Q__SHARED, /* this backend's own: Q_SRV_VIEW of one volume */
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_SAVEPOINT,
    Q_RELEASE,
    Q_ROLLBACK_TO,
    Q__COUNT
};
/* clang-format on */

static const char *const sql_src[Q__COUNT] = {
    REG_COMMON_SQL,
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
    [Q_VOL_DEL] = "DELETE FROM volumes WHERE id=?",
    [Q_VOL_PATH] = "SELECT 1 FROM volumes WHERE path=?",
    [Q_SWAP_INS] = "INSERT INTO swaps(" SWAP_COLS ",lease_expires,seq) VALUES(?,?,?,?,?,?,?,?,"
                   "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?," NOW_MS "+?26,"
                   "(SELECT COALESCE(MAX(seq),0)+1 FROM swaps))",
    [Q_SERIES_PUT] = "INSERT OR REPLACE INTO swap_series(id,series) VALUES(?,?)",
    [Q_KP_INS] = "INSERT INTO keypairs(" KP_NEW_COLS ") "
                 "VALUES(?,?,?,?,?,?)",
    [Q_MEM_PUT] = "INSERT OR REPLACE INTO image_members(" MEM_COLS ") VALUES(?,?,?,?,?)",
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SAVEPOINT] = "SAVEPOINT nested",
    [Q_RELEASE] = "RELEASE nested",
    [Q_ROLLBACK_TO] = "ROLLBACK TO nested",
    [Q_TOK_PUT] = "INSERT OR REPLACE INTO tokens(" TOK_COLS ") VALUES(?,?,?)",
    [Q_MD_PUT] = "INSERT OR REPLACE INTO metadata(kind,owner,key,value) VALUES(?,?,?,?)",
};

/* sql_src (and the statements the records make) as SQLite spells them:
 * the shared ones number their parameters as PostgreSQL does ($1), which
 * is ?1 here. Made once, at the first open, and kept for the life of the
 * process. */
static char *sql_text[Q__COUNT];
static bool sql_spelled;

static void sql_spell_once(void)
{
    for (int i = 0; i < Q__COUNT; i++) {
        const char *src = reg_made_sql(i, sql_src[i]);
        if (!src || !(sql_text[i] = strdup(src)))
            return;
        for (char *c = sql_text[i]; *c; c++)
            if (c[0] == '$' && c[1] >= '0' && c[1] <= '9')
                c[0] = '?';
    }
    sql_spelled = true;
}
static pthread_once_t spelled = PTHREAD_ONCE_INIT;

const char *reg_sqlite_sql(int q)
{
    pthread_once(&spelled, sql_spell_once);
    return sql_text[q];
}

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
    struct reg_impl impl;
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
    snprintf(reg_last_error, sizeof reg_last_error, "%s: %s", what, sqlite3_errmsg(db));
    reg_last_kind = error_kind(sqlite3_extended_errcode(db));
    if (!tl_conn && s->depth > 0 && !s->abandoned && sqlite3_get_autocommit(s->w.db)) {
        s->abandoned = true;
        memcpy(s->abandoned_error, reg_last_error, sizeof s->abandoned_error);
        s->abandoned_kind = reg_last_kind;
    }
    return -1;
}

/* Refuses to run anything in an abandoned transaction. */
static int check_abandoned(struct sqlite_registry *s)
{
    if (tl_conn || !s->abandoned)
        return 0;
    snprintf(reg_last_error, sizeof reg_last_error, "%s", s->abandoned_error);
    reg_last_kind = s->abandoned_kind;
    return -1;
}

/* Fetches the prepared statement for Q, reset and ready to bind. Caller holds
 * the lock. */
static sqlite3_stmt *stmt_get(struct sqlite_registry *s, int q)
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

/* Binds the parameters P as their types say, from the first on. */
static void bind_params(sqlite3_stmt *st, const struct reg_param *p, int n)
{
    for (int i = 0; i < n; i++) {
        const void *v = p[i].v;
        switch (p[i].type) {
        case REG_TEXT: bind_text(st, i + 1, v); break;
        case REG_BOOL: sqlite3_bind_int(st, i + 1, *(const bool *)v); break;
        case REG_INT: sqlite3_bind_int(st, i + 1, *(const int *)v); break;
        case REG_INT64: sqlite3_bind_int64(st, i + 1, *(const int64_t *)v); break;
        case REG_DUP: bind_text(st, i + 1, *(char *const *)v); break;
        }
    }
}

/* Reads the row's columns from FIRST on into OBJ, as REC describes them
 * (a document of any length is read whole into a string of its own). */
static void read_row(sqlite3_stmt *st, int first, const struct reg_record *rec, void *obj)
{
    for (int i = 0; i < rec->ncols; i++) {
        void *f = reg_field(rec, i, obj);
        int c = first + i;
        const unsigned char *t;
        switch (rec->col[i].type) {
        case REG_TEXT: col_text(st, c, f, rec->col[i].size); break;
        case REG_BOOL: *(bool *)f = sqlite3_column_int(st, c) != 0; break;
        case REG_INT: *(int *)f = sqlite3_column_int(st, c); break;
        case REG_INT64: *(int64_t *)f = sqlite3_column_int64(st, c); break;
        case REG_DUP:
            t = sqlite3_column_text(st, c);
            *(char **)f = strdup(t ? (const char *)t : "");
            break;
        }
    }
}

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

/* "SELECT one row / SELECT many rows", each row read as REC says. */
static int query_one(struct sqlite_registry *s, sqlite3_stmt *st, const struct reg_record *rec,
                     void *out, const char *what)
{
    if (check_abandoned(s) < 0)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_row(st, 0, rec, out);
        stmt_done(st);
        return 0;
    }
    stmt_done(st);
    return rc == SQLITE_DONE ? 1 : db_fail(s, what);
}

static int query_many(struct sqlite_registry *s, sqlite3_stmt *st, const struct reg_record *rec,
                      size_t elem, void **out, size_t *n, const char *what)
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
                snprintf(reg_last_error, sizeof reg_last_error, "%s: out of memory", what);
                reg_last_kind = REG_ERR_OTHER;
                return -1;
            }
            arr = na;
        }
        memset(arr + *n * elem, 0, elem);
        read_row(st, 0, rec, arr + *n * elem);
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
static void exec_quiet(struct sqlite_registry *s, int q)
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

/* ---- the primitives of the shared operations (fields.h) ---- */

static bool is_read(int q)
{
    return strncmp(sql_text[q], "SELECT", 6) == 0;
}

static int exec_l(struct sqlite_registry *s, int q, const struct reg_param *p, int n,
                  const char *what, bool none_is_1)
{
    sqlite3_stmt *st = stmt_get(s, q);
    bind_params(st, p, n);
    if (exec_stmt(s, st, what) < 0)
        return -1;
    return none_is_1 && sqlite3_changes(s->w.db) == 0 ? 1 : 0;
}
static int prim_exec(struct registry *r, int q, const struct reg_param *p, int n, const char *what,
                     bool none_is_1)
{
    return LOCKED(SR(r), exec_l(SR(r), q, p, n, what, none_is_1));
}

/* A statement that returns rows reads on the thread's reader unless it
 * writes too (UPDATE ... RETURNING). */
static int get_l(struct sqlite_registry *s, int q, const struct reg_param *p, int n, void *out,
                 const char *what)
{
    sqlite3_stmt *st = stmt_get(s, q);
    bind_params(st, p, n);
    return query_one(s, st, reg_stmts[q].row, out, what);
}
static int prim_get(struct registry *r, int q, const struct reg_param *p, int n, void *out,
                    const char *what)
{
    struct sqlite_registry *s = SR(r);
    return is_read(q) ? READ(s, get_l(s, q, p, n, out, what))
                      : LOCKED(s, get_l(s, q, p, n, out, what));
}
static int list_l(struct sqlite_registry *s, int q, const struct reg_param *p, int n, size_t elem,
                  void **out, size_t *count, const char *what)
{
    sqlite3_stmt *st = stmt_get(s, q);
    bind_params(st, p, n);
    return query_many(s, st, reg_stmts[q].row, elem, out, count, what);
}
static int prim_list(struct registry *r, int q, const struct reg_param *p, int n, size_t elem,
                     void **out, size_t *count, const char *what)
{
    struct sqlite_registry *s = SR(r);
    return is_read(q) ? READ(s, list_l(s, q, p, n, elem, out, count, what))
                      : LOCKED(s, list_l(s, q, p, n, elem, out, count, what));
}
static const struct reg_backend sqlite_prim = {
    .exec = prim_exec,
    .get = prim_get,
    .list = prim_list,
};

/* ---- this backend's own operations ---- */

/* Q_SRV_VIEW's rows: the server, then (from column 11) the view of one of
 * its attachments, NULL when it has none. */
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
            read_row(st, 0, &reg_server_rec, out);
        found = true;
        if (sqlite3_column_type(st, 11) == SQLITE_NULL) /* no attachment */
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 4;
            struct reg_attachment_view *na = realloc(arr, cap * sizeof *arr);
            if (!na) {
                free(arr);
                stmt_done(st);
                reg_set_error(REG_ERR_OTHER, "get", "out of memory");
                return -1;
            }
            arr = na;
        }
        read_row(st, 11, &reg_att_view_rec, &arr[count]);
        memcpy(arr[count++].server_id, out->id, sizeof arr->server_id);
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

/* The id of a new key pair is SQLite's rowid. */
static int kp_insert_l(struct sqlite_registry *s, struct reg_keypair *k)
{
    struct reg_param p[REG_MAX_PARAMS];
    int n = reg_params_of(p, reg_stmts[Q_KP_INS].bind, k);
    if (exec_l(s, Q_KP_INS, p, n, "key pair write", false) < 0)
        return -1;
    k->id = sqlite3_last_insert_rowid(s->w.db);
    return 0;
}
static int sq_keypair_insert(struct registry *r, struct reg_keypair *k)
{
    return LOCKED(SR(r), kp_insert_l(SR(r), k));
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

/* clang-format off */
static const struct registry_ops sqlite_ops = {
    .name = "sqlite",
    REG_BACKEND_OPS(sq) REG_SHARED_OPS(REG_OP) REG_DEFAULT_OPS(REG_OP)
};
/* clang-format on */

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
    pthread_once(&spelled, sql_spell_once);
    struct sqlite_registry *s = sql_spelled ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    s->impl.base.ops = &sqlite_ops;
    s->impl.prim = &sqlite_prim;
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
        sq_close(&s->impl.base);
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
        sq_close(&s->impl.base);
        return NULL;
    }
    if (migrate(s, errbuf, errlen) < 0) {
        sq_close(&s->impl.base);
        return NULL;
    }
    for (int i = 0; i < Q__COUNT; i++) {
        if (sqlite3_prepare_v3(s->w.db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &s->w.stmt[i],
                               NULL) != SQLITE_OK) {
            snprintf(errbuf, errlen, "cannot prepare statement %d: %s", i, sqlite3_errmsg(s->w.db));
            sq_close(&s->impl.base);
            return NULL;
        }
    }
    /* an in-memory database is one connection's: no readers beside it */
    s->reader_key_made = strcmp(path, ":memory:") != 0 && path[0] &&
                         strncmp(path, "file:", 5) != 0 && strlen(path) < sizeof s->path &&
                         pthread_key_create(&s->reader_key, reader_gone) == 0;
    return &s->impl.base;
}

int registry_sqlite_schema_version(struct registry *r)
{
    return SR(r)->schema_version;
}
