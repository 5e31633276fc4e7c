/* One QMP conversation, whatever carries it (a unix socket in the daemon,
 * a memory buffer in the fuzzer): splitting the byte stream into JSON
 * messages, the request envelope (execute / arguments / id), capability
 * negotiation, replies and events — QEMU's docs/interop/qmp-spec.rst.
 *
 * Messages are split as QEMU's json-streamer does, by counting braces and
 * brackets outside strings, not by lines: a client may send several
 * commands on a line or one command over several. Every limit is checked
 * while bytes arrive, before anything is allocated for them: a message is
 * at most QMP_MAX_MESSAGE bytes and QMP_MAX_NESTING deep. After a message
 * that breaks a limit (or a raw newline inside a string) the rest of the
 * line is discarded, so the client gets one error and the next line is
 * read afresh. */
#include "monitor.h"

#include <stdlib.h>
#include <string.h>

struct qmp_session {
    struct vs_loop *loop;
    const struct qmp_session_ops *ops;
    void *opaque;
    bool negotiated;
    bool quit;                    /* ran `quit`: reads nothing more */
    struct qmp_pending *pending;  /* a deferred reply: reads nothing until it is sent */
    struct vs_list link;          /* every session, for events */

    /* The message being received. */
    char *msg;
    size_t len, cap;
    int depth;
    bool in_str, esc;
    bool scalar;                  /* a top-level non-container token */
    bool skip_line;               /* discarding up to the next newline */
};

static struct vs_list sessions = VS_LIST_INIT(sessions);

struct qmp_pending {
    struct qmp_session *session;  /* NULL once the client is gone */
    json_t *id;
    bool mutates;
    json_t *ret;                  /* waiting for the state save */
    char *name;                   /* the command, for the trace */
};

struct qmp_session *qmp_session_new(struct vs_loop *loop,
                                    const struct qmp_session_ops *ops, void *opaque)
{
    struct qmp_session *s = vs_zalloc(sizeof(*s));
    s->loop = loop;
    s->ops = ops;
    s->opaque = opaque;
    vs_list_append(&sessions, &s->link);
    return s;
}

void *qmp_session_opaque(struct qmp_session *s)
{
    return s->opaque;
}

void qmp_session_free(struct qmp_session *s)
{
    if (!s)
        return;
    vs_list_remove(&s->link);
    if (s->pending)
        s->pending->session = NULL;   /* the reply has nobody to go to */
    free(s->msg);
    free(s);
}

void qmp_session_set_negotiated(struct qmp_session *s)
{
    s->negotiated = true;
}

bool qmp_session_negotiated(const struct qmp_session *s)
{
    return s->negotiated;
}

bool qmp_session_waiting(const struct qmp_session *s)
{
    return s->pending != NULL;
}

/* ---- output ---------------------------------------------------------- */

static void send_json(struct qmp_session *s, json_t *obj)
{
    /* QEMU's own layout: ", " and ": " separators, members in the order
     * they were added, one message per line, CRLF. */
    char *text = json_dumps(obj, JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    json_decref(obj);
    if (!text)
        return;
    size_t n = strlen(text);
    char *line = vs_malloc(n + 2);
    memcpy(line, text, n);
    line[n] = '\r';
    line[n + 1] = '\n';
    free(text);
    s->ops->write(s, line, n + 2);
    free(line);
}

static json_t *version_object(void)
{
    return json_pack("{s:{s:i,s:i,s:i},s:s}", "qemu", "micro", 0, "minor", 2, "major", 7,
                     "package", "volswap " VOLSWAP_VERSION);
}

json_t *qmp_version_info(void)
{
    return version_object();
}

void qmp_session_greet(struct qmp_session *s)
{
    send_json(s, json_pack("{s:{s:o,s:[]}}", "QMP", "version", version_object(),
                           "capabilities"));
}

static void send_error(struct qmp_session *s, json_t *id, enum vs_errclass cls,
                       const char *desc)
{
    /* QEMU puts "id" first in error replies. */
    json_t *r = json_object();
    if (id)
        json_object_set(r, "id", id);
    json_object_set_new(r, "error", json_pack("{s:s,s:s}", "class", vs_errclass_name(cls),
                                              "desc", desc));
    send_json(s, r);
}

/* ---- requests -------------------------------------------------------- */

static void handle_request(struct qmp_session *s, json_t *req)
{
    if (!json_is_object(req)) {
        send_error(s, NULL, VS_ERR_GENERIC, "QMP input must be a JSON object");
        return;
    }
    json_t *id = json_object_get(req, "id");
    json_t *exec = json_object_get(req, "execute");
    json_t *args = json_object_get(req, "arguments");
    const char *key;
    json_t *v;
    char msg[320];
    json_object_foreach(req, key, v) {
        /* exec-oob included: out-of-band execution is not offered. */
        if (strcmp(key, "execute") && strcmp(key, "arguments") && strcmp(key, "id")) {
            snprintf(msg, sizeof(msg), "QMP input member '%.200s' is unexpected", key);
            send_error(s, id, VS_ERR_GENERIC, msg);
            return;
        }
    }
    if (!exec) {
        send_error(s, id, VS_ERR_GENERIC, "QMP input lacks member 'execute'");
        return;
    }
    if (!json_is_string(exec)) {
        send_error(s, id, VS_ERR_GENERIC, "QMP input member 'execute' must be a string");
        return;
    }
    if (args && !json_is_object(args)) {
        send_error(s, id, VS_ERR_GENERIC, "QMP input member 'arguments' must be an object");
        return;
    }
    const char *name = json_string_value(exec);
    const struct qmp_command *cmd = qmp_command_find(name);
    if (!s->negotiated && !(cmd && cmd->before_negotiation)) {
        send_error(s, id, VS_ERR_COMMAND_NOT_FOUND,
                   "Expecting capabilities negotiation with 'qmp_capabilities'");
        return;
    }
    if (s->negotiated && cmd && cmd->before_negotiation) {
        send_error(s, id, VS_ERR_COMMAND_NOT_FOUND,
                   "Capabilities negotiation is already complete, command ignored");
        return;
    }
    /* One line per command, with the client's id and the names of what it
     * acts on: a control plane that puts its request id in the id
     * (volswap-api's req-<uuid>-N) or the job-id can follow a request into
     * this log. Only those identifiers, never the other arguments, which
     * may name credentials. Commands at info; queries, the negotiation and
     * unknown commands at debug. */
    bool quiet = !cmd || strncmp(name, "query-", 6) == 0 || cmd->before_negotiation;
    if (!quiet || vs_log_level >= VS_LOG_DEBUG) {
        static const char *const named[] = { "job-id", "device", "node-name", "id" };
        char *idtext = id ? json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        char what[256] = "";
        size_t wl = 0;
        for (size_t i = 0; i < VS_ARRAY_SIZE(named) && json_is_object(args); i++) {
            const char *val = json_string_value(json_object_get(args, named[i]));
            if (val && wl < sizeof(what)) {
                int n = snprintf(what + wl, sizeof(what) - wl, " %s=%.64s", named[i], val);
                wl += n > 0 ? (size_t)n : 0;
            }
        }
        vs_log(quiet ? VS_LOG_DEBUG : VS_LOG_INFO, "QMP: %.100s%s%s%.100s%s", name, what,
               idtext ? " (id " : "", idtext ? idtext : "", idtext ? ")" : "");
        free(idtext);
    }
    struct vs_error err = { 0 };
    struct qmp_pending *p = vs_zalloc(sizeof(*p));
    p->session = s;
    p->id = id ? json_incref(id) : NULL;
    p->mutates = cmd && cmd->mutates;
    struct qmp_ctx ctx = { .loop = s->loop, .session = s, .pending = p };
    vs_trace("qmp-command", name);
    json_t *ret = qmp_dispatch(&ctx, name, args, false, &err);
    if (!ret && ctx.deferred) {
        p->name = vs_strdup(name);
        s->pending = p;
        return;
    }
    vs_trace("qmp-reply", name);
    json_decref(p->id);
    free(p);
    if (!ret) {
        send_error(s, id, err.set ? err.cls : VS_ERR_GENERIC,
                   err.set ? err.msg : "Command failed");
        return;
    }
    json_t *r = json_object();
    json_object_set_new(r, "return", ret);
    if (id)
        json_object_set(r, "id", id);
    send_json(s, r);
    /* Commands the client sent after quit are not run: the daemon is
     * going away, and a change made now would only half happen. */
    if (strcmp(name, "quit") == 0)
        s->quit = true;
}

struct qmp_pending *qmp_defer(struct qmp_ctx *ctx)
{
    ctx->deferred = true;
    return ctx->pending;
}

static void send_pending(struct qmp_pending *p, json_t *ret, const struct vs_error *err);

static void saved_then_reply(void *opaque, const struct vs_error *err)
{
    struct qmp_pending *p = opaque;
    send_pending(p, p->ret, NULL);
}

void qmp_pending_finish(struct qmp_pending *p, json_t *ret, const struct vs_error *err)
{
    if (ret && p->mutates && qmp_state_save_async) {
        p->ret = ret;
        qmp_state_save_async(saved_then_reply, p);
        return;
    }
    send_pending(p, ret, err);
}

static void send_pending(struct qmp_pending *p, json_t *ret, const struct vs_error *err)
{
    struct qmp_session *s = p->session;

    vs_trace("qmp-reply", p->name);
    if (s) {
        s->pending = NULL;
        if (ret) {
            json_t *r = json_object();
            json_object_set(r, "return", ret);
            if (p->id)
                json_object_set(r, "id", p->id);
            send_json(s, r);
        } else {
            send_error(s, p->id, err && err->set ? err->cls : VS_ERR_GENERIC,
                       err && err->set ? err->msg : "Command failed");
        }
    }
    json_decref(ret);
    json_decref(p->id);
    free(p->name);
    free(p);
    if (s && s->ops->resume)
        s->ops->resume(s);
}

static void handle_message(struct qmp_session *s)
{
    json_error_t jerr;
    json_t *req = json_loadb(s->msg, s->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!req) {
        char msg[300];
        snprintf(msg, sizeof(msg), "JSON parse error, %s", jerr.text);
        send_error(s, NULL, VS_ERR_GENERIC, msg);
        return;
    }
    handle_request(s, req);
    json_decref(req);
}

/* ---- the streamer ------------------------------------------------------ */

static void reset_message(struct qmp_session *s)
{
    s->len = 0;
    s->depth = 0;
    s->in_str = s->esc = s->scalar = false;
    /* A large message's buffer is not kept for the next small one. */
    if (s->cap > 65536) {
        free(s->msg);
        s->msg = NULL;
        s->cap = 0;
    }
}

static void fail_message(struct qmp_session *s, const char *why, bool skip_line)
{
    send_error(s, NULL, VS_ERR_GENERIC, why);
    reset_message(s);
    s->skip_line = skip_line;
}

static bool append(struct qmp_session *s, char c)
{
    if (s->len >= QMP_MAX_MESSAGE) {
        fail_message(s, "JSON parse error, message larger than 1 MiB", c != '\n');
        return false;
    }
    if (s->len == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        if (s->cap > QMP_MAX_MESSAGE)
            s->cap = QMP_MAX_MESSAGE;
        s->msg = vs_realloc(s->msg, s->cap);
    }
    s->msg[s->len++] = c;
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

size_t qmp_session_input(struct qmp_session *s, const char *buf, size_t n)
{
    size_t i = 0;
    while (i < n && !s->quit && !s->pending) {
        if (s->ops->congested && s->ops->congested(s))
            break;
        char c = buf[i++];
        if ((unsigned char)c == 0xff) {
            /* QEMU's documented way for a client to reset the parser. */
            reset_message(s);
            s->skip_line = false;
            continue;
        }
        if (s->skip_line) {
            if (c == '\n')
                s->skip_line = false;
            continue;
        }
        if (s->len == 0) {
            if (is_space(c))
                continue;
            if (c == '}' || c == ']') {
                send_error(s, NULL, VS_ERR_GENERIC, "JSON parse error, expecting value");
                continue;
            }
            s->scalar = c != '{' && c != '[';
        }
        if (s->scalar) {
            /* A bare token ("garbage", 123): it ends at white space, and
             * is never a valid request, but the reply says why. */
            if (is_space(c) && !s->in_str) {
                handle_message(s);
                reset_message(s);
                continue;
            }
            if (c == '\n') {
                fail_message(s, "JSON parse error, unterminated string", false);
                continue;
            }
            if (!append(s, c))
                continue;
            if (s->esc)
                s->esc = false;
            else if (c == '\\' && s->in_str)
                s->esc = true;
            else if (c == '"')
                s->in_str = !s->in_str;
            continue;
        }
        if (s->in_str && c == '\n') {
            fail_message(s, "JSON parse error, newline inside a string", false);
            continue;
        }
        if (!append(s, c))
            continue;
        if (s->in_str) {
            if (s->esc)
                s->esc = false;
            else if (c == '\\')
                s->esc = true;
            else if (c == '"')
                s->in_str = false;
            continue;
        }
        switch (c) {
        case '"':
            s->in_str = true;
            break;
        case '{':
        case '[':
            if (++s->depth > QMP_MAX_NESTING)
                fail_message(s, "JSON parse error, nesting deeper than 64", true);
            break;
        case '}':
        case ']':
            if (--s->depth == 0) {
                handle_message(s);
                reset_message(s);
            }
            break;
        default:
            break;
        }
    }
    return i;
}

/* ---- events ---------------------------------------------------------- */

static void event_sink(const char *event, void *data, uint64_t wall_ns)
{
    json_t *ev = json_pack("{s:{s:I,s:I},s:s,s:o}", "timestamp",
                           "seconds", (json_int_t)(wall_ns / 1000000000u),
                           "microseconds", (json_int_t)(wall_ns % 1000000000u / 1000u),
                           "event", event, "data", (json_t *)data);
    vs_list_for_each_safe(l, &sessions) {
        struct qmp_session *s = vs_list_entry(l, struct qmp_session, link);
        if (s->negotiated)
            send_json(s, json_incref(ev));
    }
    json_decref(ev);
    /* Events that mean what the daemon serves has changed without a
     * command saying so: an export gone once its clients left, a job's
     * pivot. */
    if (strcmp(event, "BLOCK_EXPORT_DELETED") != 0 &&
        strcmp(event, "BLOCK_JOB_COMPLETED") != 0)
        return;
    if (qmp_state_save_async)
        qmp_state_save_async(qmp_nobody_waits, NULL);
}

void qmp_events_init(void)
{
    vs_event_set_sink(event_sink);
}
