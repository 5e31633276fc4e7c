/* The router of volswap-api: everything a route declares is checked here,
 * in one order, before its handler runs: the path (404, or 405 for a known
 * path and another method), the microversion header (400 malformed, 406
 * out of the service's range, 404 outside the route's own range), the size
 * of the body (413), the token (401), the policy when it can be decided at
 * the door (403), the body against the route's schema (400). The answer is
 * then built once, in the style of the service addressed (Keystone's
 * {"error": ...} or Nova/Cinder's {"itemNotFound": ...}), with the headers
 * OpenStack clients read. Nothing here knows the transport: the HTTP server
 * and the unit tests drive it the same way. Runs on the HTTP worker thread
 * of the request; it keeps no state of its own. */
#include "http.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int api_reply(struct api_request *rq, int status, json_t *body)
{
    rq->status = status;
    json_decref(rq->reply);
    rq->reply = body;
    return 0;
}

json_t *api_version_doc(struct api_request *rq, const char *id, const char *max, const char *min,
                        const char *updated, const char *path, const char *media_type)
{
    char href[400];
    snprintf(href, sizeof href, "%s%s", rq->ctx->base_url, path);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:[{s:s, s:s}]}", "id", id,
                     "status", "CURRENT", "version", max, "min_version", min, "updated", updated,
                     "links", "rel", "self", "href", href, "media-types", "base",
                     "application/json", "type", media_type);
}

int api_reply_written(struct api_request *rq, int status, struct jw *w)
{
    size_t len = 0;
    char *text = jw_finish(w, &len);
    if (!text)
        return api_err(&rq->err, 500, "Unexpected API Error.");
    return api_reply_text(rq, status, "application/json", text);
}

const char *api_query(struct api_request *rq, const char *name)
{
    return rq->lookup ? rq->lookup(rq->lookup_opaque, false, name) : NULL;
}

const char *api_header(struct api_request *rq, const char *name)
{
    return rq->lookup ? rq->lookup(rq->lookup_opaque, true, name) : NULL;
}

const char *api_param(const struct api_request *rq, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < rq->n_params; i++)
        if (rq->params[i].name_len == len && memcmp(rq->params[i].name, name, len) == 0)
            return rq->params[i].value;
    assert(!"api_param: the route has no such parameter");
    return "";
}

int api_authorize(struct api_request *rq, const char *target_project)
{
    assert(rq->route && rq->route->policy);
    return policy_check(&rq->auth, rq->route->policy, target_project, &rq->err);
}

void api_request_init(struct api_request *rq, struct api_ctx *ctx, const char *method,
                      const char *url)
{
    rq->ctx = ctx;
    rq->method = method;
    snprintf(rq->url, sizeof rq->url, "%s", url);
    if (strlen(url) >= sizeof rq->url)
        rq->too_large = true;
    char uuid[37];
    api_uuid(uuid);
    snprintf(rq->request_id, sizeof rq->request_id, "req-%s", uuid);
    rq->start_ns = (int64_t)vs_now_ns();
}

const char *api_global_request_id(struct api_request *rq)
{
    /* oslo's rule: only "req-" and a UUID is taken, anything else is
     * ignored (a client must not be able to write arbitrary text into the
     * log lines of others' requests) */
    const char *g = api_header(rq, "X-Openstack-Request-Id");
    return g && strncmp(g, "req-", 4) == 0 && api_is_uuid(g + 4) ? g : NULL;
}

int api_reply_text(struct api_request *rq, int status, const char *type, char *text)
{
    free(rq->text_body);
    rq->text_body = text;
    rq->text_type = type;
    rq->status = status;
    return 0;
}

int api_reply_file(struct api_request *rq, int status, int fd, uint64_t size, const char *md5)
{
    if (rq->reply_fd > 0)
        close(rq->reply_fd);
    rq->reply_fd = fd;
    rq->reply_fd_size = size;
    snprintf(rq->reply_md5, sizeof rq->reply_md5, "%s", md5 ? md5 : "");
    rq->status = status;
    return 0;
}

void api_request_release(struct api_request *rq)
{
    if (rq->stream_close)
        rq->stream_close(rq);
    rq->stream_close = NULL;
    rq->stream_write = NULL;
    if (rq->reply_fd > 0)
        close(rq->reply_fd);
    rq->reply_fd = 0;
    json_decref(rq->reply);
    json_decref(rq->body_doc);
    free(rq->body);
    free(rq->text_body);
    rq->reply = rq->body_doc = rq->body_obj = NULL;
    rq->body = rq->text_body = NULL;
}

/* ---- routing ---- */

/* A path cut into its segments once, for all the routes it is tried
 * against: "/a/b" is {"a", "b"}, "/" is {""}. Trailing slashes are dropped
 * first (Nova's router ignores one), so only "/" ends in an empty segment.
 * More segments than any route has (or no leading '/') match nothing. */
#define PATH_MAX_SEGS 16
struct path_segs {
    const char *s[PATH_MAX_SEGS];
    size_t len[PATH_MAX_SEGS];
    size_t n;
    bool matchable;
};

static void path_split(const char *path, struct path_segs *ps)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    ps->n = 0;
    ps->matchable = len == 0 || path[0] == '/';
    if (len == 0 || !ps->matchable)
        return;
    const char *u = path + 1, *end = path + len;
    for (;;) {
        const char *e = memchr(u, '/', (size_t)(end - u));
        if (ps->n == PATH_MAX_SEGS) {
            ps->matchable = false;
            return;
        }
        ps->s[ps->n] = u;
        ps->len[ps->n] = (size_t)((e ? e : end) - u);
        ps->n++;
        if (!e)
            return;
        u = e + 1;
    }
}

/* Matches the path against PATTERN ("{name}" = one non-empty segment,
 * captured under its name; "" matches "/" too). Every request is tried
 * against the routes in table order, so a route that does not match says
 * so early: literal segments are compared as the pattern is walked, and
 * most routes differ from the path within their first segment. */
static bool route_match(const char *pattern, const struct path_segs *ps, struct api_request *rq)
{
    rq->n_params = 0;
    if (!ps->matchable)
        return false;
    if (!*pattern)
        return ps->n == 0 || (ps->n == 1 && ps->len[0] == 0);
    const char *p = pattern;
    size_t i = 0;
    while (*p) {
        if (*p != '/' || i == ps->n)
            return false;
        p++;
        const char *u = ps->s[i];
        size_t ulen = ps->len[i++];
        if (*p == '{') {
            const char *pe = p;
            while (*pe && *pe != '/')
                pe++;
            size_t plen = (size_t)(pe - p);
            if (plen > 2 && pe[-1] == '}') {
                struct api_param *prm = &rq->params[rq->n_params];
                if (ulen == 0 || ulen >= sizeof prm->value || rq->n_params >= API_MAX_PARAMS)
                    return false;
                prm->name = p + 1;
                prm->name_len = plen - 2;
                memcpy(prm->value, u, ulen);
                prm->value[ulen] = '\0';
                rq->n_params++;
                p = pe;
                continue;
            }
        }
        size_t k = 0;
        for (; *p && *p != '/'; p++, k++)
            if (k == ulen || u[k] != *p)
                return false;
        if (k != ulen)
            return false;
    }
    return i == ps->n;
}

/* Each worker thread's index of the route tables it serves: the number of
 * segments of every route's pattern, so that a path is tried only against
 * the routes of its length (a table of a hundred routes has a handful of
 * any one length). Built at a thread's first request on a table, read by
 * that thread alone: no lock. A table too long for it, or one more table
 * than it holds, is simply not indexed. */
#define ROUTE_INDEX_TABLES 8
#define ROUTE_INDEX_ROUTES 512
#define ROUTE_ANY_LENGTH   0xff /* "" (also matches "/"), or too many '/' */
struct route_index {
    const struct api_route *table;
    uint8_t nseg[ROUTE_INDEX_ROUTES];
};
static __thread struct route_index route_index[ROUTE_INDEX_TABLES];

static const uint8_t *route_index_of(const struct api_route *table)
{
    struct route_index *free_slot = NULL;
    for (size_t i = 0; i < ROUTE_INDEX_TABLES; i++) {
        if (route_index[i].table == table)
            return route_index[i].nseg;
        if (!route_index[i].table && !free_slot)
            free_slot = &route_index[i];
    }
    size_t n = 0;
    while (table[n].pattern)
        n++;
    if (!free_slot || n > ROUTE_INDEX_ROUTES)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        /* each segment of a pattern starts with its '/' */
        size_t slashes = 0;
        for (const char *c = table[i].pattern; *c; c++)
            slashes += *c == '/';
        free_slot->nseg[i] = !table[i].pattern[0] || slashes >= ROUTE_ANY_LENGTH
                                 ? ROUTE_ANY_LENGTH
                                 : (uint8_t)slashes;
    }
    free_slot->table = table;
    return free_slot->nseg;
}

static const struct api_route *route_find(const struct api_mount *mounts, struct api_request *rq,
                                          bool *path_known)
{
    const struct api_route *const *tables = NULL;
    const char *path = rq->url;
    for (const struct api_mount *m = mounts; m->prefix; m++) {
        size_t pl = strlen(m->prefix);
        if (strncmp(path, m->prefix, pl) == 0 && (pl == 0 || path[pl] == '\0' || path[pl] == '/')) {
            tables = m->tables;
            rq->route_prefix = m->prefix;
            path = path[pl] ? path + pl : "/";
            break;
        }
    }
    struct path_segs ps;
    path_split(path, &ps);
    *path_known = false;
    for (size_t t = 0; tables && tables[t]; t++) {
        const uint8_t *nseg = route_index_of(tables[t]);
        for (const struct api_route *r = tables[t]; r->pattern; r++) {
            if (nseg) {
                uint8_t want = nseg[r - tables[t]];
                if (want != ROUTE_ANY_LENGTH && want != ps.n)
                    continue;
            }
            if (!route_match(r->pattern, &ps, rq))
                continue;
            *path_known = true;
            rq->service = r->service;
            if (strcmp(r->method, rq->method) == 0)
                return r;
        }
    }
    return NULL;
}

/* ---- microversions ---- */

/* Finds SERVICE's version in an "OpenStack-API-Version: compute 2.50,
 * volume 3.0" header. Returns a pointer into VAL or NULL. */
static const char *mv_from_header(const char *val, const char *service, char *out, size_t outlen)
{
    size_t sl = strlen(service);
    for (const char *p = val; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > sl && strncasecmp(p, service, sl) == 0 && p[sl] == ' ') {
            const char *v = p + sl;
            while (*v == ' ')
                v++;
            size_t vlen = len - (size_t)(v - p);
            while (vlen && v[vlen - 1] == ' ')
                vlen--;
            if (vlen >= outlen)
                vlen = outlen - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return out;
        }
        p = end;
    }
    return NULL;
}

/* One number of a version, read as scanf's "%4d" reads it: white space
 * skipped, then at most four characters of an optional sign and digits,
 * at least one digit. */
static bool mv_number(const char **pp, int *out)
{
    const char *p = *pp;
    while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
        p++;
    int width = 4, sign = 1, v = 0, digits = 0;
    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
        width--;
    }
    for (; digits < width && *p >= '0' && *p <= '9'; p++, digits++)
        v = v * 10 + (*p - '0');
    if (!digits)
        return false;
    *out = sign * v;
    *pp = p;
    return true;
}

/* Parses "MAJOR.MINOR" strictly (no leading zeros, as Nova's regex). Every
 * request of a client that names a version comes through here, so no
 * sscanf: its "%4d.%4d" is spelled out above, to the same answers. */
static bool mv_parse(const char *s, int *major, int *minor)
{
    int ma = 0, mi = 0;
    const char *p = s;
    if (!mv_number(&p, &ma) || *p != '.')
        return false;
    const char *dot = p++;
    if (!mv_number(&p, &mi) || *p != '\0')
        return false;
    if (s[0] == '0' || (dot[1] == '0' && dot[2] != '\0') || s[0] == '+' || s[0] == '-' ||
        dot[1] == '+' || dot[1] == '-' || dot[1] == ' ' || s[0] == ' ')
        return false;
    *major = ma;
    *minor = mi;
    return true;
}

static int negotiate_mv(struct api_request *rq)
{
    const char *service = rq->service == SVC_COMPUTE ? "compute" : "volume";
    int want_major = rq->service == SVC_COMPUTE ? 2 : 3;
    int min = rq->service == SVC_COMPUTE ? 1 : 0;
    int max = rq->service == SVC_COMPUTE ? NOVA_MV_MAX : CINDER_MV_MAX;
    char buf[64];
    const char *v = NULL;
    const char *h = api_header(rq, "OpenStack-API-Version");
    if (h)
        v = mv_from_header(h, service, buf, sizeof buf);
    if (!v && rq->service == SVC_COMPUTE)
        v = api_header(rq, "X-OpenStack-Nova-API-Version");
    if (!v && rq->service == SVC_VOLUME)
        v = api_header(rq, "OpenStack-Volume-microversion");
    rq->mv = min;
    if (!v)
        return 0;
    rq->mv_requested = true;
    if (strcasecmp(v, "latest") == 0) {
        rq->mv = max;
        return 0;
    }
    int ma, mi;
    if (!mv_parse(v, &ma, &mi))
        return api_err(&rq->err, 400,
                       "API Version String %.32s is of invalid format. Must be "
                       "of format MajorNum.MinorNum.",
                       v);
    if (ma != want_major || mi < min || mi > max)
        return api_err(&rq->err, 406,
                       "Version %.32s is not supported by the API. Minimum is "
                       "%d.%d and maximum is %d.%d.",
                       v, want_major, min, want_major, max);
    rq->mv = mi;
    return 0;
}

/* ---- the door ---- */

static int check_policy(struct api_request *rq, const struct api_route *r)
{
    if (r->policy_at != API_POLICY_DOOR)
        return 0;
    const char *target = NULL;
    if (r->policy_target && strcmp(r->policy_target, "@caller") == 0)
        target = rq->auth.project_id;
    else if (r->policy_target)
        target = api_param(rq, r->policy_target);
    return policy_check(&rq->auth, r->policy, target, &rq->err);
}

/* The door's checks up to the body: microversion, size, token, policy. */
static int check_door(struct api_request *rq, const struct api_route *r)
{
    rq->route = r;
    if ((rq->service == SVC_COMPUTE || rq->service == SVC_VOLUME) && negotiate_mv(rq) < 0)
        return -1;
    if ((r->mv_min && rq->mv < r->mv_min) || (r->mv_max && rq->mv > r->mv_max))
        return api_err(&rq->err, 404, "The resource could not be found.");
    if (rq->too_large)
        return api_err(&rq->err, 413, "Request is too large.");
    if (r->needs_auth) {
        const char *tok = api_header(rq, "X-Auth-Token");
        if (auth_validate(rq->ctx->auth, tok, &rq->auth, &rq->err) < 0)
            return -1;
    }
    return check_policy(rq, r);
}

/* A stream that failed is closed at once, before its error is answered:
 * what its close undoes (an image back to queued) is done by the time the
 * client reads the answer, not when the connection is released. */
static void stream_end(struct api_request *rq)
{
    if (rq->stream_close)
        rq->stream_close(rq);
    rq->stream_close = NULL;
    rq->stream_write = NULL;
}

bool api_dispatch_stream_open(const struct api_mount *mounts, struct api_request *rq)
{
    bool known = false;
    const struct api_route *r = route_find(mounts, rq, &known);
    if (!r || !r->stream_open) {
        /* dispatch takes the look-up as it is (the route, its parameters,
         * service and mount are what a second look-up would find) */
        rq->looked_up = true;
        rq->found = r;
        rq->path_known = known;
        return false;
    }
    rq->streaming = true;
    if (check_door(rq, r) < 0)
        return true;
    if (r->stream_open(rq) < 0) {
        if (rq->err.status == 0)
            api_err(&rq->err, 500, "Unexpected API Error.");
        stream_end(rq);
    }
    return true;
}

void api_stream_feed(struct api_request *rq, const char *data, size_t len)
{
    if (rq->err.status || !rq->stream_write)
        return;
    if (rq->stream_write(rq, data, len) < 0) {
        if (rq->err.status == 0)
            api_err(&rq->err, 500, "Unexpected API Error.");
        stream_end(rq);
    }
}

/* Tells the request's read scope which server its URL names, so that a
 * registry that looks the token up anyway can read the server with it. */
static void hint_reads(struct api_request *rq)
{
    struct registry *reg = rq->ctx ? rq->ctx->reg : NULL;
    if (!reg || !reg->ops->read_hint_server)
        return;
    for (size_t i = 0; i < rq->n_params; i++)
        if (rq->params[i].name_len == 9 && !memcmp(rq->params[i].name, "server_id", 9)) {
            reg->ops->read_hint_server(reg, rq->params[i].value);
            return;
        }
}

static void dispatch(const struct api_mount *mounts, struct api_request *rq)
{
    if (rq->streaming) { /* the door was passed at the headers */
        if (rq->err.status)
            return;
        if (rq->route->fn(rq) < 0 && rq->err.status == 0)
            api_err(&rq->err, 500, "Unexpected API Error.");
        return;
    }
    bool known = rq->path_known;
    const struct api_route *r = rq->looked_up ? rq->found : route_find(mounts, rq, &known);
    if (!r) {
        if (known)
            api_err(&rq->err, 405, "The method %s is not allowed for this resource.", rq->method);
        else
            api_err(&rq->err, 404, "The resource could not be found.");
        return;
    }
    hint_reads(rq);
    if (check_door(rq, r) < 0)
        return;
    if (r->schema) {
        rq->body_obj = body_parse(rq->body, rq->body_len, r->schema, &rq->body_doc, &rq->err);
        if (!rq->body_obj)
            return;
    }
    rq->err.status = 0;
    if (r->fn(rq) < 0 && rq->err.status == 0)
        api_err(&rq->err, 500, "Unexpected API Error.");
}

void api_dispatch(const struct api_mount *mounts, struct api_request *rq)
{
    /* one read scope a request: its reads agree with each other, and the
     * registry takes its read lock once, not once a statement */
    struct registry *reg = rq->ctx ? rq->ctx->reg : NULL;
    bool scoped = reg && reg->ops->read_begin && reg->ops->read_begin(reg) == 0;
    dispatch(mounts, rq);
    if (scoped)
        reg->ops->read_end(reg);
}

/* ---- the answer ---- */

static void add_header(struct api_response *out, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_header(struct api_response *out, const char *name, const char *fmt, ...)
{
    assert(out->n_headers < API_MAX_HEADERS);
    out->headers[out->n_headers].name = name;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->headers[out->n_headers].value, sizeof out->headers[0].value, fmt, ap);
    va_end(ap);
    out->n_headers++;
}

/* A header whose value is VALUE as it is (most of them): no formatting on
 * the path of every answer. Cut to the value's room, as add_header does. */
static void add_header_text(struct api_response *out, const char *name, const char *value)
{
    assert(out->n_headers < API_MAX_HEADERS);
    char *dst = out->headers[out->n_headers].value;
    size_t n = strnlen(value, sizeof out->headers[0].value - 1);
    memcpy(dst, value, n);
    dst[n] = '\0';
    out->headers[out->n_headers].name = name;
    out->n_headers++;
}

/* Writes V (0 or more) in decimal, without a NUL; returns its length. */
static size_t mv_digits(char *out, int v)
{
    char tmp[12];
    size_t n = 0;
    unsigned u = v < 0 ? 0 : (unsigned)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* A guest's device name ("/dev/vdb", "/dev/sdc", "/dev/xvda"): what the
 * tenant asked for or was given, not a path on the host. */
static bool guest_device_name(const char *p, size_t len)
{
    if (len < 8 || strncmp(p, "/dev/", 5) != 0)
        return false;
    const char *d = p + 5, *end = p + len;
    if (*d == 'x')
        d++;
    if (end - d < 3 || !strchr("vsh", d[0]) || d[1] != 'd')
        return false;
    for (d += 2; d < end; d++)
        if (*d < 'a' || *d > 'z')
            return false;
    return true;
}

/* Copies MSG to OUT with every absolute path replaced by "[path]": a
 * host's file names (a pool directory, a QMP socket, what a host daemon's
 * error quotes) are for the operator's log, never for a tenant's body. A
 * path starts with '/' at the start of the message or after a space, a
 * quote, '(' or '=', and runs to a space, quote, ')', ',' or ':'. Guest
 * device names stay. */
static void scrub_paths(const char *msg, char *out, size_t outlen)
{
    size_t w = 0;
    for (const char *p = msg; *p && w + 1 < outlen;) {
        bool starts = *p == '/' && (p == msg || strchr(" '\"(=`", p[-1]));
        size_t len = starts ? strcspn(p, " '\"),:`") : 0;
        if (!starts || guest_device_name(p, len)) {
            for (size_t i = 0; i < (len ? len : 1) && w + 1 < outlen; i++)
                out[w++] = *p++;
            continue;
        }
        p += len;
        const char *mark = "[path]";
        for (const char *m = mark; *m && w + 1 < outlen; m++)
            out[w++] = *m;
    }
    out[w] = '\0';
}

static json_t *error_body(struct api_request *rq)
{
    char scrubbed[sizeof rq->err.msg];
    scrub_paths(rq->err.msg, scrubbed, sizeof scrubbed);
    const char *msg = scrubbed[0] ? scrubbed : "An unknown error occurred.";
    /* Keystone (and keystonemiddleware's 401 in front of any service) uses
   * {"error": {"code", "title", "message"}} */
    if (rq->service == SVC_IDENTITY || rq->err.status == 401) {
        const char *title = rq->err.status == 401   ? "Unauthorized"
                            : rq->err.status == 400 ? "Bad Request"
                            : rq->err.status == 403 ? "Forbidden"
                            : rq->err.status == 404 ? "Not Found"
                            : rq->err.status == 413 ? "Request Entity Too Large"
                                                    : "Internal Server Error";
        return json_pack("{s:{s:i, s:s, s:s}}", "error", "code", rq->err.status, "title", title,
                         "message", msg);
    }
    return api_fault_body(rq->err.status, msg);
}

int api_response_build(struct api_request *rq, struct api_response *out)
{
    /* not the whole struct: its header values are 6 KiB nobody reads
     * past n_headers */
    out->status = 0;
    out->body = NULL;
    out->body_len = 0;
    out->n_headers = 0;
    out->fd = -1;
    out->fd_size = 0;
    if (!rq->err.status && rq->reply_fd > 0) {
        out->status = rq->status;
        out->fd = rq->reply_fd;
        out->fd_size = rq->reply_fd_size;
        rq->reply_fd = 0;
        add_header_text(out, "Content-Type", "application/octet-stream");
        if (rq->reply_md5[0])
            add_header_text(out, "Content-MD5", rq->reply_md5);
        add_header_text(out, "x-openstack-request-id", rq->request_id);
        return 0;
    }
    int status = rq->status;
    json_t *body = rq->reply;
    json_t *owned = NULL;
    if (rq->err.status) {
        status = rq->err.status;
        body = owned = error_body(rq);
    }
    out->status = status;
    if (body) {
        struct vs_buf b = { 0 };
        if (vs_json_dump(&b, body) < 0) {
            vs_buf_free(&b);
            json_decref(owned);
            return -1;
        }
        out->body = vs_buf_steal(&b, &out->body_len);
    }
    json_decref(owned);
    if (body) {
        add_header_text(out, "Content-Type", "application/json");
    } else if (rq->text_body) {
        out->body = rq->text_body;
        out->body_len = strlen(out->body);
        rq->text_body = NULL;
        add_header_text(out, "Content-Type", rq->text_type ? rq->text_type : "text/plain");
    }
    add_header_text(out, "x-openstack-request-id", rq->request_id);
    if (rq->service == SVC_COMPUTE || rq->service == SVC_VOLUME) {
        /* "compute 2.N" and "2.N", or "volume 3.N" */
        char both[32];
        const char *svc = rq->service == SVC_COMPUTE ? "compute 2." : "volume 3.";
        size_t n = strlen(svc);
        memcpy(both, svc, n);
        n += mv_digits(both + n, rq->mv);
        both[n] = '\0';
        const char *mv = strchr(both, ' ') + 1;
        if (rq->service == SVC_COMPUTE) {
            add_header_text(out, "x-compute-request-id", rq->request_id);
            add_header_text(out, "OpenStack-API-Version", both);
            add_header_text(out, "X-OpenStack-Nova-API-Version", mv);
            add_header_text(out, "Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
        } else {
            add_header_text(out, "OpenStack-API-Version", both);
            add_header_text(out, "Vary", "OpenStack-API-Version");
        }
    }
    if (rq->subject_token[0])
        add_header_text(out, "X-Subject-Token", rq->subject_token);
    if (rq->location[0])
        add_header_text(out, "Location", rq->location);
    if (status == 401)
        add_header(out, "WWW-Authenticate", "Keystone uri=\"%s/v3\"", rq->ctx->base_url);
    return 0;
}

void api_response_free(struct api_response *r)
{
    free(r->body);
    r->body = NULL;
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

/* ---- the reference ---- */

void api_routes_markdown(FILE *f, const struct api_route *const *tables, enum api_service service)
{
    fprintf(f, "| call | policy | notes |\n|---|---|---|\n");
    for (size_t t = 0; tables[t]; t++)
        for (const struct api_route *r = tables[t]; r->pattern; r++) {
            if (r->service != service)
                continue;
            char range[48] = "";
            int major = service == SVC_COMPUTE ? 2 : 3;
            if (r->mv_min && r->mv_max)
                snprintf(range, sizeof range, " (%d.%d to %d.%d)", major, r->mv_min, major,
                         r->mv_max);
            else if (r->mv_min)
                snprintf(range, sizeof range, " (from %d.%d)", major, r->mv_min);
            else if (r->mv_max)
                snprintf(range, sizeof range, " (to %d.%d)", major, r->mv_max);
            fprintf(f, "| `%s %s` | %s%s%s | %s%s |\n", r->method, r->pattern, r->policy ? "`" : "",
                    r->policy ? r->policy : "—", r->policy ? "`" : "", r->doc, range);
        }
}
