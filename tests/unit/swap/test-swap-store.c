/* The swap records (swap/store.c over the registry): records round-trip
 * field for field, the unfinished ones come back oldest first (recovery's
 * order), the newest record of a server/volume pair is found by either
 * volume, a reopened database keeps them, an older install's swaps table
 * (made outside the registry's migrations) is adopted with its in-flight
 * swaps, phase names parse back to their phases, and a swap's RECORDED and
 * ROLLED_BACK phases commit with the attachment, volume and event changes
 * they imply or not at all. */
#include "swap/swap.h"
#include "../api/unit.h"

#include <sqlite3.h>
#include <unistd.h>

static char db[64];

static void setup(void)
{
    snprintf(db, sizeof db, "/tmp/swap-store-XXXXXX");
    int fd = mkstemp(db);
    CHECK(fd >= 0);
    close(fd);
}

static struct registry *store_open(void)
{
    char err[256];
    struct registry *r = registry_sqlite_open(db, err, sizeof err);
    if (!r)
        fprintf(stderr, "%s\n", err);
    CHECK(r);
    return r;
}

static void sql(const char *text)
{
    sqlite3 *h = NULL;
    CHECK(sqlite3_open(db, &h) == SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    char *msg = NULL;
    int rc = sqlite3_exec(h, text, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s\n", msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(h);
    CHECK(rc == SQLITE_OK);
}

static void teardown(void)
{
    char p[80];
    unlink(db);
    snprintf(p, sizeof p, "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db);
    unlink(p);
}

static struct swap_rec rec(const char *id, const char *server, const char *old, const char *nw,
                           enum swap_phase ph)
{
    struct swap_rec r;
    memset(&r, 0, sizeof r);
    snprintf(r.id, sizeof r.id, "%s", id);
    snprintf(r.server_id, sizeof r.server_id, "%s", server);
    snprintf(r.old_volume_id, sizeof r.old_volume_id, "%s", old);
    snprintf(r.new_volume_id, sizeof r.new_volume_id, "%s", nw);
    snprintf(r.old_node, sizeof r.old_node, "vol-old");
    snprintf(r.new_node, sizeof r.new_node, "vol-new");
    snprintf(r.host, sizeof r.host, "host1");
    r.phase = ph;
    r.old_size_gb = 1;
    r.new_size_gb = 2;
    return r;
}

static void roundtrip(void)
{
    setup();
    struct api_error e = { 0 };
    struct registry *s = store_open();
    struct swap_rec r = rec("req-1", "srv", "A", "B", SP_ACCEPTED), out;
    r.kind = SWAP_MIGRATE;
    snprintf(r.old_path, sizeof r.old_path, "/pool/volume-A");
    snprintf(r.error, sizeof r.error, "it's \"quoted\"");
    CHECK(swap_store_insert(s, &r, &e) == 0);
    CHECK(swap_store_insert(s, &r, &e) < 0); /* ids are unique */
    r.phase = SP_COMPLETING;
    r.bytes_done = 123456789012LL;
    r.pivot_ms = 7;
    CHECK(swap_store_update(s, &r, &e) == 0);
    CHECK(swap_store_latest(s, "srv", "B", &out, &e) == 0);
    CHECK_STR(out.id, "req-1");
    CHECK(out.kind == SWAP_MIGRATE);
    CHECK(out.phase == SP_COMPLETING);
    CHECK(out.bytes_done == 123456789012LL);
    CHECK(out.pivot_ms == 7 && out.new_size_gb == 2);
    CHECK_STR(out.old_path, "/pool/volume-A");
    CHECK_STR(out.error, "it's \"quoted\"");
    CHECK(swap_store_latest(s, "srv", "C", &out, &e) == 1);
    CHECK(swap_store_latest(s, "other", "A", &out, &e) == 1);
    s->ops->close(s);
    teardown();
}

static void unfinished_in_order(void)
{
    setup();
    struct api_error e = { 0 };
    struct registry *s = store_open();
    const char *ids[] = { "req-c", "req-a", "req-d", "req-b" };
    enum swap_phase ph[] = { SP_MIRRORING, SP_DONE, SP_PIVOTED, SP_ROLLED_BACK };
    for (int i = 0; i < 4; i++) {
        struct swap_rec r = rec(ids[i], "srv", "A", "B", ph[i]);
        CHECK(swap_store_insert(s, &r, &e) == 0);
    }
    struct swap_rec *u = NULL;
    size_t n = 0;
    CHECK(swap_store_unfinished(s, &u, &n, &e) == 0);
    CHECK(n == 2);
    CHECK_STR(u[0].id, "req-c"); /* insertion order, not id order */
    CHECK_STR(u[1].id, "req-d");
    free(u);
    /* the newest of the pair is the last inserted */
    struct swap_rec out;
    CHECK(swap_store_latest(s, "srv", "A", &out, &e) == 0);
    CHECK_STR(out.id, "req-b");
    s->ops->close(s);
    teardown();
}

static void reopen_keeps(void)
{
    setup();
    struct api_error e = { 0 };
    struct registry *s = store_open();
    struct swap_rec r = rec("req-1", "srv", "A", "B", SP_READY);
    CHECK(swap_store_insert(s, &r, &e) == 0);
    s->ops->close(s);
    s = store_open();
    struct swap_rec *u = NULL;
    size_t n = 0;
    CHECK(swap_store_unfinished(s, &u, &n, &e) == 0);
    CHECK(n == 1 && u[0].phase == SP_READY);
    free(u);
    s->ops->close(s);
    teardown();
}

/* An install from before the swap records were the registry's: schema 3
 * and a `swaps` table of the old swap store beside it, one swap in flight
 * and one done. Opening migrates: both records survive with every field,
 * in their order, and new ones go after them. */
static void upgrade_keeps_unnumbered_swaps(void)
{
    setup();
    struct registry *s = store_open();
    s->ops->close(s);
    sql("DROP TABLE swaps; ALTER TABLE volumes DROP COLUMN bootable;"
        "ALTER TABLE volumes DROP COLUMN readonly; DROP TABLE keypairs;"
        "DROP TRIGGER volume_image_metadata_gone; DROP TABLE images;"
        "UPDATE schema_version SET version=3;"
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
        "INSERT INTO swaps VALUES('req-old','swap','srv','p','u','host1','A','B','att',"
        " 'vol-a','vol-b','',1,2,'done','','t0','t1',10,10,5,1,6,1);"
        "INSERT INTO swaps VALUES('req-flight','migrate','srv','p','u','host1','B','C','att',"
        " 'vol-b','vol-c','/pool/b',2,2,'mirroring','','t2','t3',1000,400,0,0,0,2);");
    s = store_open();
    CHECK(registry_sqlite_schema_version(s) == 11);
    struct api_error e = { 0 };
    struct swap_rec *u = NULL;
    size_t n = 0;
    CHECK(swap_store_unfinished(s, &u, &n, &e) == 0);
    CHECK(n == 1);
    CHECK_STR(u[0].id, "req-flight");
    CHECK(u[0].kind == SWAP_MIGRATE && u[0].phase == SP_MIRRORING);
    CHECK_STR(u[0].old_node, "vol-b");
    CHECK_STR(u[0].old_path, "/pool/b");
    CHECK(u[0].bytes_total == 1000 && u[0].bytes_done == 400);
    free(u);
    struct swap_rec out;
    CHECK(swap_store_latest(s, "srv", "A", &out, &e) == 0);
    CHECK_STR(out.id, "req-old");
    CHECK(out.phase == SP_DONE && out.total_ms == 6);
    struct swap_rec r = rec("req-new", "srv", "C", "D", SP_ACCEPTED);
    CHECK(swap_store_insert(s, &r, &e) == 0);
    CHECK(swap_store_latest(s, "srv", "C", &out, &e) == 0);
    CHECK_STR(out.id, "req-new"); /* after the adopted ones */
    s->ops->close(s);
    /* reopening does not migrate again */
    s = store_open();
    CHECK(swap_store_unfinished(s, &u, &n, &e) == 0);
    CHECK(n == 2);
    free(u);
    s->ops->close(s);
    teardown();
}

/* A server on volume A (detaching) swapping to B (attaching), pivoted. */
static void seed_pivoted_swap(struct registry *s, struct swap_rec *r)
{
    struct reg_host h = { .name = "host1", .driver = "volswapd", .qmp = "/q", .nbd = "unix:/n" };
    CHECK(s->ops->host_put(s, &h) == 0);
    struct reg_server srv = { .id = "srv", .name = "s", .project_id = "p", .host = "host1" };
    strcpy(srv.status, "ACTIVE");
    strcpy(srv.vm_state, "active");
    CHECK(s->ops->server_insert(s, &srv) == 0);
    struct reg_volume v = { .id = "A", .project_id = "p", .size_gb = 1, .host = "host1" };
    strcpy(v.status, "detaching");
    strcpy(v.attach_status, "attached");
    CHECK(s->ops->volume_insert(s, &v) == 0);
    strcpy(v.id, "B");
    strcpy(v.status, "attaching");
    strcpy(v.attach_status, "detached");
    CHECK(s->ops->volume_insert(s, &v) == 0);
    struct reg_attachment a = { .id = "att",
                                .server_id = "srv",
                                .volume_id = "A",
                                .device = "/dev/vdb",
                                .node_name = "vol-a" };
    strcpy(a.connection_info, "{\"data\":{}}");
    CHECK(s->ops->attachment_insert(s, &a) == 0);
    *r = rec("req-1", "srv", "A", "B", SP_COMPLETING);
    strcpy(r->attachment_id, "att");
    struct api_error e = { 0 };
    CHECK(swap_store_insert(s, r, &e) == 0);
    r->phase = SP_PIVOTED; /* in memory only, as the worker has it */
}

/* The phase write fails after the attachment and volume writes (a trigger
 * refuses it): neither is left, in the registry or in the record in
 * memory. With the trigger gone the same call commits both. */
static void record_is_one_transaction(void)
{
    setup();
    struct registry *s = store_open();
    struct swap_rec r;
    seed_pivoted_swap(s, &r);
    sql("CREATE TRIGGER refuse_recorded BEFORE UPDATE ON swaps WHEN NEW.phase='recorded'"
        " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
    struct api_error e = { 0 };
    CHECK(swap_record(s, &r, &e) < 0);
    CHECK_CONTAINS(e.msg, "injected failure");
    CHECK(r.phase == SP_PIVOTED);
    CHECK_STR(r.attachment_id, "att");
    struct reg_attachment a;
    struct reg_volume v;
    CHECK(s->ops->attachment_get_by_volume(s, "A", &a) == 0);
    CHECK(s->ops->attachment_get_by_volume(s, "B", &a) == 1);
    CHECK(s->ops->volume_get(s, "A", &v) == 0);
    CHECK_STR(v.status, "detaching");
    CHECK(s->ops->volume_get(s, "B", &v) == 0);
    CHECK_STR(v.status, "attaching");
    struct swap_rec out;
    CHECK(swap_store_latest(s, "srv", "A", &out, &e) == 0);
    CHECK(out.phase == SP_COMPLETING);
    /* the registry is usable after the failure, and the retry commits */
    sql("DROP TRIGGER refuse_recorded;");
    CHECK(swap_record(s, &r, &e) == 0);
    CHECK(r.phase == SP_RECORDED);
    CHECK(s->ops->attachment_get_by_volume(s, "A", &a) == 1);
    CHECK(s->ops->attachment_get_by_volume(s, "B", &a) == 0);
    CHECK_STR(a.node_name, "vol-new");
    CHECK_STR(r.attachment_id, a.id);
    CHECK(s->ops->volume_get(s, "A", &v) == 0);
    CHECK_STR(v.status, "available");
    CHECK(s->ops->volume_get(s, "B", &v) == 0);
    CHECK_STR(v.status, "in-use");
    CHECK(swap_store_latest(s, "srv", "A", &out, &e) == 0);
    CHECK(out.phase == SP_RECORDED);
    s->ops->close(s);
    teardown();
}

static void phase_names(void)
{
    for (int i = 0; i < SP__COUNT; i++) {
        enum swap_phase p;
        CHECK(swap_phase_parse(swap_phase_name((enum swap_phase)i), &p) == 0);
        CHECK(p == (enum swap_phase)i);
    }
    enum swap_phase p;
    CHECK(swap_phase_parse("half-swapped", &p) < 0);
    CHECK_STR(swap_phase_name(SP__COUNT), "?");
}

/* A rollback (the worker's on a failure, recovery's for a swap that did not
 * pivot) whose phase write fails after the volume states were given back:
 * neither is left, and the retry commits the states, the Error event and
 * ROLLED_BACK together. */
static void rollback_is_one_transaction(void)
{
    setup();
    struct registry *s = store_open();
    struct swap_rec r;
    seed_pivoted_swap(s, &r);
    r.phase = SP_MIRRORING; /* before the pivot */
    struct reg_action act = { .request_id = "req-1", .server_id = "srv", .action = "swap_volume" };
    CHECK(s->ops->action_insert(s, &act) == 0);
    struct api_config cfg;
    memset(&cfg, 0, sizeof cfg); /* no hosts: nothing to undo on one */
    struct api_ctx ctx = { .cfg = &cfg, .reg = s };
    struct swap_service svc = { .ctx = &ctx };
    swap_svc = &svc;
    sql("CREATE TRIGGER refuse_rolled_back BEFORE UPDATE ON swaps WHEN NEW.phase='rolled-back'"
        " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
    CHECK(swap_rollback(NULL, &r, "mirror failed") < 0);
    CHECK(r.phase == SP_MIRRORING);
    struct reg_volume v;
    CHECK(s->ops->volume_get(s, "A", &v) == 0);
    CHECK_STR(v.status, "detaching");
    CHECK(s->ops->volume_get(s, "B", &v) == 0);
    CHECK_STR(v.status, "attaching");
    struct reg_event *evs = NULL;
    size_t n = 0;
    CHECK(s->ops->event_list(s, "req-1", &evs, &n) == 0 && n == 0);
    free(evs);
    sql("DROP TRIGGER refuse_rolled_back;");
    CHECK(swap_rollback(NULL, &r, "mirror failed") == 0);
    CHECK(r.phase == SP_ROLLED_BACK);
    CHECK(s->ops->volume_get(s, "A", &v) == 0);
    CHECK_STR(v.status, "in-use");
    CHECK(s->ops->volume_get(s, "B", &v) == 0);
    CHECK_STR(v.status, "available");
    CHECK(s->ops->event_list(s, "req-1", &evs, &n) == 0 && n == 1);
    CHECK_STR(evs[0].result, "Error");
    free(evs);
    struct api_error e = { 0 };
    struct swap_rec out;
    CHECK(swap_store_latest(s, "srv", "A", &out, &e) == 0);
    CHECK(out.phase == SP_ROLLED_BACK);
    CHECK_STR(out.error, "mirror failed");
    swap_svc = NULL;
    s->ops->close(s);
    teardown();
}

int main(int argc, char **argv)
{
    static const struct unit_case cases[] = {
        { "roundtrip", roundtrip },
        { "unfinished-in-order", unfinished_in_order },
        { "reopen-keeps", reopen_keeps },
        { "upgrade-keeps-unnumbered-swaps", upgrade_keeps_unnumbered_swaps },
        { "record-is-one-transaction", record_is_one_transaction },
        { "rollback-is-one-transaction", rollback_is_one_transaction },
        { "phase-names", phase_names },
        { NULL, NULL },
    };
    return unit_main(argc, argv, cases);
}
