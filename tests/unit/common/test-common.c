/* Unit tests of src/common: the keyval parser and the event loop (bottom
 * halves, timers, the worker pool, an io_uring round trip). One scenario
 * per test; the scenario's name is argv[1]. */
#include "common.h"

#include <jansson.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"

static json_t *kv(const char *s, const char *implied, struct vs_error *err)
{
    return vs_keyval_parse(s, implied, err);
}

static void keyval_implied_key(void)
{
    struct vs_error err = { 0 };
    json_t *o = kv("file,node-name=vol0,filename=/x", "driver", &err);
    CHECK(o);
    CHECK(!strcmp(json_string_value(json_object_get(o, "driver")), "file"));
    CHECK(!strcmp(json_string_value(json_object_get(o, "node-name")), "vol0"));
    CHECK(!strcmp(json_string_value(json_object_get(o, "filename")), "/x"));
    json_decref(o);
}

static void keyval_nested_dotted(void)
{
    struct vs_error err = { 0 };
    json_t *o = kv("cache.direct=on,cache.no-flush=off", NULL, &err);
    CHECK(o);
    json_t *c = json_object_get(o, "cache");
    CHECK(json_is_object(c));
    CHECK(!strcmp(json_string_value(json_object_get(c, "direct")), "on"));
    CHECK(!strcmp(json_string_value(json_object_get(c, "no-flush")), "off"));
    json_decref(o);
}

static void keyval_escaped_comma(void)
{
    struct vs_error err = { 0 };
    json_t *o = kv("filename=/a,,b,x=1", NULL, &err);
    CHECK(o);
    CHECK(!strcmp(json_string_value(json_object_get(o, "filename")), "/a,b"));
    json_decref(o);
}

static void keyval_duplicate_key_is_error(void)
{
    struct vs_error err = { 0 };
    CHECK(kv("a=1,a=2", NULL, &err) == NULL);
    CHECK(err.set && strstr(err.msg, "more than once"));
}

static void keyval_bare_word_without_implied_key_is_error(void)
{
    struct vs_error err = { 0 };
    CHECK(kv("x=1,bare", NULL, &err) == NULL);
    CHECK(err.set && strstr(err.msg, "bare"));
}

static void keyval_key_conflicts_with_object(void)
{
    struct vs_error err = { 0 };
    CHECK(kv("a=1,a.b=2", NULL, &err) == NULL);
    CHECK(err.set);
}

/* ---- loop ---- */

static int order[8];
static int norder;

struct tagged_bh { struct vs_bh bh; int tag; };

static void record_bh(struct vs_bh *bh)
{
    order[norder++] = vs_container_of(bh, struct tagged_bh, bh)->tag;
}

static void bh_runs_later_in_order(void)
{
    struct vs_loop *loop = vs_loop_new(8, 1);
    struct tagged_bh a = { { record_bh }, 1 }, b = { { record_bh }, 2 };
    vs_loop_defer(loop, &a.bh);
    vs_loop_defer(loop, &b.bh);
    vs_loop_defer(loop, &a.bh); /* already queued: runs once */
    CHECK(norder == 0);
    vs_loop_run_once(loop, 0);
    CHECK(norder == 2 && order[0] == 1 && order[1] == 2);
    vs_loop_free(loop);
}

struct tagged_timer { struct vs_timer t; int tag; };

static void record_timer(struct vs_timer *t)
{
    order[norder++] = vs_container_of(t, struct tagged_timer, t)->tag;
}

static void timers_fire_in_deadline_order(void)
{
    struct vs_loop *loop = vs_loop_new(8, 1);
    struct tagged_timer a = { { record_timer }, 1 }, b = { { record_timer }, 2 },
                        c = { { record_timer }, 3 };
    vs_timer_arm(loop, &a.t, 30 * 1000000);
    vs_timer_arm(loop, &b.t, 10 * 1000000);
    vs_timer_arm(loop, &c.t, 20 * 1000000);
    vs_timer_cancel(loop, &c.t);
    uint64_t start = vs_now_ns();
    while (norder < 2 && vs_now_ns() - start < 2000000000ull)
        vs_loop_run_once(loop, UINT64_MAX);
    CHECK(norder == 2 && order[0] == 2 && order[1] == 1);
    CHECK(!c.t.armed);
    vs_loop_free(loop);
}

struct work_item {
    struct vs_work w;
    pthread_t ran_on, done_on;
    bool done;
};

static void work_run(struct vs_work *w)
{
    vs_container_of(w, struct work_item, w)->ran_on = pthread_self();
}

static void work_done(struct vs_work *w)
{
    struct work_item *it = vs_container_of(w, struct work_item, w);
    it->done_on = pthread_self();
    it->done = true;
}

static void offload_done_runs_on_loop_thread(void)
{
    struct vs_loop *loop = vs_loop_new(8, 2);
    struct work_item items[4];
    memset(items, 0, sizeof(items));
    for (int i = 0; i < 4; i++) {
        items[i].w.run = work_run;
        items[i].w.done = work_done;
        vs_loop_offload(loop, &items[i].w);
    }
    uint64_t start = vs_now_ns();
    bool all = false;
    while (!all && vs_now_ns() - start < 5000000000ull) {
        vs_loop_run_once(loop, 100 * 1000000);
        all = true;
        for (int i = 0; i < 4; i++)
            all = all && items[i].done;
    }
    CHECK(all);
    for (int i = 0; i < 4; i++) {
        CHECK(pthread_equal(items[i].done_on, pthread_self()));
        CHECK(!pthread_equal(items[i].ran_on, pthread_self()));
    }
    vs_loop_free(loop);
}

static int nop_res = 1;

static void nop_cb(struct vs_completion *c, int res, unsigned flags)
{
    nop_res = res;
}

static void uring_nop_completes_through_callback(void)
{
    struct vs_loop *loop = vs_loop_new(8, 1);
    struct vs_completion c = { nop_cb };
    io_uring_prep_nop(vs_loop_sqe(loop, &c));
    CHECK(vs_loop_inflight(loop) == 1);
    for (int i = 0; i < 100 && nop_res == 1; i++)
        vs_loop_run_once(loop, 10 * 1000000);
    CHECK(nop_res == 0);
    CHECK(vs_loop_inflight(loop) == 0);
    vs_loop_free(loop);
}

/* Messages from several threads to a loop of its own thread: each runs on
 * that loop's thread, all of them, and each poster's in the order posted. */
#define POSTERS 3
#define PER_POSTER 20000

struct tmsg {
    struct vs_msg m;
    unsigned poster, seq;
};

static unsigned next_seq[POSTERS];
static unsigned received;
static bool order_ok = true, thread_ok = true;
static pthread_t loop_thread;
static bool have_loop_thread;

static void tmsg_fn(struct vs_msg *m)
{
    struct tmsg *t = vs_container_of(m, struct tmsg, m);
    if (!have_loop_thread) {
        loop_thread = pthread_self();
        have_loop_thread = true;
    }
    if (!pthread_equal(loop_thread, pthread_self()))
        thread_ok = false;
    if (t->seq != next_seq[t->poster])
        order_ok = false;
    next_seq[t->poster] = t->seq + 1;
    received++;
    free(t);
}

static struct vs_loop *post_target;

static void *poster_main(void *opaque)
{
    unsigned p = (unsigned)(uintptr_t)opaque;
    for (unsigned i = 0; i < PER_POSTER; i++) {
        struct tmsg *t = vs_zalloc(sizeof(*t));
        t->m.fn = tmsg_fn;
        t->poster = p;
        t->seq = i;
        vs_loop_post(post_target, &t->m);
    }
    return NULL;
}

static void post_runs_on_loop_thread_in_order_per_poster(void)
{
    post_target = vs_loop_spawn(8, 1, 1);
    CHECK(post_target && vs_loop_index(post_target) == 1);
    pthread_t th[POSTERS];
    for (unsigned p = 0; p < POSTERS; p++)
        pthread_create(&th[p], NULL, poster_main, (void *)(uintptr_t)p);
    for (unsigned p = 0; p < POSTERS; p++)
        pthread_join(th[p], NULL);
    /* Join runs what was posted before it. */
    vs_loop_join(post_target);
    CHECK(received == POSTERS * PER_POSTER);
    CHECK(order_ok);
    CHECK(thread_ok && !pthread_equal(loop_thread, pthread_self()));
}

static void error_first_cause_wins(void)
{
    struct vs_error err = { 0 };
    vs_error_set(&err, VS_ERR_DEVICE_NOT_FOUND, "first %d", 1);
    vs_error_set(&err, VS_ERR_GENERIC, "second");
    CHECK(err.cls == VS_ERR_DEVICE_NOT_FOUND && !strcmp(err.msg, "first 1"));
    CHECK(!strcmp(vs_errclass_name(err.cls), "DeviceNotFound"));
    vs_error_set(NULL, VS_ERR_GENERIC, "ignored");
}

/* vs_json_dump writes what json_dumps(JSON_COMPACT) writes, for every kind
 * of value: escapes, UTF-8, reals in every notation, nesting, key order. */
static void same_as_jansson(json_t *j)
{
    char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    struct vs_buf b = { 0 };
    vs_buf_puts(&b, "x");
    CHECK(vs_json_dump(&b, j) == 0);
    if (strcmp(b.data + 1, want) != 0)
        fprintf(stderr, "want %s\ngot  %s\n", want, b.data + 1);
    CHECK(strcmp(b.data + 1, want) == 0);
    CHECK(b.len == strlen(want) + 1);
    free(want);
    vs_buf_free(&b);
    json_decref(j);
}

static void json_dump_matches_jansson(void)
{
    static const double reals[] = { 0.0,
                                    -0.0,
                                    1.0,
                                    0.1,
                                    -2.5,
                                    1e20,
                                    1e21,
                                    1.5e-7,
                                    123456789012345678.0,
                                    3.141592653589793,
                                    1e300,
                                    -1e-300,
                                    2.0e-5 };
    for (size_t i = 0; i < VS_ARRAY_SIZE(reals); i++)
        same_as_jansson(json_real(reals[i]));
    same_as_jansson(json_integer(-9223372036854775807LL - 1));
    same_as_jansson(json_string("quote\" back\\ slash/ nl\n cr\r tab\t bs\b ff\f \x01\x1f\x7f"));
    same_as_jansson(json_string("caf\xc3\xa9 \xe6\x9c\x8d \xf0\x9f\x98\x80"));
    same_as_jansson(json_stringn("nul\0inside", 11));
    same_as_jansson(json_pack("{s:[i,f,b,b,n,s], s:{}, s:[], s:{s:{s:s}}, s:s}", "list", 1, 2.5, 1,
                              0, "s", "empty", "arr", "deep", "a", "b", "c", "z", "last"));
    /* insertion order, not sorted */
    same_as_jansson(json_pack("{s:i, s:i, s:i}", "zz", 1, "aa", 2, "mm", 3));
}

static void json_dump_refuses_invalid_utf8_leaves_buffer(void)
{
    struct vs_buf b = { 0 };
    vs_buf_puts(&b, "kept");
    json_t *j = json_pack("{s:o}", "k", json_stringn_nocheck("a\xff", 2));
    CHECK(vs_json_dump(&b, j) == -1);
    CHECK(b.len == 4 && strcmp(b.data, "kept") == 0);
    CHECK(json_dumps(j, JSON_COMPACT) == NULL); /* as jansson */
    json_decref(j);
    vs_buf_free(&b);
}

static void buf_json_string_escapes_stray_bytes(void)
{
    struct vs_buf b = { 0 };
    CHECK(!vs_buf_json_string(&b, "a\xff\xc3\xa9\xed\xa0\x80", 7));
    CHECK(strcmp(b.data, "\"a\\u00FF\xc3\xa9\\u00ED\\u00A0\\u0080\"") == 0);
    json_error_t je;
    json_t *back = json_loads(b.data, JSON_DECODE_ANY, &je);
    CHECK(back);
    json_decref(back);
    vs_buf_free(&b);
    vs_buf_printf(&b, "%d-%s", 42, "x");
    for (int i = 0; i < 100; i++)
        vs_buf_printf(&b, "%0100d", i);
    CHECK(b.len == 4 + 100 * 100 && strncmp(b.data, "42-x", 4) == 0);
    size_t n = 0;
    char *s = vs_buf_steal(&b, &n);
    CHECK(n == 4 + 100 * 100 && b.data == NULL && b.len == 0);
    free(s);
}

static void utf8_overlong_and_surrogates_are_invalid(void)
{
    CHECK(vs_utf8_seq_len((const unsigned char *)"\xc0\xaf", 2) == 0);
    CHECK(vs_utf8_seq_len((const unsigned char *)"\xed\xa0\x80", 3) == 0);
    CHECK(vs_utf8_seq_len((const unsigned char *)"\xf4\x90\x80\x80", 4) == 0);
    CHECK(vs_utf8_seq_len((const unsigned char *)"\xe6\x9c\x8d", 2) == 0); /* cut */
    CHECK(vs_utf8_seq_len((const unsigned char *)"\xe6\x9c\x8d", 3) == 3);
    CHECK(vs_utf8_len("a\xe6\x9c\x8d\xff") == 3);
}

static const struct { const char *name; void (*fn)(void);
} tests[] = {
    { "keyval-implied-key", keyval_implied_key },
    { "keyval-nested-dotted", keyval_nested_dotted },
    { "keyval-escaped-comma", keyval_escaped_comma },
    { "keyval-duplicate-key-is-error", keyval_duplicate_key_is_error },
    { "keyval-bare-word-without-implied-key-is-error",
      keyval_bare_word_without_implied_key_is_error },
    { "keyval-key-conflicts-with-object", keyval_key_conflicts_with_object },
    { "bh-runs-later-in-order", bh_runs_later_in_order },
    { "timers-fire-in-deadline-order", timers_fire_in_deadline_order },
    { "offload-done-runs-on-loop-thread", offload_done_runs_on_loop_thread },
    { "uring-nop-completes-through-callback", uring_nop_completes_through_callback },
    { "error-first-cause-wins", error_first_cause_wins },
    { "post-runs-on-loop-thread-in-order-per-poster", post_runs_on_loop_thread_in_order_per_poster },
    { "json-dump-matches-jansson", json_dump_matches_jansson },
    { "json-dump-refuses-invalid-utf8-leaves-buffer",
      json_dump_refuses_invalid_utf8_leaves_buffer },
    { "buf-json-string-escapes-stray-bytes", buf_json_string_escapes_stray_bytes },
    { "utf8-overlong-and-surrogates-are-invalid", utf8_overlong_and_surrogates_are_invalid },
};

int main(int argc, char **argv)
{
    for (size_t i = 0; i < VS_ARRAY_SIZE(tests); i++) {
        if (argc > 1 && !strcmp(argv[1], tests[i].name)) {
            tests[i].fn();
            return 0;
        }
    }
    fprintf(stderr, "unknown test\n");
    return 2;
}
