/* The in-process harness (harness.h): a temporary service, requests run
 * through the router, and a fake host daemon on a thread. */
#include "harness.h"
#include "testdb.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- the fake host daemon ---- */

static void host_say(int fd, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!text)
        return;
    size_t len = strlen(text);
    ssize_t w = write(fd, text, len);
    w += write(fd, "\r\n", 2);
    (void)w;
    free(text);
}

static json_t *host_event(const char *name, json_t *data)
{
    return json_pack("{s:s, s:o, s:{s:i, s:i}}", "event", name, "data", data, "timestamp",
                     "seconds", 1, "microseconds", 0);
}

/* One monitor connection: every command succeeds. */
static void *host_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    host_say(fd, json_pack("{s:{s:{s:{s:i, s:i, s:i}, s:s}, s:[]}}", "QMP", "version", "qemu",
                           "major", 7, "minor", 2, "micro", 0, "package", "", "capabilities"));
    char line[65536];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, line + n, 1);
        if (r <= 0)
            break;
        if (line[n] != '\n' && n < sizeof line - 2) {
            n++;
            continue;
        }
        line[n] = '\0';
        n = 0;
        json_t *cmd = json_loads(line, 0, NULL);
        const char *ex = json_string_value(json_object_get(cmd, "execute"));
        json_t *args = json_object_get(cmd, "arguments");
        json_t *id = json_object_get(cmd, "id");
        json_t *ret = NULL, *ev = NULL;
        if (!ex)
            ex = "";
        if (!strcmp(ex, "query-version"))
            ret = json_pack("{s:{s:i, s:i, s:i}, s:s}", "qemu", "major", 7, "minor", 2, "micro", 0,
                            "package", "");
        else if (!strcmp(ex, "x-volswap-query-uptime"))
            /* up 1 day, 2:03 at 10:00:00 UTC */
            ret = json_pack("{s:i, s:I, s:[f, f, f]}", "seconds", 93784, "time",
                            (json_int_t)1796637600, "load-average", 0.2, 0.12, 0.14);
        else if (!strncmp(ex, "query-", 6))
            ret = json_array();
        else
            ret = json_object();
        const char *job = json_string_value(json_object_get(args, "job-id"));
        const char *dev = json_string_value(json_object_get(args, "device"));
        if ((!strcmp(ex, "blockdev-mirror") || !strcmp(ex, "drive-mirror")) && job)
            ev = host_event("BLOCK_JOB_READY",
                            json_pack("{s:s, s:s, s:i, s:i, s:i}", "device", job, "type", "mirror",
                                      "len", 0, "offset", 0, "speed", 0));
        else if (!strcmp(ex, "block-job-complete") && dev)
            ev = host_event("BLOCK_JOB_COMPLETED",
                            json_pack("{s:s, s:s, s:i, s:i, s:i}", "device", dev, "type", "mirror",
                                      "len", 0, "offset", 0, "speed", 0));
        else if (!strcmp(ex, "block-export-del"))
            ev = host_event("BLOCK_EXPORT_DELETED",
                            json_pack("{s:O}", "id", json_object_get(args, "id")));
        json_t *reply = json_pack("{s:o}", "return", ret);
        if (id)
            json_object_set(reply, "id", id);
        host_say(fd, reply);
        if (ev)
            host_say(fd, ev);
        json_decref(cmd);
    }
    close(fd);
    return NULL;
}

static void *host_main(void *arg)
{
    struct th *t = arg;
    for (;;) {
        int fd = accept(t->host_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            return NULL; /* the listening socket was shut down */
        }
        pthread_t th;
        pthread_create(&th, NULL, host_conn, (void *)(intptr_t)fd);
        pthread_detach(th);
    }
}

static void host_start(struct th *t)
{
    t->host_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", t->qmp_path);
    CHECK(bind(t->host_fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(listen(t->host_fd, 16) == 0);
    CHECK(pthread_create(&t->host_thread, NULL, host_main, t) == 0);
}

/* ---- the service ---- */

static void user_json(char *out, size_t len, const char *name, const char *pw, const char *project,
                      const char *role)
{
    char hash[200];
    CHECK(auth_hash_password(pw, hash, sizeof hash) == 0);
    snprintf(out, len,
             "{\"name\": \"%s\", \"password_hash\": \"%s\", \"roles\": {\"%s\": [\"%s\"]}}", name,
             hash, project, role);
}

static void login(struct th *t, const char *user, const char *pw, const char *project,
                  char token[80])
{
    struct auth_ctx a;
    struct api_error e = { 0 };
    char tok[AUTH_TOKEN_MAX];
    if (auth_login(t->ctx.auth, user, NULL, pw, project, NULL, NULL, &a, tok, &e) < 0) {
        fprintf(stderr, "login %s: %s\n", user, e.msg);
        exit(1);
    }
    snprintf(token, 80, "%.79s", tok); /* the harness issues random 64-hex tokens */
}

void th_setup(struct th *t, bool with_host, bool with_swaps)
{
    memset(t, 0, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/volswap-th.XXXXXX");
    CHECK(mkdtemp(t->dir));
    char pool1[128], pool2[128];
    snprintf(pool1, sizeof pool1, "%s/pool", t->dir);
    snprintf(pool2, sizeof pool2, "%s/pool2", t->dir);
    CHECK(mkdir(pool1, 0755) == 0 && mkdir(pool2, 0755) == 0);
    snprintf(t->qmp_path, sizeof t->qmp_path, "%s/qmp.sock", t->dir);
    char users[4][400];
    user_json(users[0], sizeof users[0], "alice", "alicepw", "demo", "member");
    user_json(users[1], sizeof users[1], "reader", "readerpw", "demo", "reader");
    user_json(users[2], sizeof users[2], "bob", "bobpw", "other", "member");
    user_json(users[3], sizeof users[3], "admin", "adminpw", "demo", "admin");
    char text[8192];
    snprintf(text, sizeof text,
             "{\"listen\": {\"address\": \"127.0.0.1\", \"port\": 0},"
             " \"database\": \"%s/registry.db\", \"public_url\": \"http://api.test\","
             " \"admin_tokens\": [\"admin-token-for-tests\"], \"admin_project\": \"demo\","
             " \"projects\": [{\"name\": \"demo\"}, {\"name\": \"other\"}],"
             " \"flavors\": [{\"id\": \"volswap\"},"
             "   {\"id\": \"big\", \"vcpus\": 4, \"ram\": 2048, \"disk\": 10}],"
             " \"users\": [%s, %s, %s, %s],"
             " \"hosts\": [{\"name\": \"host1\", \"driver\": \"volswapd\", \"qmp\": \"%s\","
             "   \"nbd\": {\"type\": \"unix\", \"path\": \"%s/nbd.sock\"},"
             "   \"pools\": [{\"name\": \"pool1\", \"type\": \"dir\", \"path\": \"%s\"},"
             "               {\"name\": \"pool2\", \"type\": \"dir\", \"path\": \"%s\"}]}]}",
             t->dir, users[0], users[1], users[2], users[3], t->qmp_path, t->dir, pool1, pool2);
    struct api_error e = { 0 };
    if (config_parse(text, strlen(text), &t->cfg, &e) < 0) {
        fprintf(stderr, "config: %s\n", e.msg);
        exit(1);
    }
    snprintf(t->cfg.image_dir, sizeof t->cfg.image_dir, "%s/images", t->dir);
    char errbuf[512], db[sizeof t->cfg.database];
    CHECK(unit_db_for(t->cfg.database, db, sizeof db));
    memcpy(t->cfg.database, db, sizeof db);
    t->reg = registry_open(t->cfg.database, errbuf, sizeof errbuf);
    if (!t->reg) {
        fprintf(stderr, "registry: %s\n", errbuf);
        exit(1);
    }
    for (size_t i = 0; i < t->cfg.n_hosts; i++) {
        struct reg_host h = { 0 };
        const struct cfg_host *c = &t->cfg.hosts[i];
        snprintf(h.name, sizeof h.name, "%s", c->name);
        snprintf(h.driver, sizeof h.driver, "%s", c->driver);
        snprintf(h.qmp, sizeof h.qmp, "%s", c->qmp);
        snprintf(h.nbd, sizeof h.nbd, "unix:%s", c->nbd_socket);
        CHECK(t->reg->ops->host_put(t->reg, &h) == 0);
    }
    t->ctx.cfg = &t->cfg;
    t->ctx.reg = t->reg;
    t->ctx.auth = auth_store_new(&t->cfg, t->reg);
    CHECK(t->ctx.auth);
    snprintf(t->ctx.base_url, sizeof t->ctx.base_url, "http://api.test");
    snprintf(t->demo, sizeof t->demo, "%s", config_project_by_name(&t->cfg, "demo", NULL)->id);
    snprintf(t->other, sizeof t->other, "%s", config_project_by_name(&t->cfg, "other", NULL)->id);
    snprintf(t->admin, sizeof t->admin, "admin-token-for-tests");
    login(t, "alice", "alicepw", "demo", t->alice);
    login(t, "reader", "readerpw", "demo", t->reader);
    login(t, "bob", "bobpw", "other", t->bob);
    t->with_host = with_host;
    if (with_host)
        host_start(t);
    t->with_swaps = with_swaps;
    if (with_swaps && swap_service_start(&t->ctx, &e) < 0) {
        fprintf(stderr, "swap service: %s\n", e.msg);
        exit(1);
    }
}

void th_teardown(struct th *t)
{
    if (t->with_swaps)
        swap_service_stop();
    if (t->with_host) {
        shutdown(t->host_fd, SHUT_RDWR);
        pthread_join(t->host_thread, NULL);
        close(t->host_fd);
    }
    auth_store_free(t->ctx.auth);
    t->reg->ops->close(t->reg);
    config_free(&t->cfg);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    CHECK(system(cmd) == 0);
}

/* ---- requests ---- */

struct th_lookup {
    const char *headers; /* "Name: value" lines */
    const char *query;   /* "a=b&c=d" */
    char buf[1024];
};

static const char *th_find(void *opaque, bool header, const char *name)
{
    struct th_lookup *l = opaque;
    const char *p = header ? l->headers : l->query;
    size_t nl = strlen(name);
    while (p && *p) {
        const char *end = strchr(p, header ? '\n' : '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *sep = memchr(p, header ? ':' : '=', len);
        size_t klen = sep ? (size_t)(sep - p) : len;
        if (klen == nl && strncasecmp(p, name, nl) == 0) {
            const char *v = sep ? sep + 1 : p + len;
            while (header && *v == ' ')
                v++;
            snprintf(l->buf, sizeof l->buf, "%.*s", (int)(p + len - v), v);
            return l->buf;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

int th_call(struct th *t, struct th_reply *r, const char *method, const char *token,
            const char *headers, const char *body, const char *path, ...)
{
    char url[4096], hdrs[2048];
    va_list ap;
    va_start(ap, path);
    vsnprintf(url, sizeof url, path, ap);
    va_end(ap);
    snprintf(hdrs, sizeof hdrs, "%s%s%s%s", token ? "X-Auth-Token: " : "", token ? token : "",
             token ? "\n" : "", headers ? headers : "");
    struct th_lookup l = { .headers = hdrs };
    char *q = strchr(url, '?');
    if (q) {
        *q = '\0';
        l.query = q + 1;
    }
    struct api_request *rq = calloc(1, sizeof *rq);
    CHECK(rq);
    api_request_init(rq, &t->ctx, method, url);
    rq->lookup = th_find;
    rq->lookup_opaque = &l;
    if (body) {
        rq->body = strdup(body);
        rq->body_len = rq->body_cap = strlen(body);
        /* as the HTTP server: past the cap the body is dropped, the
         * request refused by the router */
        rq->too_large = rq->body_len > API_MAX_BODY;
    }
    /* as the HTTP server: a streamed body goes to its route's sink, in
     * pieces, after the door at the headers */
    if (api_dispatch_stream_open(api_mounts, rq)) {
        for (size_t off = 0; off < rq->body_len; off += 7)
            api_stream_feed(rq, rq->body + off, rq->body_len - off < 7 ? rq->body_len - off : 7);
    }
    api_dispatch(api_mounts, rq);
    t->last_route = rq->route;
    CHECK(api_response_build(rq, &r->resp) == 0);
    r->status = r->resp.status;
    r->json = r->resp.body ? json_loads(r->resp.body, 0, NULL) : NULL;
    api_request_release(rq);
    free(rq);
    return r->status;
}

void th_reply_free(struct th_reply *r)
{
    json_decref(r->json);
    api_response_free(&r->resp);
    memset(r, 0, sizeof *r);
}

const char *th_header(const struct th_reply *r, const char *name)
{
    for (size_t i = 0; i < r->resp.n_headers; i++)
        if (strcasecmp(r->resp.headers[i].name, name) == 0)
            return r->resp.headers[i].value;
    return NULL;
}

const char *th_body(const struct th_reply *r)
{
    return r->resp.body ? r->resp.body : "";
}

/* ---- shortcuts ---- */

void th_server(struct th *t, const char *token, char id[37])
{
    struct th_reply r;
    th_call(t, &r, "POST", token, NULL, "{\"server\": {\"name\": \"s1\"}}", "/v2.1/servers");
    CHECK_STATUS(&r, 202);
    snprintf(id, 37, "%s",
             json_string_value(json_object_get(json_object_get(r.json, "server"), "id")));
    th_reply_free(&r);
}

void th_volume(struct th *t, const char *token, const char *project, char id[37])
{
    struct th_reply r;
    th_call(t, &r, "POST", token, NULL, "{\"volume\": {\"size\": 1}}", "/v3/%s/volumes", project);
    CHECK_STATUS(&r, 202);
    snprintf(id, 37, "%s",
             json_string_value(json_object_get(json_object_get(r.json, "volume"), "id")));
    th_reply_free(&r);
}

void th_attach(struct th *t, const char *token, const char *server, const char *volume)
{
    struct th_reply r;
    char body[200];
    snprintf(body, sizeof body, "{\"volumeAttachment\": {\"volumeId\": \"%s\"}}", volume);
    th_call(t, &r, "POST", token, NULL, body, "/v2.1/servers/%s/os-volume_attachments", server);
    CHECK_STATUS(&r, 200);
    th_reply_free(&r);
}

/* ---- table-driven route cases ---- */

struct th_ids {
    char S[37], V[37], W[37], A[37], R[64], X[64], I[37], J[37];
};

/* Waits for the swap of VOLUME on SERVER to complete; its id (the PUT's
 * request id) into SWAP_ID. */
static void th_wait_swap(struct th *t, const char *server, const char *volume, char swap_id[64])
{
    /* the fake host finishes a mirror as soon as it is asked: wait for the
     * worker by the progress endpoint, bounded by a count, not a clock */
    for (int i = 0; i < 2000; i++) {
        struct th_reply r;
        th_call(t, &r, "GET", t->admin, NULL, NULL,
                "/v2.1/servers/%s/os-volume_attachments/%s/swap-progress", server, volume);
        const char *state =
            json_string_value(json_object_get(json_object_get(r.json, "swap_progress"), "state"));
        bool done = r.status == 200 && state && !strcmp(state, "completed");
        if (done)
            snprintf(swap_id, 64, "%s",
                     json_string_value(
                         json_object_get(json_object_get(r.json, "swap_progress"), "request_id")));
        bool failed = r.status != 200 ||
                      (state && strcmp(state, "running") != 0 && strcmp(state, "completed") != 0);
        if (failed) {
            fprintf(stderr, "the swap failed: %d %s\n", r.status, th_body(&r));
            exit(1);
        }
        th_reply_free(&r);
        if (done)
            return;
        usleep(5000);
    }
    fprintf(stderr, "the swap did not finish\n");
    exit(1);
}

static void th_prepare_glance(struct th *t, const struct th_ids *ids)
{
    struct th_reply r;
    char body[200];
    snprintf(body, sizeof body, "{\"member\": \"%s\"}", t->other);
    th_call(t, &r, "POST", t->alice, NULL, body, "/image/v2/images/%s/members", ids->I);
    CHECK_STATUS(&r, 200);
    th_reply_free(&r);
    th_call(t, &r, "POST", t->admin, NULL,
            "{\"namespace\": \"ns1\", \"visibility\": \"public\", "
            "\"properties\": {\"p1\": {\"title\": \"P1\", \"type\": \"string\"}}, "
            "\"objects\": [{\"name\": \"o1\"}], \"tags\": [{\"name\": \"t1\"}], "
            "\"resource_type_associations\": [{\"name\": \"OS::Glance::Image\", "
            "\"prefix\": \"hw_\"}]}",
            "/image/v2/metadefs/namespaces");
    CHECK_STATUS(&r, 201);
    th_reply_free(&r);
    th_call(t, &r, "POST", t->admin, NULL, "{\"namespace\": \"ns2\", \"protected\": true}",
            "/image/v2/metadefs/namespaces");
    CHECK_STATUS(&r, 201);
    th_reply_free(&r);
}

static void th_prepare(struct th *t, enum th_prep prep, struct th_ids *ids)
{
    if (prep == TH_NONE)
        return;
    if (prep == TH_GLANCE) {
        th_prepare(t, TH_BASIC, ids);
        th_prepare_glance(t, ids);
        return;
    }
    th_server(t, t->alice, ids->S);
    th_volume(t, t->alice, t->demo, ids->V);
    th_volume(t, t->alice, t->demo, ids->W);
    struct th_reply r;
    th_call(t, &r, "POST", t->alice, NULL, "{\"metadata\": {\"a\": \"1\"}}",
            "/v2.1/servers/%s/metadata", ids->S);
    CHECK_STATUS(&r, 200);
    th_reply_free(&r);
    th_call(t, &r, "POST", t->alice, NULL, "{\"metadata\": {\"a\": \"1\"}}",
            "/v3/%s/volumes/%s/metadata", t->demo, ids->V);
    CHECK_STATUS(&r, 200);
    th_reply_free(&r);
    th_call(t, &r, "POST", t->alice, NULL,
            "{\"keypair\": {\"name\": \"kp1\", \"public_key\": \"ssh-ed25519 "
            "AAAAC3NzaC1lZDI1NTE5AAAAILk86zb40qVBugNi2s23OutWrqnKZrir/ug0OFQ+2rl5 test\"}}",
            "/v2.1/os-keypairs");
    CHECK_STATUS(&r, 200);
    th_reply_free(&r);
    /* alice's images: I queued, J active with the data "hello" */
    th_call(t, &r, "POST", t->alice, NULL,
            "{\"name\": \"queued\", \"p\": \"1\", \"tags\": [\"t\"]}", "/image/v2/images");
    CHECK_STATUS(&r, 201);
    snprintf(ids->I, sizeof ids->I, "%s", json_string_value(json_object_get(r.json, "id")));
    th_reply_free(&r);
    th_call(t, &r, "POST", t->alice, NULL,
            "{\"name\": \"active\", \"disk_format\": \"raw\", \"container_format\": "
            "\"bare\"}",
            "/image/v2/images");
    CHECK_STATUS(&r, 201);
    snprintf(ids->J, sizeof ids->J, "%s", json_string_value(json_object_get(r.json, "id")));
    th_reply_free(&r);
    th_call(t, &r, "PUT", t->alice, "Content-Type: application/octet-stream", "hello",
            "/image/v2/images/%s/file", ids->J);
    CHECK_STATUS(&r, 204);
    th_reply_free(&r);
    struct reg_action *acts = NULL;
    size_t n = 0;
    CHECK(t->reg->ops->action_list(t->reg, ids->S, &acts, &n) == 0 && n >= 1);
    snprintf(ids->R, sizeof ids->R, "%s", acts[0].request_id);
    free(acts);
    if (prep == TH_BASIC)
        return;
    th_attach(t, t->alice, ids->S, ids->V);
    struct reg_attachment a;
    CHECK(t->reg->ops->attachment_get_by_volume(t->reg, ids->V, &a) == 0);
    snprintf(ids->A, sizeof ids->A, "%s", a.id);
    if (prep == TH_ATTACHED)
        return;
    char body[200];
    snprintf(body, sizeof body, "{\"volumeAttachment\": {\"volumeId\": \"%s\"}}", ids->W);
    th_call(t, &r, "PUT", t->admin, NULL, body, "/v2.1/servers/%s/os-volume_attachments/%s", ids->S,
            ids->V);
    CHECK_STATUS(&r, 202);
    th_reply_free(&r);
    th_wait_swap(t, ids->S, ids->V, ids->X);
}

static void th_expand(const struct th *t, const struct th_ids *ids, const char *in, char *out,
                      size_t len)
{
    size_t o = 0;
    for (const char *p = in; *p && o + 1 < len; p++) {
        const char *v = NULL;
        if (p[0] == '{' && p[1] && p[2] == '}') {
            switch (p[1]) {
            case 'S': v = ids->S; break;
            case 'V': v = ids->V; break;
            case 'W': v = ids->W; break;
            case 'A': v = ids->A; break;
            case 'R': v = ids->R; break;
            case 'X': v = ids->X; break;
            case 'I': v = ids->I; break;
            case 'J': v = ids->J; break;
            case 'P': v = t->demo; break;
            case 'O': v = t->other; break;
            case 'T': v = t->alice; break;
            case 'U': v = t->cfg.n_users ? t->cfg.users[0].id : NULL; break; /* alice */
            }
        }
        if (v) {
            o += (size_t)snprintf(out + o, len - o, "%s", v);
            p += 2;
        } else {
            out[o++] = *p;
        }
    }
    out[o < len ? o : len - 1] = '\0';
}

static const char *th_token(struct th *t, const char *who)
{
    if (!who)
        return NULL;
    if (!strcmp(who, "admin"))
        return t->admin;
    if (!strcmp(who, "alice"))
        return t->alice;
    if (!strcmp(who, "reader"))
        return t->reader;
    if (!strcmp(who, "bob"))
        return t->bob;
    return "not-a-token-anyone-was-given";
}

const struct api_route *th_run(const struct th_case *c)
{
    struct th t;
    th_setup(&t, true, true);
    struct th_ids ids = { "", "", "", "", "", "", "", "" };
    th_prepare(&t, c->prep, &ids);
    char path[2048], *body = calloc(1, API_MAX_BODY + 2);
    CHECK(body);
    th_expand(&t, &ids, c->path, path, sizeof path);
    if (c->body && !strcmp(c->body, "{BIG}"))
        memset(body, ' ', API_MAX_BODY + 1); /* one byte past the cap */
    else if (c->body)
        th_expand(&t, &ids, c->body, body, 4096);
    struct th_reply r;
    char headers[1024] = "";
    if (c->headers)
        th_expand(&t, &ids, c->headers, headers, sizeof headers);
    th_call(&t, &r, c->method, th_token(&t, c->who), c->headers ? headers : NULL,
            c->body ? body : NULL, "%s", path);
    CHECK_STATUS(&r, c->status);
    if (c->contains) {
        char want[512];
        th_expand(&t, &ids, c->contains, want, sizeof want);
        CHECK_CONTAINS(th_body(&r), want);
    }
    th_reply_free(&r);
    free(body);
    const struct api_route *route = t.last_route;
    th_teardown(&t);
    return route;
}

int th_main(int argc, char **argv, const struct th_case *cases)
{
    for (const struct th_case *c = cases; c->name; c++)
        if (argc < 2 || strcmp(argv[1], c->name) == 0) {
            th_run(c);
            if (argc >= 2)
                return 0;
        }
    if (argc >= 2) {
        fprintf(stderr, "unknown case %s\n", argv[1]);
        return 2;
    }
    return 0;
}
