/* Unit tests of the hierarchical dirty bitmap. One program, one scenario per
 * invocation ("test-hbitmap NAME"), so Meson lists and runs each scenario on
 * its own. The model test checks every operation against a plain array of
 * booleans, including the level invariant after every step. */
#include "../../../src/common/hbitmap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define TiB (1024 * GiB)

static void test_empty(void)
{
    struct hbitmap *hb = hbitmap_new(1 * GiB, 64 * KiB);

    CHECK(hb);
    CHECK(hbitmap_empty(hb));
    CHECK_EQ(hbitmap_count(hb), 0);
    CHECK_EQ(hbitmap_next_dirty(hb, 0, 1 * GiB), -1);
    CHECK_EQ(hbitmap_next_zero(hb, 0, 1 * GiB), 0);
    CHECK(!hbitmap_get(hb, 0));
    CHECK(hbitmap_check(hb));
    hbitmap_free(hb);
}

static void test_zero_size(void)
{
    struct hbitmap *hb = hbitmap_new(0, 512);
    uint64_t off = 0, len = 0;

    CHECK(hb);
    hbitmap_set(hb, 0, 4096);
    CHECK(hbitmap_empty(hb));
    CHECK_EQ(hbitmap_next_dirty(hb, 0, 100), -1);
    CHECK(!hbitmap_next_dirty_area(hb, &off, &len, 100, 100));
    CHECK(hbitmap_check(hb));
    hbitmap_free(hb);
}

/* A write of one byte dirties its whole granule; a write straddling two
 * granules dirties both. */
static void test_set_partial_granules(void)
{
    struct hbitmap *hb = hbitmap_new(1 * MiB, 4 * KiB);

    hbitmap_set(hb, 4 * KiB + 7, 1);
    CHECK(hbitmap_get(hb, 4 * KiB));
    CHECK(hbitmap_get(hb, 8 * KiB - 1));
    CHECK(!hbitmap_get(hb, 8 * KiB));
    CHECK_EQ(hbitmap_count(hb), 4 * KiB);
    hbitmap_set(hb, 16 * KiB - 1, 2);
    CHECK_EQ(hbitmap_count(hb), 12 * KiB);
    CHECK_EQ(hbitmap_next_dirty(hb, 0, 1 * MiB), 4 * KiB);
    CHECK_EQ(hbitmap_next_dirty(hb, 5 * KiB, 1 * MiB), 5 * KiB);
    CHECK_EQ(hbitmap_next_dirty(hb, 8 * KiB, 1 * MiB), 12 * KiB);
    CHECK(hbitmap_check(hb));
    hbitmap_free(hb);
}

/* Resetting part of a word must keep the neighbours and the summary bit. */
static void test_reset_keeps_neighbours(void)
{
    struct hbitmap *hb = hbitmap_new(64 * MiB, 512);

    hbitmap_set(hb, 0, 64 * 512);           /* one full leaf word */
    hbitmap_reset(hb, 512, 512);
    CHECK(hbitmap_get(hb, 0));
    CHECK(!hbitmap_get(hb, 512));
    CHECK(hbitmap_get(hb, 1024));
    CHECK_EQ(hbitmap_count(hb), 63 * 512);
    CHECK(hbitmap_check(hb));
    hbitmap_reset(hb, 0, 64 * 512);
    CHECK(hbitmap_empty(hb));
    CHECK(hbitmap_check(hb));
    CHECK_EQ(hbitmap_next_dirty(hb, 0, 64 * MiB), -1);
    hbitmap_free(hb);
}

/* Size not a multiple of the granularity: the last granule counts only its
 * real bytes, and a reset up to the size is allowed unaligned. */
static void test_unaligned_size(void)
{
    struct hbitmap *hb = hbitmap_new(10 * KiB + 100, 4 * KiB);

    hbitmap_set_all(hb);
    CHECK_EQ(hbitmap_count(hb), 10 * KiB + 100);
    CHECK(hbitmap_get(hb, 10 * KiB + 99));
    CHECK(!hbitmap_get(hb, 10 * KiB + 100));
    hbitmap_reset(hb, 8 * KiB, 2 * KiB + 100);
    CHECK_EQ(hbitmap_count(hb), 8 * KiB);
    hbitmap_set(hb, 10 * KiB + 50, 1 * MiB); /* clipped at the end */
    CHECK_EQ(hbitmap_count(hb), 8 * KiB + 2 * KiB + 100);
    CHECK(hbitmap_check(hb));
    hbitmap_free(hb);
}

/* Two dirty granules at the two ends of 1 TiB: finding the second from the
 * first must go through the summary levels (this also shows the bitmap of a
 * large volume is cheap: 16 Mi bits). */
static void test_sparse_far_apart(void)
{
    struct hbitmap *hb = hbitmap_new(1 * TiB, 64 * KiB);
    struct hbitmap_iter it;

    CHECK(hb);
    hbitmap_set(hb, 0, 1);
    hbitmap_set(hb, 1 * TiB - 1, 1);
    CHECK_EQ(hbitmap_next_dirty(hb, 64 * KiB, 1 * TiB), 1 * TiB - 64 * KiB);
    CHECK_EQ(hbitmap_next_dirty(hb, 64 * KiB, 1 * TiB - 128 * KiB), -1);
    hbitmap_iter_init(&it, hb, 0);
    CHECK_EQ(hbitmap_iter_next(&it), 0);
    CHECK_EQ(hbitmap_iter_next(&it), 1 * TiB - 64 * KiB);
    CHECK_EQ(hbitmap_iter_next(&it), -1);
    CHECK_EQ(hbitmap_count(hb), 128 * KiB);
    CHECK(hbitmap_check(hb));
    hbitmap_free(hb);
}

static void test_next_zero(void)
{
    struct hbitmap *hb = hbitmap_new(1 * MiB, 4 * KiB);

    hbitmap_set(hb, 0, 512 * KiB);
    CHECK_EQ(hbitmap_next_zero(hb, 0, 1 * MiB), 512 * KiB);
    CHECK_EQ(hbitmap_next_zero(hb, 100, 1 * MiB), 512 * KiB);
    CHECK_EQ(hbitmap_next_zero(hb, 0, 256 * KiB), -1);
    CHECK_EQ(hbitmap_next_zero(hb, 600 * KiB, 1 * MiB), 600 * KiB);
    hbitmap_set_all(hb);
    CHECK_EQ(hbitmap_next_zero(hb, 0, 1 * MiB), -1);
    hbitmap_free(hb);
}

/* A dirty area stops at a clean granule, at max_len and at end. */
static void test_next_dirty_area(void)
{
    struct hbitmap *hb = hbitmap_new(16 * MiB, 64 * KiB);
    uint64_t off, len;

    hbitmap_set(hb, 1 * MiB, 3 * MiB);
    off = 0;
    CHECK(hbitmap_next_dirty_area(hb, &off, &len, 16 * MiB, 16 * MiB));
    CHECK_EQ(off, 1 * MiB);
    CHECK_EQ(len, 3 * MiB);
    off = 0;
    CHECK(hbitmap_next_dirty_area(hb, &off, &len, 16 * MiB, 1 * MiB));
    CHECK_EQ(off, 1 * MiB);
    CHECK_EQ(len, 1 * MiB);
    off = 0;
    CHECK(hbitmap_next_dirty_area(hb, &off, &len, 2 * MiB, 16 * MiB));
    CHECK_EQ(len, 1 * MiB);
    off = 2 * MiB + 4096;   /* starts inside a dirty granule: clipped */
    CHECK(hbitmap_next_dirty_area(hb, &off, &len, 16 * MiB, 16 * MiB));
    CHECK_EQ(off, 2 * MiB + 4096);
    CHECK_EQ(len, 2 * MiB - 4096);
    off = 4 * MiB;
    CHECK(!hbitmap_next_dirty_area(hb, &off, &len, 16 * MiB, 16 * MiB));
    CHECK_EQ(off, 4 * MiB);
    hbitmap_free(hb);
}

/* The iterator sees granules set ahead of it, not those set behind. */
static void test_iter_with_changes(void)
{
    struct hbitmap *hb = hbitmap_new(1 * MiB, 4 * KiB);
    struct hbitmap_iter it;
    uint64_t off, len;

    hbitmap_set(hb, 8 * KiB, 4 * KiB);
    hbitmap_iter_init(&it, hb, 0);
    CHECK_EQ(hbitmap_iter_next(&it), 8 * KiB);
    hbitmap_set(hb, 0, 4 * KiB);
    hbitmap_set(hb, 100 * KiB, 8 * KiB);
    CHECK_EQ(hbitmap_iter_next(&it), 100 * KiB);
    CHECK_EQ(hbitmap_iter_next(&it), 104 * KiB);
    CHECK_EQ(hbitmap_iter_next(&it), -1);
    hbitmap_iter_init(&it, hb, 0);
    CHECK(hbitmap_iter_next_area(&it, 1 * MiB, &off, &len));
    CHECK_EQ(off, 0);
    CHECK_EQ(len, 4 * KiB);
    CHECK(hbitmap_iter_next_area(&it, 1 * MiB, &off, &len));
    CHECK_EQ(off, 8 * KiB);
    CHECK(hbitmap_iter_next_area(&it, 4 * KiB, &off, &len));
    CHECK_EQ(off, 100 * KiB);
    CHECK_EQ(len, 4 * KiB);
    CHECK(hbitmap_iter_next_area(&it, 1 * MiB, &off, &len));
    CHECK_EQ(off, 104 * KiB);
    CHECK(!hbitmap_iter_next_area(&it, 1 * MiB, &off, &len));
    hbitmap_free(hb);
}

static void test_truncate(void)
{
    struct hbitmap *hb = hbitmap_new(1 * MiB, 4 * KiB);

    hbitmap_set(hb, 0, 1 * MiB);
    CHECK_EQ(hbitmap_truncate(hb, 64 * MiB), 0);   /* grows by levels */
    CHECK(hbitmap_check(hb));
    CHECK_EQ(hbitmap_count(hb), 1 * MiB);           /* new space clean */
    CHECK_EQ(hbitmap_next_dirty(hb, 1 * MiB, 64 * MiB), -1);
    hbitmap_set(hb, 63 * MiB, 1);
    CHECK_EQ(hbitmap_truncate(hb, 10 * KiB + 1), 0); /* shrinks */
    CHECK(hbitmap_check(hb));
    CHECK_EQ(hbitmap_size(hb), 10 * KiB + 1);
    CHECK_EQ(hbitmap_count(hb), 10 * KiB + 1);
    CHECK_EQ(hbitmap_truncate(hb, 0), 0);
    CHECK(hbitmap_check(hb));
    CHECK(hbitmap_empty(hb));
    CHECK_EQ(hbitmap_truncate(hb, 256 * KiB), 0);
    CHECK(hbitmap_empty(hb));
    CHECK(hbitmap_check(hb));
    hbitmap_free(hb);
}

/* A bitmap too large for memory is an error, not an abort. */
static void test_alloc_failure(void)
{
    CHECK(hbitmap_new(UINT64_MAX / 2, 1) == NULL);
}

/* Randomised operations against a byte-per-granule model. */
static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(uint64_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? rng_state % n : 0;
}

static void model_round(uint64_t size, uint64_t gran, int steps)
{
    struct hbitmap *hb = hbitmap_new(size, gran);
    uint64_t ng = (size + gran - 1) / gran;
    unsigned char *m = calloc(ng ? ng : 1, 1);

    for (int s = 0; s < steps; s++) {
        int op = (int)rnd(6);
        uint64_t a = rnd(size + gran), len = rnd(size / 4 + 2);

        if (op == 0) {
            hbitmap_set(hb, a, len);
            if (len && a < size) {
                uint64_t e = a + len > size ? size : a + len;
                for (uint64_t g = a / gran; g <= (e - 1) / gran; g++)
                    m[g] = 1;
            }
        } else if (op == 1) {
            uint64_t g0 = rnd(ng + 1), n = rnd(ng - g0 + 1);
            uint64_t off = g0 * gran, l = n * gran;
            if (off + l > size)
                l = off < size ? size - off : 0;
            hbitmap_reset(hb, off, l);
            for (uint64_t g = g0; g < g0 + n && g < ng; g++)
                m[g] = 0;
        } else if (op == 2) {
            int64_t r = hbitmap_next_dirty(hb, a, len), want = -1;
            for (uint64_t p = a; p < size && p < a + len; p = (p / gran + 1) * gran)
                if (m[p / gran]) { want = (int64_t)p; break; }
            CHECK_EQ(r, want);
        } else if (op == 3) {
            int64_t r = hbitmap_next_zero(hb, a, len), want = -1;
            for (uint64_t p = a; p < size && p < a + len; p = (p / gran + 1) * gran)
                if (!m[p / gran]) { want = (int64_t)p; break; }
            CHECK_EQ(r, want);
        } else if (op == 4) {
            uint64_t off = a, l = 0, maxl = rnd(size) + 1;
            bool got = hbitmap_next_dirty_area(hb, &off, &l, size, maxl);
            int64_t first = -1;
            for (uint64_t p = a; p < size; p = (p / gran + 1) * gran)
                if (m[p / gran]) { first = (int64_t)p; break; }
            CHECK_EQ(got, first >= 0);
            if (got) {
                uint64_t e = (uint64_t)first;
                CHECK_EQ(off, first);
                while (e < size && e - (uint64_t)first < maxl && m[e / gran])
                    e = (e / gran + 1) * gran;
                if (e > size) e = size;
                if (e - (uint64_t)first > maxl) e = (uint64_t)first + maxl;
                CHECK_EQ(l, e - (uint64_t)first);
            }
        } else {
            uint64_t cnt = 0;
            for (uint64_t g = 0; g < ng; g++)
                if (m[g])
                    cnt += (g + 1) * gran > size ? size - g * gran : gran;
            CHECK_EQ(hbitmap_count(hb), cnt);
            for (uint64_t g = 0; g < ng; g++)
                CHECK_EQ(hbitmap_get(hb, g * gran), m[g]);
        }
        CHECK(hbitmap_check(hb));
    }
    free(m);
    hbitmap_free(hb);
}

static void test_model_random(void)
{
    /* Sizes chosen to cover one level, two and three levels, word edges
     * and an unaligned tail. */
    model_round(64 * 512, 512, 3000);
    model_round(65 * 512 + 3, 512, 3000);
    model_round(4096 * 512, 512, 3000);
    model_round(300000, 1, 2000);
    model_round(5 * MiB + 77, 1024, 1000);
}

static void test_model_truncate(void)
{
    struct hbitmap *hb = hbitmap_new(100 * 512, 512);
    uint64_t size = 100 * 512;

    for (int i = 0; i < 200; i++) {
        uint64_t ns = rnd(300000);
        uint64_t keep = ns < size ? ns : size;
        uint64_t before = 0;

        hbitmap_set(hb, rnd(size + 1), rnd(size / 2 + 1));
        /* Count of the part that survives, computed before the change: a
         * surviving granule counts up to the new size (a short last
         * granule that becomes whole on growth counts whole). */
        for (uint64_t p = 0; p < keep; p += 512)
            if (hbitmap_get(hb, p))
                before += p + 512 > ns ? ns - p : 512;
        CHECK_EQ(hbitmap_truncate(hb, ns), 0);
        size = ns;
        CHECK(hbitmap_check(hb));
        CHECK_EQ(hbitmap_count(hb), before);
    }
    hbitmap_free(hb);
}

static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
    { "empty", test_empty },
    { "zero-size", test_zero_size },
    { "set-partial-granules", test_set_partial_granules },
    { "reset-keeps-neighbours", test_reset_keeps_neighbours },
    { "unaligned-size", test_unaligned_size },
    { "sparse-far-apart", test_sparse_far_apart },
    { "next-zero", test_next_zero },
    { "next-dirty-area", test_next_dirty_area },
    { "iter-with-changes", test_iter_with_changes },
    { "truncate", test_truncate },
    { "alloc-failure", test_alloc_failure },
    { "model-random", test_model_random },
    { "model-truncate", test_model_truncate },
};

int main(int argc, char **argv)
{
    int ran = 0;

    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (argc > 1 && strcmp(argv[1], tests[i].name) != 0)
            continue;
        tests[i].fn();
        ran++;
    }
    if (!ran) {
        fprintf(stderr, "no test named %s\n", argc > 1 ? argv[1] : "");
        return 1;
    }
    return 0;
}
