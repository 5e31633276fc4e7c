/* The swap store (swap-store.c): records round-trip field for field, the
 * unfinished ones come back oldest first (recovery's order), the newest
 * record of a server/volume pair is found by either volume, a reopened
 * database keeps them, and phase names parse back to their phases. */
#include "swap/swap.h"
#include "../api/unit.h"

#include <unistd.h>

static char db[64];

static void setup(void)
{
    snprintf(db, sizeof db, "/tmp/swap-store-XXXXXX");
    int fd = mkstemp(db);
    CHECK(fd >= 0);
    close(fd);
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
    struct swap_store *s = swap_store_open(db, &e);
    CHECK(s);
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
    swap_store_close(s);
    teardown();
}

static void unfinished_in_order(void)
{
    setup();
    struct api_error e = { 0 };
    struct swap_store *s = swap_store_open(db, &e);
    CHECK(s);
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
    swap_store_close(s);
    teardown();
}

static void reopen_keeps(void)
{
    setup();
    struct api_error e = { 0 };
    struct swap_store *s = swap_store_open(db, &e);
    CHECK(s);
    struct swap_rec r = rec("req-1", "srv", "A", "B", SP_READY);
    CHECK(swap_store_insert(s, &r, &e) == 0);
    swap_store_close(s);
    s = swap_store_open(db, &e);
    CHECK(s);
    struct swap_rec *u = NULL;
    size_t n = 0;
    CHECK(swap_store_unfinished(s, &u, &n, &e) == 0);
    CHECK(n == 1 && u[0].phase == SP_READY);
    free(u);
    swap_store_close(s);
    teardown();
}

static void bad_path(void)
{
    struct api_error e = { 0 };
    CHECK(swap_store_open("/nonexistent-dir/x/db", &e) == NULL);
    CHECK(e.status == 500);
    CHECK_CONTAINS(e.msg, "swap store");
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

int main(int argc, char **argv)
{
    static const struct unit_case cases[] = {
        { "roundtrip", roundtrip },       { "unfinished-in-order", unfinished_in_order },
        { "reopen-keeps", reopen_keeps }, { "bad-path", bad_path },
        { "phase-names", phase_names },   { NULL, NULL },
    };
    return unit_main(argc, argv, cases);
}
