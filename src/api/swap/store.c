/* Persisted swap records. Every step of a swap is written here before the
 * step's effect can be observed, so that a volswap-api killed at any point
 * finds, on restart, each unfinished swap with the last phase it may have
 * reached; recovery then asks the host which side of the pivot it is on.
 * The table lives in the registry's SQLite file (WAL lets this second
 * connection write beside the registry's) and is created here with
 * IF NOT EXISTS: it is the swap workflow's own, outside the registry's
 * numbered migrations, which stay the API engineer's. Prepared statements
 * only; one mutex serialises the connection. */
#include "swap.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct swap_store {
    sqlite3 *db;
    pthread_mutex_t lock;
};

static const char *const phase_names[SP__COUNT] = {
    [SP_ACCEPTED] = "accepted",       [SP_TARGET_OPEN] = "target-open",
    [SP_MIRRORING] = "mirroring",     [SP_READY] = "ready",
    [SP_COMPLETING] = "completing",   [SP_PIVOTED] = "pivoted",
    [SP_RECORDED] = "recorded",       [SP_DONE] = "done",
    [SP_ROLLED_BACK] = "rolled-back",
};

const char *swap_phase_name(enum swap_phase p)
{
    return p < SP__COUNT ? phase_names[p] : "?";
}

int swap_phase_parse(const char *name, enum swap_phase *out)
{
    for (int i = 0; i < SP__COUNT; i++)
        if (strcmp(phase_names[i], name) == 0) {
            *out = (enum swap_phase)i;
            return 0;
        }
    return -1;
}

#define COLS                                                                        \
    "id,kind,server_id,project_id,user_id,host,old_volume_id,new_volume_id,"        \
    "attachment_id,old_node,new_node,old_path,old_size_gb,new_size_gb,phase,error," \
    "started_at,updated_at,bytes_total,bytes_done,mirror_ms,pivot_ms,total_ms"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS swaps (id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
    " server_id TEXT NOT NULL, project_id TEXT NOT NULL, user_id TEXT NOT NULL,"
    " host TEXT NOT NULL, old_volume_id TEXT NOT NULL, new_volume_id TEXT NOT NULL,"
    " attachment_id TEXT NOT NULL, old_node TEXT NOT NULL, new_node TEXT NOT NULL,"
    " old_path TEXT NOT NULL,"
    " old_size_gb INTEGER NOT NULL, new_size_gb INTEGER NOT NULL, phase TEXT NOT NULL,"
    " error TEXT NOT NULL, started_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    " bytes_total INTEGER NOT NULL, bytes_done INTEGER NOT NULL,"
    " mirror_ms INTEGER NOT NULL, pivot_ms INTEGER NOT NULL, total_ms INTEGER NOT NULL,"
    " seq INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS swaps_server ON swaps(server_id);"
    "CREATE TABLE IF NOT EXISTS swap_series (id TEXT PRIMARY KEY, series TEXT NOT NULL);";

static int db_err(struct swap_store *s, struct api_error *e, const char *what)
{
    return api_err(e, 500, "swap store: %s: %s", what, sqlite3_errmsg(s->db));
}

struct swap_store *swap_store_open(const char *db_path, struct api_error *e)
{
    struct swap_store *s = calloc(1, sizeof *s);
    if (!s) {
        api_err(e, 500, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    if (sqlite3_open_v2(db_path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        api_err(e, 500, "swap store: cannot open %s: %s", db_path,
                s->db ? sqlite3_errmsg(s->db) : "out of memory");
        swap_store_close(s);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, 10000);
    char *msg = NULL;
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                     &msg) != SQLITE_OK ||
        sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        api_err(e, 500, "swap store: %s", msg ? msg : "cannot create the swaps table");
        sqlite3_free(msg);
        swap_store_close(s);
        return NULL;
    }
    return s;
}

void swap_store_close(struct swap_store *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void bind_rec(sqlite3_stmt *st, const struct swap_rec *r)
{
    int i = 1;
    sqlite3_bind_text(st, i++, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->kind == SWAP_MIGRATE ? "migrate" : "swap", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->server_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->project_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->host, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->old_volume_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->new_volume_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->attachment_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->old_node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->new_node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->old_path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, i++, r->old_size_gb);
    sqlite3_bind_int64(st, i++, r->new_size_gb);
    sqlite3_bind_text(st, i++, swap_phase_name(r->phase), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->error, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->started_at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->updated_at, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, i++, r->bytes_total);
    sqlite3_bind_int64(st, i++, r->bytes_done);
    sqlite3_bind_int64(st, i++, r->mirror_ms);
    sqlite3_bind_int64(st, i++, r->pivot_ms);
    sqlite3_bind_int64(st, i++, r->total_ms);
}

static void col_text(sqlite3_stmt *st, int i, char *out, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, len, "%s", t ? (const char *)t : "");
}

static void read_rec(sqlite3_stmt *st, struct swap_rec *r)
{
    memset(r, 0, sizeof *r);
    char kind[16], phase[24];
    int i = 0;
    col_text(st, i++, r->id, sizeof r->id);
    col_text(st, i++, kind, sizeof kind);
    r->kind = strcmp(kind, "migrate") == 0 ? SWAP_MIGRATE : SWAP_NOVA;
    col_text(st, i++, r->server_id, sizeof r->server_id);
    col_text(st, i++, r->project_id, sizeof r->project_id);
    col_text(st, i++, r->user_id, sizeof r->user_id);
    col_text(st, i++, r->host, sizeof r->host);
    col_text(st, i++, r->old_volume_id, sizeof r->old_volume_id);
    col_text(st, i++, r->new_volume_id, sizeof r->new_volume_id);
    col_text(st, i++, r->attachment_id, sizeof r->attachment_id);
    col_text(st, i++, r->old_node, sizeof r->old_node);
    col_text(st, i++, r->new_node, sizeof r->new_node);
    col_text(st, i++, r->old_path, sizeof r->old_path);
    r->old_size_gb = sqlite3_column_int64(st, i++);
    r->new_size_gb = sqlite3_column_int64(st, i++);
    col_text(st, i++, phase, sizeof phase);
    /* an unknown phase (a newer writer) is treated as the most cautious one */
    if (swap_phase_parse(phase, &r->phase) < 0)
        r->phase = SP_COMPLETING;
    col_text(st, i++, r->error, sizeof r->error);
    col_text(st, i++, r->started_at, sizeof r->started_at);
    col_text(st, i++, r->updated_at, sizeof r->updated_at);
    r->bytes_total = sqlite3_column_int64(st, i++);
    r->bytes_done = sqlite3_column_int64(st, i++);
    r->mirror_ms = sqlite3_column_int64(st, i++);
    r->pivot_ms = sqlite3_column_int64(st, i++);
    r->total_ms = sqlite3_column_int64(st, i++);
}

static int exec_rec(struct swap_store *s, const char *sql, const struct swap_rec *r,
                    struct api_error *e)
{
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_err(s, e, "prepare");
        goto out;
    }
    bind_rec(st, r);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_err(s, e, "write");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int swap_store_insert(struct swap_store *s, const struct swap_rec *r, struct api_error *e)
{
    return exec_rec(s,
                    "INSERT INTO swaps(" COLS ",seq) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
                    "?,?,?,?,?,?,?,?,(SELECT COALESCE(MAX(seq),0)+1 FROM swaps))",
                    r, e);
}

int swap_store_update(struct swap_store *s, const struct swap_rec *r, struct api_error *e)
{
    return exec_rec(s,
                    "UPDATE swaps SET kind=?2,server_id=?3,project_id=?4,user_id=?5,"
                    "host=?6,old_volume_id=?7,new_volume_id=?8,attachment_id=?9,old_node=?10,"
                    "new_node=?11,old_path=?12,old_size_gb=?13,new_size_gb=?14,phase=?15,"
                    "error=?16,started_at=?17,updated_at=?18,bytes_total=?19,bytes_done=?20,"
                    "mirror_ms=?21,pivot_ms=?22,total_ms=?23 WHERE id=?1",
                    r, e);
}

static int query_recs(struct swap_store *s, const char *sql, const char *a1, const char *a2,
                      struct swap_rec **out, size_t *n, size_t max, struct api_error *e)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    size_t cap = 0;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_err(s, e, "prepare");
        goto out;
    }
    if (a1)
        sqlite3_bind_text(st, 1, a1, -1, SQLITE_STATIC);
    if (a2)
        sqlite3_bind_text(st, 2, a2, -1, SQLITE_STATIC);
    int step;
    while (*n < max && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            struct swap_rec *nr = realloc(*out, cap * sizeof **out);
            if (!nr) {
                api_err(e, 500, "out of memory");
                goto out;
            }
            *out = nr;
        }
        read_rec(st, &(*out)[(*n)++]);
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int swap_store_unfinished(struct swap_store *s, struct swap_rec **out, size_t *n,
                          struct api_error *e)
{
    return query_recs(s,
                      "SELECT " COLS " FROM swaps WHERE phase NOT IN ('done','rolled-back') "
                      "ORDER BY seq",
                      NULL, NULL, out, n, SIZE_MAX, e);
}

int swap_store_latest(struct swap_store *s, const char *server_id, const char *volume_id,
                      struct swap_rec *out, struct api_error *e)
{
    struct swap_rec *recs = NULL;
    size_t n = 0;
    if (query_recs(s,
                   "SELECT " COLS " FROM swaps WHERE server_id=?1 AND "
                   "(old_volume_id=?2 OR new_volume_id=?2) ORDER BY seq DESC LIMIT 1",
                   server_id, volume_id, &recs, &n, 1, e) < 0)
        return -1;
    if (n == 0) {
        free(recs);
        return 1;
    }
    *out = recs[0];
    free(recs);
    return 0;
}

static void bucket(uint64_t *b, const double *bounds, size_t nbounds, double v)
{
    size_t i = 0;
    while (i < nbounds && v > bounds[i])
        i++;
    b[i]++;
}

int swap_store_figures(struct swap_store *s, struct swap_figures *f, struct api_error *e)
{
    static const double dur[] = { SWAP_DURATION_BUCKETS_S };
    static const double pause[] = { SWAP_PAUSE_BUCKETS_S };
    _Static_assert(sizeof dur / sizeof dur[0] + 1 == SWAP_NBUCKETS, "duration buckets");
    _Static_assert(sizeof pause / sizeof pause[0] + 1 == SWAP_NBUCKETS, "pause buckets");
    memset(f, 0, sizeof *f);
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db, "SELECT kind, phase, pivot_ms, total_ms FROM swaps", -1, &st,
                           NULL) != SQLITE_OK) {
        db_err(s, e, "prepare");
        goto out;
    }
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(st, 0);
        const char *phase = (const char *)sqlite3_column_text(st, 1);
        int k = kind && strcmp(kind, "migrate") == 0 ? SWAP_MIGRATE : SWAP_NOVA;
        enum swap_outcome o = !phase                           ? SWAP_OUT_UNFINISHED
                              : strcmp(phase, "done") == 0        ? SWAP_OUT_COMPLETED
                              : strcmp(phase, "rolled-back") == 0 ? SWAP_OUT_ROLLED_BACK
                                                                  : SWAP_OUT_UNFINISHED;
        f->count[k][o]++;
        if (o != SWAP_OUT_COMPLETED)
            continue;
        double total = (double)sqlite3_column_int64(st, 3) / 1000.0;
        double piv = (double)sqlite3_column_int64(st, 2) / 1000.0;
        bucket(f->duration[k], dur, sizeof dur / sizeof dur[0], total);
        f->duration_sum[k] += total;
        bucket(f->pause[k], pause, sizeof pause / sizeof pause[0], piv);
        f->pause_sum[k] += piv;
    }
    if (step != SQLITE_DONE) {
        db_err(s, e, "read");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int swap_store_get(struct swap_store *s, const char *id, struct swap_rec *out, struct api_error *e)
{
    struct swap_rec *recs = NULL;
    size_t n = 0;
    if (query_recs(s, "SELECT " COLS " FROM swaps WHERE id=?", id, NULL, &recs, &n, 1, e) < 0)
        return -1;
    if (n == 1)
        *out = recs[0];
    free(recs);
    return n == 1 ? 0 : 1;
}

int swap_store_series_put(struct swap_store *s, const char *id, const char *series,
                          struct api_error *e)
{
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO swap_series (id, series) VALUES (?, ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        db_err(s, e, "prepare");
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, series, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_err(s, e, "write");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int swap_store_series_get(struct swap_store *s, const char *id, char **series,
                          struct api_error *e)
{
    *series = NULL;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db, "SELECT series FROM swap_series WHERE id=?", -1, &st, NULL) !=
        SQLITE_OK) {
        db_err(s, e, "prepare");
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        *series = strdup(t ? t : "");
        rc = *series ? 0 : api_err(e, 500, "out of memory");
    } else if (step == SQLITE_DONE) {
        rc = 1;
    } else {
        db_err(s, e, "read");
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}
