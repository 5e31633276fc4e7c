/* The SQLite registry (storage-sqlite.c) through the storage interface:
 * records round-trip, foreign keys hold, transactions roll back, migrations
 * are recorded and re-opening is idempotent, vol_transition_apply is
 * atomic against the stored row, the transaction guard rolls back what was
 * not committed (nested scopes too), and a full database reports itself as
 * such, with nothing of the failed transaction left. */
#include "domain/domain.h"
#include "testdb.h"
#include "unit.h"

#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

static char dir[64];

static struct registry *open_reg(void)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/volswap-unit-XXXXXX");
        CHECK(mkdtemp(dir));
    }
    char path[128], err[256], db[1200];
    snprintf(path, sizeof path, "%s/reg.db", dir);
    CHECK(unit_db_for(path, db, sizeof db));
    struct registry *r = registry_open(db, err, sizeof err);
    if (!r)
        fprintf(stderr, "%s\n", err);
    CHECK(r);
    return r;
}

static int schema_version(struct registry *r)
{
    return strcmp(r->ops->name, "postgresql") ? registry_sqlite_schema_version(r)
                                              : registry_postgres_schema_version(r);
}

/* Cases about SQLite's own file (its shell, its page limit) skip on
 * PostgreSQL. */
static void sqlite_only(void)
{
    if (unit_db_is_postgres())
        exit(77);
}

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    dir[0] = '\0';
}

static void seed(struct registry *r, struct reg_server *s, struct reg_volume *v)
{
    struct reg_host h = { .name = "h1", .driver = "qemu", .qmp = "/q", .nbd = "unix:/n" };
    CHECK(r->ops->host_put(r, &h) == 0);
    CHECK(r->ops->host_put(r, &h) == 0); /* upsert */
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "11111111-1111-4111-8111-111111111111");
    strcpy(s->name, "srv");
    strcpy(s->project_id, "p1");
    strcpy(s->host, "h1");
    strcpy(s->status, "ACTIVE");
    strcpy(s->vm_state, "active");
    CHECK(r->ops->server_insert(r, s) == 0);
    memset(v, 0, sizeof *v);
    snprintf(v->id, sizeof v->id, "22222222-2222-4222-8222-222222222222");
    strcpy(v->project_id, "p1");
    v->size_gb = 3;
    strcpy(v->host, "h1");
    strcpy(v->pool, "pool");
    strcpy(v->path, "/x");
    strcpy(v->status, "available");
    strcpy(v->attach_status, "detached");
    v->readonly = -1;
    CHECK(r->ops->volume_insert(r, v) == 0);
}

static void roundtrip(void)
{
    struct registry *r = open_reg();
    struct reg_server s, s2;
    struct reg_volume v, v2;
    seed(r, &s, &v);
    CHECK(r->ops->server_get(r, s.id, &s2) == 0);
    CHECK_STR(s2.name, "srv");
    CHECK(r->ops->server_get(r, "nope", &s2) == 1);
    CHECK(r->ops->volume_get(r, v.id, &v2) == 0);
    CHECK(v2.size_gb == 3);
    CHECK_STR(v2.migration_status, "");
    CHECK(!v2.bootable && v2.readonly == -1);
    v2.bootable = true;
    v2.readonly = 1;
    CHECK(r->ops->volume_update(r, &v2) == 0);
    CHECK(r->ops->volume_get(r, v.id, &v2) == 0);
    CHECK(v2.bootable && v2.readonly == 1);
    struct reg_volume *list = NULL;
    size_t n = 0;
    CHECK(r->ops->volume_list(r, "p1", &list, &n) == 0 && n == 1);
    free(list);
    CHECK(r->ops->volume_list(r, "p2", &list, &n) == 0 && n == 0);
    free(list);
    bool used = false;
    CHECK(r->ops->volume_path_used(r, "/x", &used) == 0 && used);
    CHECK(r->ops->volume_path_used(r, "/y", &used) == 0 && !used);
    struct reg_attachment a;
    memset(&a, 0, sizeof a);
    strcpy(a.id, "a1");
    strcpy(a.server_id, s.id);
    strcpy(a.volume_id, v.id);
    strcpy(a.device, "/dev/vdb");
    strcpy(a.connection_info, "{\"a\":1}");
    CHECK(r->ops->attachment_insert(r, &a) == 0);
    struct reg_attachment a2;
    CHECK(r->ops->attachment_get(r, s.id, v.id, &a2) == 0);
    CHECK_STR(a2.connection_info, "{\"a\":1}");
    CHECK(r->ops->attachment_get_by_volume(r, v.id, &a2) == 0);
    CHECK(r->ops->attachment_get_by_id(r, "a1", &a2) == 0);
    /* one volume, one attachment: a second row for it is refused */
    strcpy(a.id, "a2");
    strcpy(a.device, "/dev/vdc");
    CHECK(r->ops->attachment_insert(r, &a) < 0);
    CHECK(r->ops->attachment_delete(r, "a1") == 0);
    CHECK(r->ops->attachment_get(r, s.id, v.id, &a2) == 1);
    r->ops->close(r);
    cleanup();
}

static void foreign_keys(void)
{
    struct registry *r = open_reg();
    struct reg_server s;
    struct reg_volume v;
    seed(r, &s, &v);
    struct reg_attachment a;
    memset(&a, 0, sizeof a);
    strcpy(a.id, "a1");
    strcpy(a.server_id, "no-such-server");
    strcpy(a.volume_id, v.id);
    CHECK(r->ops->attachment_insert(r, &a) < 0);
    CHECK(r->ops->last_error_kind(r) == REG_ERR_CONSTRAINT);
    CHECK(strcasestr(r->ops->last_error(r), "foreign key"));
    strcpy(a.server_id, s.id);
    CHECK(r->ops->attachment_insert(r, &a) == 0);
    /* an attached volume's row cannot vanish under its attachment */
    CHECK(r->ops->volume_delete(r, v.id) < 0);
    r->ops->close(r);
    cleanup();
}

static void transactions(void)
{
    struct registry *r = open_reg();
    struct reg_server s;
    struct reg_volume v;
    seed(r, &s, &v);
    CHECK(r->ops->begin(r) == 0);
    strcpy(v.status, "in-use");
    CHECK(r->ops->volume_update(r, &v) == 0);
    r->ops->rollback(r);
    struct reg_volume v2;
    CHECK(r->ops->volume_get(r, v.id, &v2) == 0);
    CHECK_STR(v2.status, "available");
    CHECK(r->ops->begin(r) == 0);
    CHECK(r->ops->volume_update(r, &v) == 0);
    CHECK(r->ops->commit(r) == 0);
    CHECK(r->ops->volume_get(r, v.id, &v2) == 0);
    CHECK_STR(v2.status, "in-use");
    r->ops->close(r);
    cleanup();
}

static void reopen_keeps_records(void)
{
    struct registry *r = open_reg();
    struct reg_server s;
    struct reg_volume v;
    seed(r, &s, &v);
    struct reg_action act = { .request_id = "req-1", .action = "create", .start_time = "t" };
    strcpy(act.server_id, s.id);
    CHECK(r->ops->action_insert(r, &act) == 0);
    struct reg_event ev = { .request_id = "req-1", .event = "e1", .result = "Success" };
    CHECK(r->ops->event_insert(r, &ev) == 0);
    int version = schema_version(r);
    CHECK(version >= 1);
    r->ops->close(r);
    r = open_reg();
    CHECK(schema_version(r) == version);
    struct reg_volume v2;
    CHECK(r->ops->volume_get(r, v.id, &v2) == 0);
    struct reg_action *acts = NULL;
    size_t n = 0;
    CHECK(r->ops->action_list(r, s.id, &acts, &n) == 0 && n == 1);
    free(acts);
    struct reg_event *evs = NULL;
    CHECK(r->ops->event_list(r, "req-1", &evs, &n) == 0 && n == 1);
    CHECK_STR(evs[0].result, "Success");
    free(evs);
    r->ops->close(r);
    cleanup();
}

static void transition_apply(void)
{
    struct registry *r = open_reg();
    struct reg_server s;
    struct reg_volume v;
    seed(r, &s, &v);
    struct api_error e;
    struct reg_volume out;
    CHECK(vol_transition_apply(r, v.id, VT_RESERVE, false, &out, &e) == 0);
    CHECK_STR(out.status, "attaching");
    /* the second reserve sees the stored "attaching" and is refused */
    CHECK(vol_transition_apply(r, v.id, VT_RESERVE, false, NULL, &e) < 0);
    CHECK(e.status == 400);
    CHECK(vol_transition_apply(r, "missing", VT_RESERVE, false, NULL, &e) < 0);
    CHECK(e.status == 404);
    /* the registry is usable after the refusals (the lock was released) */
    CHECK(vol_transition_apply(r, v.id, VT_UNRESERVE, false, &out, &e) == 0);
    CHECK_STR(out.status, "available");
    r->ops->close(r);
    cleanup();
}

static void bad_path(void)
{
    char err[256];
    CHECK(!registry_sqlite_open("/nonexistent-dir/x/reg.db", err, sizeof err));
    CHECK_CONTAINS(err, "cannot open database");
}

/* Tokens: put, get back exactly, replace, delete; purge removes the
 * expired ones only; all of it survives a reopen. */
static void tokens(void)
{
    struct registry *r = open_reg();
    struct reg_token a = { .id_hash = "aa", .auth = "{\"user_id\":\"u1\"}", .expires = 100 };
    struct reg_token b = { .id_hash = "bb", .auth = "{}", .expires = 300 };
    struct reg_token got;
    CHECK(r->ops->token_put(r, &a) == 0 && r->ops->token_put(r, &b) == 0);
    CHECK(r->ops->token_get(r, "aa", &got) == 0);
    CHECK_STR(got.auth, a.auth);
    CHECK(got.expires == 100);
    CHECK(r->ops->token_get(r, "cc", &got) == 1);
    b.expires = 400;
    CHECK(r->ops->token_put(r, &b) == 0);
    r->ops->close(r);
    r = open_reg();
    CHECK(r->ops->token_get(r, "bb", &got) == 0 && got.expires == 400);
    CHECK(r->ops->token_purge(r, 100) == 0);
    CHECK(r->ops->token_get(r, "aa", &got) == 1);
    CHECK(r->ops->token_get(r, "bb", &got) == 0);
    CHECK(r->ops->token_delete(r, "bb") == 0);
    CHECK(r->ops->token_get(r, "bb", &got) == 1);
    r->ops->close(r);
    cleanup();
}

/* Metadata: put, replace a value, list in key order, delete one (1 when
 * absent) and all; volume and server items with one owner id stay apart;
 * a volume's items leave with its record. */
static void metadata(void)
{
    struct registry *r = open_reg();
    struct reg_server s;
    struct reg_volume v;
    seed(r, &s, &v);
    struct reg_meta a = { "b-key", "1" }, b = { "a/key", "2" };
    CHECK(r->ops->meta_put(r, REG_META_VOLUME, v.id, &a) == 0);
    CHECK(r->ops->meta_put(r, REG_META_VOLUME, v.id, &b) == 0);
    strcpy(a.value, "3");
    CHECK(r->ops->meta_put(r, REG_META_VOLUME, v.id, &a) == 0);
    CHECK(r->ops->meta_put(r, REG_META_SERVER, v.id, &a) == 0);
    struct reg_meta *items = NULL;
    size_t n = 0;
    CHECK(r->ops->meta_list(r, REG_META_VOLUME, v.id, &items, &n) == 0 && n == 2);
    CHECK_STR(items[0].key, "a/key");
    CHECK_STR(items[1].key, "b-key");
    CHECK_STR(items[1].value, "3");
    free(items);
    CHECK(r->ops->meta_delete(r, REG_META_VOLUME, v.id, "a/key") == 0);
    CHECK(r->ops->meta_delete(r, REG_META_VOLUME, v.id, "a/key") == 1);
    CHECK(r->ops->volume_delete(r, v.id) == 0);
    CHECK(r->ops->meta_list(r, REG_META_VOLUME, v.id, &items, &n) == 0 && n == 0);
    free(items);
    CHECK(r->ops->meta_list(r, REG_META_SERVER, v.id, &items, &n) == 0 && n == 1);
    free(items);
    CHECK(r->ops->meta_delete(r, REG_META_SERVER, v.id, NULL) == 0);
    CHECK(r->ops->meta_list(r, REG_META_SERVER, v.id, &items, &n) == 0 && n == 0);
    free(items);
    r->ops->close(r);
    cleanup();
}

/* Key pairs are unique per user and name, listed per user or all. */
static void keypairs(void)
{
    struct registry *r = open_reg();
    struct reg_keypair k = { .user_id = "u1", .name = "k", .type = "ssh" };
    strcpy(k.public_key, "ssh-rsa AAAA");
    CHECK(r->ops->keypair_insert(r, &k) == 0 && k.id > 0);
    struct reg_keypair k2 = k;
    CHECK(r->ops->keypair_insert(r, &k2) < 0);
    CHECK(r->ops->last_error_kind(r) == REG_ERR_CONSTRAINT);
    strcpy(k2.user_id, "u2");
    CHECK(r->ops->keypair_insert(r, &k2) == 0 && k2.id != k.id);
    struct reg_keypair got;
    CHECK(r->ops->keypair_get(r, "u1", "k", &got) == 0 && got.id == k.id);
    CHECK_STR(got.public_key, "ssh-rsa AAAA");
    struct reg_keypair *list = NULL;
    size_t n = 0;
    CHECK(r->ops->keypair_list(r, "u2", &list, &n) == 0 && n == 1);
    free(list);
    CHECK(r->ops->keypair_list(r, NULL, &list, &n) == 0 && n == 2);
    free(list);
    CHECK(r->ops->keypair_delete(r, "u1", "k") == 0);
    CHECK(r->ops->keypair_delete(r, "u1", "k") == 1);
    CHECK(r->ops->keypair_get(r, "u1", "k", &got) == 1);
    r->ops->close(r);
    cleanup();
}

/* Images: written, read, updated, listed and deleted; an update or
 * delete of no image answers 1. */
static void images(void)
{
    struct registry *r = open_reg();
    struct reg_image im = { .id = "img-1",
                            .owner = "p1",
                            .name = "cirros",
                            .status = "queued",
                            .visibility = "shared",
                            .size = -1,
                            .virtual_size = -1,
                            .created_at = "2026-01-01T00:00:00Z" };
    CHECK(r->ops->image_insert(r, &im) == 0);
    struct reg_image got;
    CHECK(r->ops->image_get(r, "img-1", &got) == 0);
    CHECK_STR(got.name, "cirros");
    CHECK(got.size == -1 && !got.protected_);
    strcpy(im.status, "active");
    im.size = 1 << 20;
    im.protected_ = true;
    CHECK(r->ops->image_update(r, &im) == 0);
    CHECK(r->ops->image_get(r, "img-1", &got) == 0);
    CHECK_STR(got.status, "active");
    CHECK(got.size == 1 << 20 && got.protected_);
    struct reg_image other = im;
    strcpy(other.id, "img-2");
    CHECK(r->ops->image_update(r, &other) == 1);
    CHECK(r->ops->image_insert(r, &other) == 0);
    struct reg_image *list = NULL;
    size_t n = 0;
    CHECK(r->ops->image_list(r, &list, &n) == 0 && n == 2);
    free(list);
    CHECK(r->ops->image_delete(r, "img-1") == 0);
    CHECK(r->ops->image_delete(r, "img-1") == 1);
    CHECK(r->ops->image_get(r, "img-1", &got) == 1);
    r->ops->close(r);
    cleanup();
}

/* Image members: added, read, replaced (the status changes), listed by
 * image and by member, deleted one by one and with their image's. */
static void image_members(void)
{
    struct registry *r = open_reg();
    struct reg_image_member a = { .image_id = "img-1",
                                  .member = "p2",
                                  .status = "pending",
                                  .created_at = "2026-01-01T00:00:00Z",
                                  .updated_at = "2026-01-01T00:00:00Z" };
    struct reg_image_member b = a, c = a;
    strcpy(b.member, "p3");
    strcpy(c.image_id, "img-2");
    CHECK(r->ops->member_put(r, &a) == 0);
    CHECK(r->ops->member_put(r, &b) == 0);
    CHECK(r->ops->member_put(r, &c) == 0);
    strcpy(a.status, "accepted");
    CHECK(r->ops->member_put(r, &a) == 0);
    struct reg_image_member got;
    CHECK(r->ops->member_get(r, "img-1", "p2", &got) == 0);
    CHECK_STR(got.status, "accepted");
    CHECK(r->ops->member_get(r, "img-1", "p9", &got) == 1);
    struct reg_image_member *list = NULL;
    size_t n = 0;
    CHECK(r->ops->member_list(r, "img-1", NULL, &list, &n) == 0 && n == 2);
    free(list);
    CHECK(r->ops->member_list(r, NULL, "p2", &list, &n) == 0 && n == 2);
    free(list);
    CHECK(r->ops->member_delete(r, "img-1", "p3") == 0);
    CHECK(r->ops->member_delete(r, "img-1", "p3") == 1);
    CHECK(r->ops->member_delete(r, "img-1", NULL) == 0);
    CHECK(r->ops->member_list(r, "img-1", NULL, &list, &n) == 0 && n == 0);
    free(list);
    CHECK(r->ops->member_get(r, "img-2", "p2", &got) == 0);
    r->ops->close(r);
    cleanup();
}

/* Metadata definitions: the seeded resource types, a namespace and what
 * it holds written, replaced in place (its order kept), renamed with its
 * namespace, and deleted one by one, by kind and all together. */
static void metadefs(void)
{
    struct registry *r = open_reg();
    struct reg_metadef *list = NULL;
    size_t n = 0;
    CHECK(r->ops->metadef_list(r, "resource_type", "", &list, &n) == 0 && n >= 6);
    CHECK_STR(list[0].name, "OS::Glance::Image");
    free(list);
    struct reg_metadef d = { .kind = "namespace",
                             .ns = "ns",
                             .name = "",
                             .body = "{}",
                             .created_at = "t0",
                             .updated_at = "t0" };
    CHECK(r->ops->metadef_put(r, &d) == 0);
    strcpy(d.kind, "object");
    strcpy(d.name, "o1");
    CHECK(r->ops->metadef_put(r, &d) == 0);
    strcpy(d.name, "o2");
    CHECK(r->ops->metadef_put(r, &d) == 0);
    strcpy(d.name, "o1");
    strcpy(d.body, "{\"description\":\"x\"}");
    CHECK(r->ops->metadef_put(r, &d) == 0);
    CHECK(r->ops->metadef_list(r, "object", "ns", &list, &n) == 0 && n == 2);
    CHECK_STR(list[0].name, "o1");
    CHECK_STR(list[0].body, "{\"description\":\"x\"}");
    free(list);
    CHECK(r->ops->metadef_rename(r, "ns", "ns2") == 0);
    struct reg_metadef got;
    CHECK(r->ops->metadef_get(r, "object", "ns", "o1", &got) == 1);
    CHECK(r->ops->metadef_get(r, "object", "ns2", "o1", &got) == 0);
    CHECK(r->ops->metadef_get(r, "namespace", "ns2", "", &got) == 0);
    CHECK(r->ops->metadef_delete(r, "object", "ns2", "o1") == 0);
    CHECK(r->ops->metadef_delete(r, "object", "ns2", "o1") == 1);
    CHECK(r->ops->metadef_delete(r, "object", "ns2", NULL) == 0);
    CHECK(r->ops->metadef_list(r, "object", "ns2", &list, &n) == 0 && n == 0);
    free(list);
    CHECK(r->ops->metadef_delete(r, NULL, "ns2", NULL) == 0);
    CHECK(r->ops->metadef_get(r, "namespace", "ns2", "", &got) == 1);
    CHECK(r->ops->metadef_list(r, "resource_type", NULL, &list, &n) == 0 && n >= 6);
    free(list);
    r->ops->close(r);
    cleanup();
}

/* A database of schema 2 (before metadata) is upgraded in place on open:
 * its records stay and the metadata table works. */
static void upgrade_from_schema_2(void)
{
    sqlite_only();
    struct registry *r = open_reg();
    struct reg_server s;
    struct reg_volume v;
    seed(r, &s, &v);
    r->ops->close(r);
    char path[128], cmd[600];
    snprintf(path, sizeof path, "%s/reg.db", dir);
    snprintf(
        cmd, sizeof cmd,
        "sqlite3 %s 'DROP TRIGGER volume_image_metadata_gone; DROP TRIGGER volume_metadata_gone; DROP TABLE "
        "metadata; ALTER TABLE swaps DROP COLUMN owner; ALTER TABLE swaps DROP COLUMN "
        "epoch; ALTER TABLE swaps DROP COLUMN lease_expires; ALTER TABLE volumes DROP "
        "COLUMN bootable; ALTER TABLE volumes DROP COLUMN readonly; DROP TABLE keypairs; "
        "DROP TABLE images; "
        "UPDATE schema_version SET version=2;'",
        path);
    CHECK(system(cmd) == 0);
    r = open_reg();
    CHECK(schema_version(r) == 11);
    struct reg_volume got;
    CHECK(r->ops->volume_get(r, v.id, &got) == 0);
    CHECK(!got.bootable && got.readonly == -1);
    struct reg_meta m = { "k", "v" };
    CHECK(r->ops->meta_put(r, REG_META_VOLUME, v.id, &m) == 0);
    r->ops->close(r);
    cleanup();
}

static int put_status(struct registry *r, const char *status, struct api_error *e)
{
    struct reg_volume v;
    CHECK(r->ops->volume_get(r, "22222222-2222-4222-8222-222222222222", &v) == 0);
    snprintf(v.status, sizeof v.status, "%s", status);
    return r->ops->volume_update(r, &v) < 0 ? reg_fail(e, r) : 0;
}

static const char *get_status(struct registry *r, char out[24])
{
    struct reg_volume v;
    CHECK(r->ops->volume_get(r, "22222222-2222-4222-8222-222222222222", &v) == 0);
    memcpy(out, v.status, 24);
    return out;
}

/* Writes STATUS in a guarded transaction and leaves the scope early,
 * without committing. */
static int write_and_return_early(struct registry *r, const char *status)
{
    struct api_error e = { 0 };
    REG_TXN(txn, r);
    CHECK(reg_begin(&txn, &e) == 0);
    CHECK(put_status(r, status, &e) == 0);
    return -1;
}

/* Outer writes "error"; an inner scope writes STATUS and commits when
 * INNER_COMMITS; the outer commits when OUTER_COMMITS. */
static void nested(struct registry *r, const char *status, bool inner_commits, bool outer_commits)
{
    struct api_error e = { 0 };
    REG_TXN(outer, r);
    CHECK(reg_begin(&outer, &e) == 0);
    CHECK(put_status(r, "error", &e) == 0);
    {
        REG_TXN(inner, r);
        CHECK(reg_begin(&inner, &e) == 0);
        CHECK(put_status(r, status, &e) == 0);
        if (inner_commits)
            CHECK(reg_commit(&inner, &e) == 0);
    }
    if (outer_commits)
        CHECK(reg_commit(&outer, &e) == 0);
}

static void transaction_guard(void)
{
    struct registry *r = open_reg();
    struct reg_server s;
    struct reg_volume v;
    char st[24];
    seed(r, &s, &v);
    CHECK(write_and_return_early(r, "in-use") < 0);
    CHECK_STR(get_status(r, st), "available");
    nested(r, "in-use", false, true); /* inner rolled back, outer kept */
    CHECK_STR(get_status(r, st), "error");
    nested(r, "in-use", true, true);
    CHECK_STR(get_status(r, st), "in-use");
    nested(r, "available", true, false); /* the outer rollback takes both */
    CHECK_STR(get_status(r, st), "in-use");
    /* the lock was released every time: another thread's call would wait
     * for ever otherwise; this one's begin would nest */
    struct api_error e = { 0 };
    REG_TXN(txn, r);
    CHECK(reg_begin(&txn, &e) == 0);
    CHECK(reg_commit(&txn, &e) == 0);
    CHECK(!txn.open);
    r->ops->close(r);
    cleanup();
}

static int page_limit;

static int limit_pages(sqlite3 *db, char **err, const void *api)
{
    char q[64];
    snprintf(q, sizeof q, "PRAGMA max_page_count=%d", page_limit);
    return sqlite3_exec(db, q, NULL, NULL, err);
}

/* Metadata items of about 300 bytes each, KEYS of them, in one guarded
 * transaction; returns what reg_fail made of the first failure. */
static int put_many(struct registry *r, const char *owner, int keys, struct api_error *e)
{
    REG_TXN(txn, r);
    if (reg_begin(&txn, e) < 0)
        return -1;
    for (int i = 0; i < keys; i++) {
        struct reg_meta m;
        snprintf(m.key, sizeof m.key, "key-%d", i);
        memset(m.value, 'v', 255);
        m.value[255] = '\0';
        if (r->ops->meta_put(r, REG_META_VOLUME, owner, &m) < 0)
            return reg_fail(e, r);
    }
    return reg_commit(&txn, e);
}

/* A database that cannot grow (max_page_count at its size, as a full disk
 * would): the write fails with SQLite's own words and the full-disk status,
 * the rollback that follows does not replace them, nothing of the
 * transaction is left, and the registry still answers. */
static void disk_full_keeps_its_error(void)
{
    sqlite_only();
    struct registry *r = open_reg();
    struct reg_server s;
    struct reg_volume v;
    seed(r, &s, &v);
    struct reg_meta keep = { "keep", "1" };
    CHECK(r->ops->meta_put(r, REG_META_VOLUME, v.id, &keep) == 0);
    r->ops->close(r);
    char path[128];
    snprintf(path, sizeof path, "%s/reg.db", dir);
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_open(path, &h) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(h, "PRAGMA page_count", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    page_limit = sqlite3_column_int(st, 0) + 2;
    sqlite3_finalize(st);
    sqlite3_close(h);
    CHECK(sqlite3_auto_extension((void (*)(void))limit_pages) == SQLITE_OK);
    r = open_reg();
    struct api_error e = { 0 };
    CHECK(put_many(r, v.id, 100, &e) < 0);
    CHECK(e.status == 507);
    CHECK_CONTAINS(e.msg, "registry: ");
    CHECK_CONTAINS(e.msg, "database or disk is full");
    CHECK(strstr(e.msg, "no transaction is active") == NULL);
    CHECK(r->ops->last_error_kind(r) == REG_ERR_FULL);
    CHECK_CONTAINS(r->ops->last_error(r), "database or disk is full");
    struct reg_meta *items = NULL;
    size_t n = 0;
    CHECK(r->ops->meta_list(r, REG_META_VOLUME, v.id, &items, &n) == 0);
    CHECK(n == 1);
    CHECK_STR(items[0].key, "keep");
    free(items);
    /* a transaction that fits still commits */
    CHECK(put_many(r, v.id, 1, &e) == 0);
    r->ops->close(r);
    sqlite3_reset_auto_extension();
    cleanup();
}

/* Another thread's write, outside any transaction. */
static void *rename_server(void *arg)
{
    struct registry *r = arg;
    struct reg_server s;
    CHECK(r->ops->server_get(r, "11111111-1111-4111-8111-111111111111", &s) == 0);
    strcpy(s.name, "theirs");
    CHECK(r->ops->server_update(r, &s) == 0);
    return NULL;
}

static void rename_elsewhere(struct registry *r)
{
    pthread_t t;
    CHECK(pthread_create(&t, NULL, rename_server, r) == 0);
    CHECK(pthread_join(t, NULL) == 0);
}

/* A read scope (one a request): its reads see one state, other threads'
 * commits after it began are not in it, and its own thread's writes
 * (alone or in a transaction) are, as soon as they are committed. Outside
 * a scope every read sees the latest state. */
static void read_scope_one_snapshot_sees_own_writes(void)
{
    /* PostgreSQL: each statement reads its own snapshot, except that the
     * scope keeps its view of a server (with its attachments) until the
     * thread writes or opens a transaction */
    bool snapshots = !unit_db_is_postgres();
    struct registry *r = open_reg();
    struct reg_server s, got;
    struct reg_volume v, gv;
    seed(r, &s, &v);
    CHECK(r->ops->read_begin(r) == 0);
    CHECK(r->ops->server_get(r, s.id, &got) == 0);
    CHECK_STR(got.name, "srv");
    rename_elsewhere(r);
    CHECK(r->ops->server_get(r, s.id, &got) == 0);
    CHECK_STR(got.name, "srv");
    /* its own write, committed alone */
    strcpy(got.name, "mine");
    CHECK(r->ops->server_update(r, &got) == 0);
    CHECK(r->ops->server_get(r, s.id, &got) == 0);
    CHECK_STR(got.name, "mine");
    /* its own transaction: read inside it, then after the commit */
    {
        struct api_error e = { 0 };
        REG_TXN(txn, r);
        CHECK(reg_begin(&txn, &e) == 0);
        strcpy(v.status, "reserved");
        CHECK(r->ops->volume_update(r, &v) == 0);
        CHECK(r->ops->volume_get(r, v.id, &gv) == 0);
        CHECK_STR(gv.status, "reserved");
        CHECK(reg_commit(&txn, &e) == 0);
    }
    CHECK(r->ops->volume_get(r, v.id, &gv) == 0);
    CHECK_STR(gv.status, "reserved");
    /* scopes nest: the inner end keeps the outer's state */
    CHECK(r->ops->read_begin(r) == 0);
    r->ops->read_end(r);
    rename_elsewhere(r);
    CHECK(r->ops->server_get(r, s.id, &got) == 0);
    CHECK_STR(got.name, snapshots ? "mine" : "theirs");
    r->ops->read_end(r);
    CHECK(r->ops->server_get(r, s.id, &got) == 0);
    CHECK_STR(got.name, "theirs");
    r->ops->close(r);
    cleanup();
}

/* In a read scope a server's attachments read after the server agree with
 * it (PostgreSQL reads both in one statement): the list in order, a show
 * of an attached volume, none for another, a server without attachments
 * and one that does not exist; the thread's own write is seen at once. */
static void read_scope_server_and_attachments(void)
{
    struct registry *r = open_reg();
    struct reg_server s, got;
    struct reg_volume v, v2;
    seed(r, &s, &v);
    v2 = v;
    snprintf(v2.id, sizeof v2.id, "33333333-3333-4333-8333-333333333333");
    strcpy(v2.path, "/y");
    CHECK(r->ops->volume_insert(r, &v2) == 0);
    struct reg_attachment a;
    memset(&a, 0, sizeof a);
    strcpy(a.server_id, s.id);
    strcpy(a.connection_info, "{}");
    const char *devs[] = { "/dev/vdc", "/dev/vdb" };
    const char *vols[] = { v.id, v2.id };
    for (int i = 0; i < 2; i++) {
        snprintf(a.id, sizeof a.id, "a%d", i);
        strcpy(a.volume_id, vols[i]);
        strcpy(a.device, devs[i]);
        strcpy(a.created_at, "2026-01-01T00:00:00.000000");
        CHECK(r->ops->attachment_insert(r, &a) == 0);
    }
    CHECK(r->ops->read_begin(r) == 0);
    CHECK(r->ops->server_get(r, s.id, &got) == 0);
    CHECK_STR(got.name, "srv");
    struct reg_attachment *atts = NULL, one;
    size_t n = 0;
    CHECK(r->ops->attachment_list(r, s.id, &atts, &n) == 0);
    CHECK(n == 2);
    CHECK_STR(atts[0].device, "/dev/vdb"); /* created together: by device */
    CHECK_STR(atts[1].device, "/dev/vdc");
    CHECK_STR(atts[1].connection_info, "{}");
    free(atts);
    CHECK(r->ops->attachment_get(r, s.id, v2.id, &one) == 0);
    CHECK_STR(one.id, "a1");
    CHECK(r->ops->attachment_get(r, s.id, "44444444-4444-4444-8444-444444444444", &one) == 1);
    /* its own write: the next read sees it */
    CHECK(r->ops->attachment_delete(r, "a0") == 0);
    CHECK(r->ops->attachment_list(r, s.id, &atts, &n) == 0);
    CHECK(n == 1);
    free(atts);
    CHECK(r->ops->server_get(r, "55555555-5555-4555-8555-555555555555", &got) == 1);
    r->ops->read_end(r);
    /* a server without attachments */
    CHECK(r->ops->attachment_delete(r, "a1") == 0);
    CHECK(r->ops->read_begin(r) == 0);
    CHECK(r->ops->server_get(r, s.id, &got) == 0);
    atts = NULL;
    CHECK(r->ops->attachment_list(r, s.id, &atts, &n) == 0);
    CHECK(n == 0);
    free(atts);
    CHECK(r->ops->attachment_get(r, s.id, v.id, &one) == 1);
    r->ops->read_end(r);
    r->ops->close(r);
    cleanup();
}

/* A server and its attachments' views in one read: in their list order,
 * only a volume's when asked, 1 for no server; the same in a read scope
 * hinted at the server, whose token look-up may read them first, and
 * whose token answer stays the token's (a missing one is missing). */
static void server_view_in_one_read(void)
{
    struct registry *r = open_reg();
    struct reg_server s, got;
    struct reg_volume v, v2;
    seed(r, &s, &v);
    v2 = v;
    snprintf(v2.id, sizeof v2.id, "33333333-3333-4333-8333-333333333333");
    strcpy(v2.path, "/y");
    CHECK(r->ops->volume_insert(r, &v2) == 0);
    struct reg_attachment_view *views = NULL;
    size_t n = 9;
    CHECK(r->ops->server_view(r, s.id, NULL, &got, &views, &n) == 0);
    CHECK(n == 0 && !views);
    CHECK_STR(got.name, "srv");
    struct reg_attachment a;
    memset(&a, 0, sizeof a);
    strcpy(a.server_id, s.id);
    strcpy(a.connection_info, "{\"x\": 1}");
    strcpy(a.created_at, "2026-01-01T00:00:00.000000");
    const char *devs[] = { "/dev/vdc", "/dev/vdb" };
    const char *vols[] = { v.id, v2.id };
    for (int i = 0; i < 2; i++) {
        snprintf(a.id, sizeof a.id, "a%d", i);
        snprintf(a.bdm_uuid, sizeof a.bdm_uuid, "b%d", i);
        strcpy(a.volume_id, vols[i]);
        strcpy(a.device, devs[i]);
        strcpy(a.tag, i ? "t1" : "");
        a.delete_on_termination = i == 1;
        CHECK(r->ops->attachment_insert(r, &a) == 0);
    }
    struct reg_token t = { .id_hash = "tok", .auth = "{}", .expires = 4000000000 }, tg;
    CHECK(r->ops->token_put(r, &t) == 0);
    for (int pass = 0; pass < 4; pass++) {
        /* 0: no scope; 1: a scope; 2: hinted, the token found; 3: hinted,
         * the token missing */
        if (pass > 0)
            CHECK(r->ops->read_begin(r) == 0);
        if (pass > 1) {
            r->ops->read_hint_server(r, s.id);
            CHECK(r->ops->token_get(r, pass == 2 ? "tok" : "nope", &tg) == (pass == 2 ? 0 : 1));
            if (pass == 2)
                CHECK(tg.expires == 4000000000);
        }
        memset(&got, 0, sizeof got);
        CHECK(r->ops->server_view(r, s.id, NULL, &got, &views, &n) == 0);
        CHECK_STR(got.id, s.id);
        CHECK_STR(got.vm_state, "active");
        CHECK(n == 2);
        CHECK_STR(views[0].device, "/dev/vdb"); /* created together: by device */
        CHECK_STR(views[0].id, "a1");
        CHECK_STR(views[0].bdm_uuid, "b1");
        CHECK_STR(views[0].server_id, s.id);
        CHECK_STR(views[0].volume_id, v2.id);
        CHECK_STR(views[0].tag, "t1");
        CHECK(views[0].delete_on_termination);
        CHECK_STR(views[1].device, "/dev/vdc");
        CHECK_STR(views[1].tag, "");
        CHECK(!views[1].delete_on_termination);
        free(views);
        CHECK(r->ops->server_view(r, s.id, v.id, &got, &views, &n) == 0);
        CHECK(n == 1);
        CHECK_STR(views[0].id, "a0");
        free(views);
        CHECK(r->ops->server_view(r, s.id, "44444444-4444-4444-8444-444444444444", &got, &views,
                                  &n) == 0);
        CHECK(n == 0 && !views);
        CHECK(r->ops->server_view(r, "55555555-5555-4555-8555-555555555555", NULL, &got, &views,
                                  &n) == 1);
        CHECK(n == 0 && !views);
        if (pass > 0)
            r->ops->read_end(r);
    }
    /* a hint at a server that is not there answers nothing wrong */
    CHECK(r->ops->read_begin(r) == 0);
    r->ops->read_hint_server(r, "55555555-5555-4555-8555-555555555555");
    CHECK(r->ops->token_get(r, "tok", &tg) == 0);
    CHECK(r->ops->server_view(r, "55555555-5555-4555-8555-555555555555", NULL, &got, &views,
                              &n) == 1);
    r->ops->read_end(r);
    r->ops->close(r);
    cleanup();
}

static const struct unit_case cases[] = {
    { "server-view-in-one-read", server_view_in_one_read },
    { "transaction-guard", transaction_guard },
    { "read-scope-server-and-attachments", read_scope_server_and_attachments },
    { "disk-full-keeps-its-error", disk_full_keeps_its_error },
    { "metadata", metadata },
    { "upgrade-from-schema-2", upgrade_from_schema_2 },
    { "keypairs", keypairs },
    { "images", images },
    { "image-members", image_members },
    { "metadefs", metadefs },
    { "tokens", tokens },
    { "roundtrip", roundtrip },
    { "foreign-keys", foreign_keys },
    { "transactions", transactions },
    { "reopen-keeps-records", reopen_keeps_records },
    { "transition-apply", transition_apply },
    { "bad-path", bad_path },
    { "read-scope-one-snapshot-sees-own-writes", read_scope_one_snapshot_sees_own_writes },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    return unit_main(argc, argv, cases);
}
