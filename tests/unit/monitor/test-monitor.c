/* Unit tests of src/monitor: the session's streamer and envelope (through an
 * in-memory transport), the schema checker, the state snapshot and its
 * restore, and the generated reference. One scenario per name:
 * test-monitor NAME. */
#include "../../../src/monitor/monitor.h"

#include <stdlib.h>
#include <string.h>

#include "../check.h"

static struct vs_loop *loop;

/* ---- an in-memory transport: every line written, parsed ---------------- */

struct capture {
    json_t *msgs[256];
    size_t n;
    bool congested;
};
static struct capture cap;

static void cap_write(struct qmp_session *s, const char *data, size_t len)
{
    CHECK(len >= 2 && data[len - 2] == '\r' && data[len - 1] == '\n');
    json_error_t jerr;
    json_t *m = json_loadb(data, len - 2, 0, &jerr);
    CHECK(json_is_object(m));
    CHECK(cap.n < VS_ARRAY_SIZE(cap.msgs));
    cap.msgs[cap.n++] = m;
}

static bool cap_congested(struct qmp_session *s)
{
    return cap.congested;
}

static const struct qmp_session_ops cap_ops = { .write = cap_write, .congested = cap_congested };

static void cap_clear(void)
{
    for (size_t i = 0; i < cap.n; i++)
        json_decref(cap.msgs[i]);
    cap.n = 0;
}

static struct qmp_session *new_session(bool negotiate)
{
    struct qmp_session *s = qmp_session_new(loop, &cap_ops, NULL);
    qmp_session_greet(s);
    if (negotiate) {
        const char *m = "{\"execute\": \"qmp_capabilities\"}";
        CHECK(qmp_session_input(s, m, strlen(m)) == strlen(m));
    }
    cap_clear();
    return s;
}

static void feed(struct qmp_session *s, const char *text)
{
    CHECK(qmp_session_input(s, text, strlen(text)) == strlen(text));
}

static const char *err_class(size_t i)
{
    CHECK(i < cap.n);
    return json_string_value(json_object_get(json_object_get(cap.msgs[i], "error"), "class"));
}

static bool is_return(size_t i)
{
    return i < cap.n && json_object_get(cap.msgs[i], "return") != NULL;
}

/* ---- streamer ---------------------------------------------------------- */

static void t_split_several_per_read(void)
{
    struct qmp_session *s = new_session(true);
    feed(s, "{\"execute\":\"query-version\",\"id\":1}{\"execute\":\"query-commands\",\"id\":2}\n"
            "  {\"execute\":\"nope\",\"id\":3}");
    CHECK(cap.n == 3);
    for (int i = 0; i < 3; i++)
        CHECK(json_integer_value(json_object_get(cap.msgs[i], "id")) == i + 1);
    CHECK(strcmp(err_class(2), "CommandNotFound") == 0);
    qmp_session_free(s);
}

static void t_split_byte_at_a_time(void)
{
    struct qmp_session *s = new_session(true);
    const char *m = "{\n \"execute\" :\n \"query-version\" }";
    for (size_t i = 0; m[i]; i++) {
        CHECK(cap.n == 0);
        CHECK(qmp_session_input(s, m + i, 1) == 1);
    }
    CHECK(cap.n == 1 && is_return(0));
    qmp_session_free(s);
}

static void t_braces_in_strings(void)
{
    struct qmp_session *s = new_session(true);
    feed(s, "{\"execute\": \"x}}]]{{\\\"\", \"id\": \"{\"}");
    CHECK(cap.n == 1 && strcmp(err_class(0), "CommandNotFound") == 0);
    CHECK(strcmp(json_string_value(json_object_get(cap.msgs[0], "id")), "{") == 0);
    qmp_session_free(s);
}

static void t_oversize_message(void)
{
    struct qmp_session *s = new_session(true);
    size_t n = QMP_MAX_MESSAGE + 100;
    char *big = vs_malloc(n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    big[1] = '"';
    big[n - 2] = '"';
    big[n - 1] = '\n';
    big[n] = '\0';
    feed(s, big);
    free(big);
    CHECK(cap.n == 1 && strcmp(err_class(0), "GenericError") == 0);
    feed(s, "{\"execute\":\"query-version\"}");
    CHECK(cap.n == 2 && is_return(1));
    qmp_session_free(s);
}

static void t_nesting_limit(void)
{
    struct qmp_session *s = new_session(true);
    char buf[2 * (QMP_MAX_NESTING + 10) + 2];
    size_t k = 0;
    for (int i = 0; i < QMP_MAX_NESTING + 10; i++)
        buf[k++] = '[';
    for (int i = 0; i < QMP_MAX_NESTING + 10; i++)
        buf[k++] = ']';
    buf[k++] = '\n';
    buf[k] = '\0';
    feed(s, buf);
    CHECK(cap.n == 1 && strcmp(err_class(0), "GenericError") == 0);
    /* Just under the limit is only "not an object". */
    cap_clear();
    k = 0;
    for (int i = 0; i < QMP_MAX_NESTING; i++)
        buf[k++] = '[';
    for (int i = 0; i < QMP_MAX_NESTING; i++)
        buf[k++] = ']';
    buf[k] = '\0';
    feed(s, buf);
    CHECK(cap.n == 1 && strstr(json_string_value(json_object_get(
              json_object_get(cap.msgs[0], "error"), "desc")), "must be a JSON object"));
    qmp_session_free(s);
}

static void t_newline_in_string_recovers(void)
{
    struct qmp_session *s = new_session(true);
    feed(s, "{\"execute\": \"query-ver\n{\"execute\":\"query-version\"}\n");
    CHECK(cap.n == 2 && strcmp(err_class(0), "GenericError") == 0 && is_return(1));
    qmp_session_free(s);
}

static void t_reset_byte(void)
{
    struct qmp_session *s = new_session(true);
    feed(s, "{\"execute\": {\"half\xff{\"execute\":\"query-version\"}");
    CHECK(cap.n == 1 && is_return(0));
    qmp_session_free(s);
}

/* ---- envelope and negotiation ---------------------------------------------- */

static void t_negotiation(void)
{
    struct qmp_session *s = new_session(false);
    feed(s, "{\"execute\":\"query-version\"}{\"execute\":\"nope\"}");
    CHECK(cap.n == 2 && strcmp(err_class(0), "CommandNotFound") == 0 &&
          strcmp(err_class(1), "CommandNotFound") == 0);
    CHECK(!qmp_session_negotiated(s));
    feed(s, "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}");
    CHECK(cap.n == 3 && strcmp(err_class(2), "GenericError") == 0 && !qmp_session_negotiated(s));
    feed(s, "{\"execute\":\"qmp_capabilities\"}{\"execute\":\"qmp_capabilities\"}");
    CHECK(is_return(3) && strcmp(err_class(4), "CommandNotFound") == 0);
    CHECK(qmp_session_negotiated(s));
    qmp_session_free(s);
}

static void t_id_echo(void)
{
    struct qmp_session *s = new_session(true);
    feed(s, "{\"execute\":\"query-version\",\"id\":{\"a\":[1,null,\"x\"]}}"
            "{\"execute\":\"nope\",\"id\":false}");
    json_t *want = json_loads("{\"a\":[1,null,\"x\"]}", 0, NULL);
    CHECK(cap.n == 2 && json_equal(json_object_get(cap.msgs[0], "id"), want));
    CHECK(json_is_false(json_object_get(cap.msgs[1], "id")));
    json_decref(want);
    qmp_session_free(s);
}

static void t_envelope_errors(void)
{
    struct qmp_session *s = new_session(true);
    const char *bad[] = {
        "[1]", "{\"arguments\":{}}", "{\"execute\":1}", "{\"execute\":\"query-version\",\"x\":1}",
        "{\"execute\":\"query-version\",\"arguments\":[]}", "{\"execute\":\"a\",\"execute\":\"b\"}",
        "{\"execute\": nul}", "garbage ", "\"str\" ", "} ",
    };
    for (size_t i = 0; i < VS_ARRAY_SIZE(bad); i++) {
        cap_clear();
        feed(s, bad[i]);
        CHECK(cap.n == 1 && strcmp(err_class(0), "GenericError") == 0);
    }
    qmp_session_free(s);
}

static void t_congestion_pauses_input(void)
{
    struct qmp_session *s = new_session(true);
    const char *two = "{\"execute\":\"query-version\"}{\"execute\":\"query-version\"}";
    cap.congested = false;
    /* Congested from the start: nothing is consumed. */
    cap.congested = true;
    CHECK(qmp_session_input(s, two, strlen(two)) == 0 && cap.n == 0);
    cap.congested = false;
    CHECK(qmp_session_input(s, two, strlen(two)) == strlen(two) && cap.n == 2);
    qmp_session_free(s);
}

static void t_events_only_negotiated(void)
{
    qmp_events_init();
    struct qmp_session *a = new_session(true);
    struct qmp_session *b = new_session(false);
    vs_event_emit("TEST_EVENT", json_pack("{s:i}", "x", 1));
    CHECK(cap.n == 1);
    json_t *ev = cap.msgs[0];
    CHECK(strcmp(json_string_value(json_object_get(ev, "event")), "TEST_EVENT") == 0);
    json_t *ts = json_object_get(ev, "timestamp");
    CHECK(json_integer_value(json_object_get(ts, "seconds")) > 1000000000);
    CHECK(json_integer_value(json_object_get(ts, "microseconds")) < 1000000);
    CHECK(json_integer_value(json_object_get(json_object_get(ev, "data"), "x")) == 1);
    qmp_session_free(a);
    qmp_session_free(b);
}

static void t_quit_stops_input(void)
{
    struct qmp_session *s = new_session(true);
    const char *in = "{\"execute\":\"quit\"}{\"execute\":\"blockdev-add\",\"arguments\":"
                     "{\"driver\":\"memory\",\"node-name\":\"late\",\"size\":4096}}";
    CHECK(qmp_session_input(s, in, strlen(in)) < strlen(in));
    CHECK(cap.n == 1 && is_return(0));
    CHECK(block_node_find("late") == NULL);
    qmp_session_free(s);
}

/* ---- schema ---------------------------------------------------------------- */

static json_t *dispatch(const char *name, const char *args_json, bool keyval, struct vs_error *err)
{
    json_t *args = args_json ? json_loads(args_json, 0, NULL) : NULL;
    CHECK(!args_json || args);
    struct qmp_ctx ctx = { .loop = loop };
    json_t *r = qmp_dispatch(&ctx, name, args, keyval, err);
    json_decref(args);
    return r;
}

static void t_schema_keyval(void)
{
    struct vs_error err = { 0 };
    json_t *kv = vs_keyval_parse("memory,node-name=m0,size=1M,read-only=off,cache.direct=off",
                                 "driver", &err);
    CHECK(kv);
    struct qmp_ctx ctx = { .loop = loop };
    json_t *r = qmp_dispatch(&ctx, "blockdev-add", kv, true, &err);
    json_decref(kv);
    CHECK(r && !err.set);
    json_decref(r);
    json_t *opts = qmp_node_options(block_node_find("m0"));
    CHECK(json_integer_value(json_object_get(opts, "size")) == 1 << 20);
    CHECK(json_is_false(json_object_get(opts, "read-only")));
    block_node_close_all();
}

static void t_schema_errors(void)
{
    const char *bad[][2] = {
        { "blockdev-add", "{\"driver\":\"memory\",\"node-name\":\"m\",\"size\":1,\"x\":1}" },
        { "blockdev-add", "{\"driver\":\"memory\",\"node-name\":\"m\"}" },
        { "blockdev-add", "{\"driver\":\"memory\",\"node-name\":\"m\",\"size\":-1}" },
        { "blockdev-add", "{\"driver\":\"nope\",\"node-name\":\"m\"}" },
        { "blockdev-add", "{\"driver\":\"memory\",\"node-name\":7,\"size\":1}" },
        { "query-version", "{\"a\":1}" },
        { "block-export-del", "{\"id\":\"x\",\"mode\":\"soft\"}" },
    };
    for (size_t i = 0; i < VS_ARRAY_SIZE(bad); i++) {
        struct vs_error err = { 0 };
        CHECK(!dispatch(bad[i][0], bad[i][1], false, &err));
        CHECK(err.set && err.cls == VS_ERR_GENERIC);
    }
    CHECK(block_node_next(NULL) == NULL);
    struct vs_error err = { 0 };
    CHECK(!dispatch("no-such", NULL, false, &err) && err.cls == VS_ERR_COMMAND_NOT_FOUND);
}

/* ---- state ------------------------------------------------------------------ */

static void run(const char *name, const char *args)
{
    struct vs_error err = { 0 };
    json_t *r = dispatch(name, args, false, &err);
    if (!r)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    CHECK(r);
    json_decref(r);
}

static void reset_all(void)
{
    nbd_server_stop();
    nbd_export_del_all();
    block_node_close_all();
    for (int i = 0; i < 20 && vs_loop_inflight(loop) > 0; i++)
        vs_loop_run_once(loop, 1000 * 1000);
    qmp_node_options(NULL);
}

static void t_state_roundtrip(void)
{
    run("blockdev-add", "{\"driver\":\"memory\",\"node-name\":\"m0\",\"size\":65536}");
    run("blockdev-add", "{\"driver\":\"raw\",\"node-name\":\"r0\",\"file\":"
                        "{\"driver\":\"memory\",\"size\":4096}}");
    run("nbd-server-start", "{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"test-monitor-nbd.sock\"}},"
                            "\"max-connections\":5}");
    run("block-export-add", "{\"type\":\"nbd\",\"id\":\"e0\",\"node-name\":\"r0\",\"name\":\"vol\","
                            "\"description\":\"d\",\"writable\":true}");
    json_t *snap = qmp_state_snapshot();
    char *before = json_dumps(snap, JSON_SORT_KEYS);
    reset_all();
    struct vs_error err = { 0 };
    struct qmp_ctx ctx = { .loop = loop };
    CHECK(qmp_state_restore(&ctx, snap, &err) == 0);
    json_decref(snap);
    json_t *again = qmp_state_snapshot();
    char *after = json_dumps(again, JSON_SORT_KEYS);
    json_decref(again);
    CHECK(strcmp(before, after) == 0);
    struct nbd_export *e = nbd_export_find_id("e0");
    CHECK(e && e->writable && strcmp(e->name, "vol") == 0 && strcmp(e->blk.node->name, "r0") == 0);
    CHECK(nbd_server_max_connections() == 5);
    free(before);
    free(after);
    reset_all();
}

static void t_state_damaged_refused(void)
{
    const char *bad[] = {
        "[]", "{}", "{\"volswap-state\":2,\"commands\":[]}",
        "{\"volswap-state\":1,\"commands\":{}}",
        "{\"volswap-state\":1,\"commands\":[],\"extra\":1}",
        "{\"volswap-state\":1,\"commands\":[{\"execute\":\"quit\",\"arguments\":{}}]}",
        "{\"volswap-state\":1,\"commands\":[{\"execute\":\"blockdev-add\"}]}",
        /* The second command is bad: the first must not have run. */
        "{\"volswap-state\":1,\"commands\":[{\"execute\":\"blockdev-add\",\"arguments\":"
        "{\"driver\":\"memory\",\"node-name\":\"m0\",\"size\":4096}},{\"execute\":"
        "\"blockdev-add\",\"arguments\":{\"driver\":\"memory\",\"size\":\"x\"}}]}",
    };
    for (size_t i = 0; i < VS_ARRAY_SIZE(bad); i++) {
        json_t *doc = json_loads(bad[i], 0, NULL);
        CHECK(doc);
        struct vs_error err = { 0 };
        struct qmp_ctx ctx = { .loop = loop };
        CHECK(qmp_state_restore(&ctx, doc, &err) < 0 && err.set && err.msg[0]);
        json_decref(doc);
        CHECK(block_node_next(NULL) == NULL);
    }
}

static void t_state_follows_export_node(void)
{
    /* What a mirror's pivot does: the export's backend moves to another
     * node; the snapshot names the node served now. */
    run("blockdev-add", "{\"driver\":\"memory\",\"node-name\":\"src\",\"size\":65536}");
    run("blockdev-add", "{\"driver\":\"memory\",\"node-name\":\"tgt\",\"size\":65536}");
    run("nbd-server-start", "{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"test-monitor-nbd2.sock\"}}}");
    run("block-export-add", "{\"type\":\"nbd\",\"id\":\"e0\",\"node-name\":\"src\"}");
    struct block_node *src = block_node_find("src"), *tgt = block_node_find("tgt");
    block_node_quiesce(src);
    block_node_quiesce(tgt);
    block_node_replace(src, tgt);
    block_node_release(tgt);
    block_node_release(src);
    json_t *snap = qmp_state_snapshot();
    json_t *cmds = json_object_get(snap, "commands");
    json_t *last = json_array_get(cmds, json_array_size(cmds) - 1);
    CHECK(strcmp(json_string_value(json_object_get(last, "execute")), "block-export-add") == 0);
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(last, "arguments"),
                                                   "node-name")), "tgt") == 0);
    json_decref(snap);
    reset_all();
}

/* ---- reference ---------------------------------------------------------------- */

static void count_cmd(const struct qmp_command *c, void *opaque)
{
    const char *doc = opaque;
    char head[128];
    snprintf(head, sizeof(head), "\n## %s\n", c->name);
    CHECK(strstr(doc, head));
    CHECK(c->doc && c->doc[0]);
}

static void t_reference_lists_every_command(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    qmp_write_reference(f);
    fclose(f);
    qmp_command_foreach(count_cmd, buf);
    free(buf);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        { "split-several-per-read", t_split_several_per_read },
        { "split-byte-at-a-time", t_split_byte_at_a_time },
        { "braces-in-strings", t_braces_in_strings },
        { "oversize-message", t_oversize_message },
        { "nesting-limit", t_nesting_limit },
        { "newline-in-string-recovers", t_newline_in_string_recovers },
        { "reset-byte", t_reset_byte },
        { "negotiation", t_negotiation },
        { "id-echo", t_id_echo },
        { "envelope-errors", t_envelope_errors },
        { "congestion-pauses-input", t_congestion_pauses_input },
        { "events-only-negotiated", t_events_only_negotiated },
        { "quit-stops-input", t_quit_stops_input },
        { "schema-keyval", t_schema_keyval },
        { "schema-errors", t_schema_errors },
        { "state-roundtrip", t_state_roundtrip },
        { "state-damaged-refused", t_state_damaged_refused },
        { "state-follows-export-node", t_state_follows_export_node },
        { "reference-lists-every-command", t_reference_lists_every_command },
    };
    if (argc != 2) {
        fprintf(stderr, "usage: %s TEST\n", argv[0]);
        return 2;
    }
    vs_log_level = VS_LOG_ERROR;
    loop = vs_loop_new(64, 1);
    CHECK(loop);
    int rc = 2;
    for (size_t i = 0; i < VS_ARRAY_SIZE(tests); i++) {
        if (strcmp(tests[i].name, argv[1]) == 0) {
            tests[i].fn();
            rc = 0;
        }
    }
    cap_clear();
    reset_all();
    vs_loop_free(loop);
    if (rc)
        fprintf(stderr, "unknown test '%s'\n", argv[1]);
    return rc;
}
