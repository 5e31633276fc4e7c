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
#include "fields.h"
#include "schema.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_SIZE 4
/* advisory lock keys: 'vsw' + 1 (migrations), 'vsw' + 2 (writers) */
#define LOCK_MIGRATE "7566711"
#define LOCK_WRITE   "7566712"

/* The dialect's words in the migrations (schema.h). The volume delete
 * statement deletes a volume's metadata and image metadata, where SQLite
 * uses triggers; seq orders actions, events and swaps across nodes. */
#define SQL_I64                    "BIGINT"
#define SQL_ROW_SEQ                " seq BIGSERIAL,"
#define SQL_SWAP_SEQ               "seq BIGSERIAL UNIQUE"
#define SQL_SERIAL_KEY             "BIGSERIAL PRIMARY KEY"
#define SQL_INDEX_PATH             "CREATE INDEX volumes_path ON volumes(path);"
#define SQL_VOLUME_META_GONE       ""
#define SQL_VOLUME_IMAGE_META_GONE ""
#define SQL_LEASE_COLUMNS                                          \
    "ALTER TABLE swaps ADD COLUMN owner TEXT NOT NULL DEFAULT ''," \
    "  ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0,"                \
    "  ADD COLUMN lease_expires BIGINT NOT NULL DEFAULT 0;"
#define SQL_RESOURCE_TYPES                                                               \
    "INSERT INTO metadefs(kind, namespace, name, body, created_at, updated_at)"          \
    "  SELECT 'resource_type', '', t,"                                                   \
    "  '{}', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"       \
    "  to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"              \
    "  FROM unnest(ARRAY['OS::Glance::Image', 'OS::Cinder::Volume', 'OS::Nova::Flavor'," \
    "  'OS::Nova::Aggregate', 'OS::Nova::Server', 'OS::Trove::Instance'])"               \
    "  WITH ORDINALITY AS rt(t, i) ORDER BY i ON CONFLICT DO NOTHING;"

static const char *const migrations[] = { REG_MIGRATIONS };
#define N_MIGRATIONS (int)(sizeof migrations / sizeof migrations[0])

/* what orders actions and events inserted in the same second */
#define ROW_ORDER "seq"
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

enum {
    Q_TOK_SRV_VIEW = Q__SHARED, /* this backend's own: a token, and a server's view beside it */
    Q__COUNT
};

static const char *const sql_src[Q__COUNT] = {
    REG_COMMON_SQL,
    [Q_SRV_VIEW] = SRV_VIEW_SQL,
    /* the token's row (NULLs when there is none), then Q_SRV_VIEW's */
    [Q_TOK_SRV_VIEW] = "SELECT t.id_hash, t.auth, t.expires, v.* FROM (SELECT 1) one "
                       "LEFT JOIN tokens t ON t.id_hash=$2 "
                       "LEFT JOIN LATERAL (" SRV_VIEW_SQL ") v ON true",
    [Q_VOL_DEL] = "WITH md AS (DELETE FROM metadata WHERE kind IN ('volume','volume-image') "
                  "AND owner=$1) "
                  "DELETE FROM volumes WHERE id=$1",
    [Q_VOL_PATH] = "SELECT 1 FROM volumes WHERE path=$1 LIMIT 1",
    [Q_TOK_PUT] = "INSERT INTO tokens(" TOK_COLS ") VALUES($1,$2,$3) "
                  "ON CONFLICT(id_hash) DO UPDATE SET auth=excluded.auth,expires=excluded.expires",
    [Q_MD_PUT] = "INSERT INTO metadata(kind,owner,key,value) VALUES($1,$2,$3,$4) "
                 "ON CONFLICT(kind,owner,key) DO UPDATE SET value=excluded.value",
    [Q_SWAP_INS] = "INSERT INTO swaps(" SWAP_COLS ",lease_expires) VALUES($1,$2,$3,$4,$5,$6,$7,$8,"
                   "$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25," NOW_MS
                   "+$26)",
    [Q_SERIES_PUT] = "INSERT INTO swap_series(id,series) VALUES($1,$2) "
                     "ON CONFLICT(id) DO UPDATE SET series=excluded.series",
    [Q_KP_INS] = "INSERT INTO keypairs(" KP_NEW_COLS ") "
                 "VALUES($1,$2,$3,$4,$5,$6) RETURNING id",
    [Q_MEM_PUT] = "INSERT INTO image_members(" MEM_COLS ") VALUES($1,$2,$3,$4,$5) "
                  "ON CONFLICT(image_id, member) DO UPDATE SET status=excluded.status,"
                  "created_at=excluded.created_at, updated_at=excluded.updated_at",
};

/* Statement Q's text: sql_src's, or the one its record makes (fields.c;
 * NULL when that could not be made). */
static const char *sql_text(int q)
{
    return reg_made_sql(q, sql_src[q]);
}
const char *reg_postgres_sql(int q)
{
    return sql_text(q);
}

struct pg_conn {
    PGconn *c;
    bool ready; /* connected and every statement prepared */
    bool busy;  /* lent out (under the pool lock) */
};

struct pg_registry {
    struct reg_impl impl;
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

static struct pg_registry *PR(struct registry *r)
{
    return (struct pg_registry *)r;
}

static bool in_txn(struct pg_registry *s)
{
    return txn.owner == s && txn.depth > 0;
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
        reg_set_error(REG_ERR_BUSY, what, "database unavailable");
    } else {
        const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        reg_set_error(sqlstate_kind(res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL), what,
                      msg ? msg : PQerrorMessage(pc->c));
    }
    if (in_txn(s) && !txn.aborted_depth) {
        txn.aborted_depth = txn.depth;
        memcpy(txn.aborted_error, reg_last_error, sizeof txn.aborted_error);
        txn.aborted_kind = reg_last_kind;
    }
    return -1;
}

static int check_aborted(struct pg_registry *s)
{
    if (!in_txn(s) || !txn.aborted_depth)
        return 0;
    snprintf(reg_last_error, sizeof reg_last_error, "%s", txn.aborted_error);
    reg_last_kind = txn.aborted_kind;
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
            reg_set_error(REG_ERR_BUSY, "database unavailable",
                          pc->c ? PQerrorMessage(pc->c) : "out of memory");
            return -1;
        }
    }
    for (int i = 0; i < Q__COUNT; i++) {
        char name[16];
        snprintf(name, sizeof name, "q%d", i);
        PGresult *res = PQprepare(pc->c, name, sql_text(i), 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            reg_set_error(REG_ERR_OTHER, "prepare", PQresultErrorMessage(res));
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
static PGresult *run(struct pg_registry *s, int q, int n, const char *const *params,
                     const char *what)
{
    if (check_aborted(s) < 0)
        return NULL;
    if (scope.valid && strncmp(sql_text(q), "SELECT", 6) != 0)
        scope_forget(); /* this thread writes: its later reads see it */
    /* PostgreSQL refuses text that is not UTF-8, where SQLite compares the
     * bytes: a key from a URL that is not UTF-8 names no record (every
     * stored one is), and such a value is never written */
    for (int i = 0; i < n; i++)
        if (params[i] && !vs_utf8_valid(params[i])) {
            if (!strncmp(sql_text(q), "SELECT", 6))
                return PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
            reg_set_error(REG_ERR_OTHER, what, "a value is not valid UTF-8");
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
static int exec_q(struct pg_registry *s, int q, int n, const char *const *p, const char *what,
                  bool none_is_1)
{
    PGresult *res = run(s, q, n, p, what);
    if (!res)
        return -1;
    bool none = !strcmp(PQcmdTuples(res), "0");
    PQclear(res);
    return none_is_1 && none ? 1 : 0;
}

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
static int64_t col_int(PGresult *res, int row, int i)
{
    return strtoll(PQgetvalue(res, row, i), NULL, 10);
}

/* Reads ROW's columns from FIRST on into OBJ, as REC describes them. */
static void read_row(PGresult *res, int row, int first, const struct reg_record *rec, void *obj)
{
    for (int i = 0; i < rec->ncols; i++) {
        void *f = reg_field(rec, i, obj);
        int c = first + i;
        switch (rec->col[i].type) {
        case REG_TEXT: col(res, row, c, f, rec->col[i].size); break;
        case REG_BOOL: *(bool *)f = col_int(res, row, c) != 0; break;
        case REG_INT: *(int *)f = (int)col_int(res, row, c); break;
        case REG_INT64: *(int64_t *)f = col_int(res, row, c); break;
        case REG_DUP: *(char **)f = strdup(PQgetvalue(res, row, c)); break;
        }
    }
}

/* The first row of Q (0, or 1 when there is none), read as REC says. */
static int query_one(struct pg_registry *s, int q, int n, const char *const *p,
                     const struct reg_record *rec, void *out, const char *what)
{
    PGresult *res = run(s, q, n, p, what);
    if (!res)
        return -1;
    int rc = 1;
    if (PQntuples(res) > 0) {
        read_row(res, 0, 0, rec, out);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

static int query_many(struct pg_registry *s, int q, int n, const char *const *p,
                      const struct reg_record *rec, size_t elem, void **out, size_t *count,
                      const char *what)
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
        reg_set_error(REG_ERR_OTHER, what, "out of memory");
        return -1;
    }
    for (int i = 0; i < rows; i++)
        read_row(res, i, 0, rec, arr + (size_t)i * elem);
    PQclear(res);
    *out = arr;
    *count = (size_t)rows;
    return 0;
}

/* Parameters travel as text: numbers and flags are written out in
 * decimal, strings (NULL too) passed as they are. */
struct pg_params {
    const char *v[REG_MAX_PARAMS];
    char num[REG_MAX_PARAMS][24];
};
static const char *const *pg_text(struct pg_params *t, const struct reg_param *p, int n)
{
    for (int i = 0; i < n; i++) {
        const void *v = p[i].v;
        long long x = 0;
        switch (p[i].type) {
        case REG_TEXT: t->v[i] = v; continue;
        case REG_DUP: t->v[i] = *(char *const *)v; continue;
        case REG_BOOL: x = *(const bool *)v; break;
        case REG_INT: x = *(const int *)v; break;
        case REG_INT64: x = *(const int64_t *)v; break;
        }
        snprintf(t->num[i], sizeof t->num[i], "%lld", x);
        t->v[i] = t->num[i];
    }
    return t->v;
}

/* ---- the primitives of the shared operations (fields.h) ---- */

static int prim_exec(struct registry *r, int q, const struct reg_param *p, int n, const char *what,
                     bool none_is_1)
{
    struct pg_params t;
    return exec_q(PR(r), q, n, pg_text(&t, p, n), what, none_is_1);
}
static int prim_get(struct registry *r, int q, const struct reg_param *p, int n, void *out,
                    const char *what)
{
    struct pg_params t;
    return query_one(PR(r), q, n, pg_text(&t, p, n), reg_stmts[q].row, out, what);
}
static int prim_list(struct registry *r, int q, const struct reg_param *p, int n, size_t elem,
                     void **out, size_t *count, const char *what)
{
    struct pg_params t;
    return query_many(PR(r), q, n, pg_text(&t, p, n), reg_stmts[q].row, elem, out, count, what);
}

static const struct reg_backend pg_prim = {
    .exec = prim_exec,
    .get = prim_get,
    .list = prim_list,
};

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
        reg_set_error(REG_ERR_OTHER, "begin", "a transaction of another registry is open");
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

/* ---- this backend's own operations: reads of a read scope's view ---- */

/* Is the thread's read scope's view usable here (a scope of S, no
 * transaction open)? */
static bool scope_usable(struct pg_registry *s)
{
    return scope.owner == s && scope.depth > 0 && !in_txn(s);
}

/* Takes a server and its attachments from RES, a Q_SRV_VIEW result whose
 * columns start at OFF, into the scope's view: 0, 1 when there is no such
 * server, -1. */
static int scope_fill(PGresult *res, int off)
{
    scope_forget();
    int rows = PQntuples(res);
    if (rows == 0 || PQgetisnull(res, 0, off))
        return 1;
    read_row(res, 0, off, &reg_server_rec, &scope.srv);
    /* a server without attachments is one row whose attachment is NULL */
    size_t n = PQgetisnull(res, 0, off + 11) ? 0 : (size_t)rows;
    if (n && !(scope.atts = calloc(n, sizeof *scope.atts))) {
        reg_set_error(REG_ERR_OTHER, "get", "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        read_row(res, (int)i, off + 11, &reg_attachment_rec, &scope.atts[i]);
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
    return reg_op_server_get(r, id, out);
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
        reg_set_error(REG_ERR_OTHER, "get", "out of memory");
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
    return reg_op_attachment_get(r, server_id, volume_id, out);
}

static int pg_att_list(struct registry *r, const char *server_id, struct reg_attachment **out,
                       size_t *n)
{
    if (server_id && scope_has(PR(r), server_id)) {
        /* no array when there is nothing, as a list read */
        *out = scope.n ? malloc(scope.n * sizeof **out) : NULL;
        *n = *out ? scope.n : 0;
        if (scope.n && !*out) {
            reg_set_error(REG_ERR_OTHER, "list", "out of memory");
            return -1;
        }
        if (scope.n)
            memcpy(*out, scope.atts, scope.n * sizeof **out);
        return 0;
    }
    return reg_op_attachment_list(r, server_id, out, n);
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
            read_row(res, 0, 0, reg_stmts[Q_TOK_GET].row, out);
            rc = 0;
        }
        /* the view is only a head start: without it the handler reads it */
        if (PQntuples(res) > 0 && scope_fill(res, 3) < 0)
            scope_forget();
        PQclear(res);
        return rc;
    }
    return reg_op_get_by(r, Q_TOK_GET, id_hash, NULL, out);
}

/* ---- and the writes whose answer is its own ---- */

static int pg_keypair_insert(struct registry *r, struct reg_keypair *k)
{
    struct reg_param p[REG_MAX_PARAMS];
    struct pg_params t;
    int n = reg_params_of(p, reg_stmts[Q_KP_INS].bind, k);
    int rc = query_one(PR(r), Q_KP_INS, n, pg_text(&t, p, n), reg_stmts[Q_KP_INS].row, k,
                       "key pair write");
    return rc < 0 ? -1 : 0;
}
static int pg_image_delete(struct registry *r, const char *id)
{
    const char *p[] = { id };
    return exec_q(PR(r), Q_IMG_DEL, 1, p, "image delete", true);
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

/* the reads a read scope's view answers, and the writes whose answer is
 * PostgreSQL's own, beside the shared operations */
/* clang-format off */
static const struct registry_ops pg_ops = {
    .name = "postgresql",
    REG_BACKEND_OPS(pg) REG_SHARED_OPS(REG_OP)
    .server_get = pg_server_get,
    .attachment_get = pg_att_get,
    .attachment_list = pg_att_list,
    .token_get = pg_tok_get,
    .image_delete = pg_image_delete,
};
/* clang-format on */

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
    bool made = true;
    for (int i = 0; i < Q__COUNT; i++)
        made = made && sql_text(i);
    struct pg_registry *s = made ? calloc(1, sizeof *s) : NULL;
    if (!s || !(s->conninfo = strdup(conninfo))) {
        free(s);
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    s->impl.base.ops = &pg_ops;
    s->impl.prim = &pg_prim;
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
        pg_close(&s->impl.base);
        return NULL;
    }
    if (migrate(s, pc->c, errbuf, errlen) < 0) {
        pg_close(&s->impl.base);
        return NULL;
    }
    if (conn_ready(s, pc) < 0) {
        snprintf(errbuf, errlen, "%s", reg_last_error);
        pg_close(&s->impl.base);
        return NULL;
    }
    return &s->impl.base;
}

int registry_postgres_schema_version(struct registry *r)
{
    return PR(r)->schema_version;
}
