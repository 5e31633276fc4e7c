/* Session and status commands: qmp_capabilities (the negotiation every
 * client starts with), query-version, query-commands, the daemon's uptime
 * and quit. */
#include "monitor.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* When the process started (CLOCK_MONOTONIC), taken before main. */
static struct timespec started;

__attribute__((constructor)) static void note_start(void)
{
    clock_gettime(CLOCK_MONOTONIC, &started);
}

static const char *const capability_values[] = { "oob", NULL };

static const struct qmp_arg capabilities_members[] = {
    { "enable", QT_ANY, true,
      .doc = "list of capabilities to enable; none is offered, so only [] is accepted" },
    { 0 },
};
static const struct qmp_schema capabilities_schema = { capabilities_members };

static json_t *cmd_qmp_capabilities(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    json_t *enable = json_object_get(args, "enable");
    if (enable) {
        if (!json_is_array(enable)) {
            vs_error_set(err, VS_ERR_GENERIC,
                         "Invalid parameter type for 'enable', expected: array");
            return NULL;
        }
        size_t i;
        json_t *v;
        json_array_foreach(enable, i, v) {
            const char *name = json_string_value(v);
            bool known = false;
            for (const char *const *c = capability_values; name && *c; c++)
                known |= strcmp(*c, name) == 0;
            if (!name) {
                vs_error_set(err, VS_ERR_GENERIC,
                             "Invalid parameter type for 'enable[%zu]', expected: string", i);
            } else if (!known) {
                vs_error_set(err, VS_ERR_GENERIC,
                             "Parameter 'enable[%zu]' does not accept value '%s'", i, name);
            } else {
                /* QEMU's wording for a capability the server did not offer. */
                vs_error_set(err, VS_ERR_GENERIC, "Capability '%s' not available", name);
            }
            return NULL;
        }
    }
    if (ctx->session)
        qmp_session_set_negotiated(ctx->session);
    return json_object();
}

static json_t *cmd_query_version(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    return qmp_version_info();
}

/* What Nova's hypervisor uptime shows of a host (uptime(1)'s line),
 * from the daemon that is volswap's hypervisor: how long it has run,
 * the wall clock and the machine's load averages. */
static json_t *cmd_query_uptime(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double load[3] = { 0, 0, 0 };
    json_t *avg = json_array();
    if (getloadavg(load, 3) == 3)
        for (int i = 0; i < 3; i++)
            json_array_append_new(avg, json_real(load[i]));
    return json_pack("{s:I, s:I, s:o}", "seconds", (json_int_t)(now.tv_sec - started.tv_sec),
                     "time", (json_int_t)time(NULL), "load-average", avg);
}

static void add_name(const struct qmp_command *c, void *opaque)
{
    json_array_append_new(opaque, json_pack("{s:s}", "name", c->name));
}

static json_t *cmd_query_commands(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    json_t *list = json_array();
    qmp_command_foreach(add_name, list);
    return list;
}

static json_t *cmd_quit(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    /* The daemon starts its shutdown from a bottom half, so this reply is
     * queued first; shutdown sends every client what is queued for it
     * before closing it. */
    if (qmp_quit_requested)
        qmp_quit_requested();
    return json_object();
}

static void add_mark(const char *event, const char *subject, uint64_t wall_ns,
                     uint64_t mono_ns, uint64_t max_write_ns, uint64_t max_read_ns,
                     void *opaque)
{
    json_t *m = json_pack("{s:s, s:{s:I, s:I}, s:I, s:I, s:I}", "event", event,
                          "timestamp", "seconds", (json_int_t)(wall_ns / 1000000000u),
                          "microseconds", (json_int_t)(wall_ns % 1000000000u / 1000u),
                          "clock-ns", (json_int_t)mono_ns,
                          "max-write-ns", (json_int_t)max_write_ns,
                          "max-read-ns", (json_int_t)max_read_ns);
    if (subject)
        json_object_set_new(m, "subject", json_string(subject));
    json_array_append_new(opaque, m);
}

static json_t *cmd_query_trace(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    json_t *list = json_array();
    vs_trace_foreach(add_mark, list, json_is_true(json_object_get(args, "clear")));
    return list;
}

static const struct qmp_arg query_trace_members[] = {
    { "clear", QT_BOOL, true, .doc = "forget the marks returned (default false)" },
    { 0 },
};
static const struct qmp_schema query_trace_schema = { query_trace_members };

const struct qmp_command qmp_session_commands[] = {
    { "qmp_capabilities", &capabilities_schema, cmd_qmp_capabilities,
      "Leave capabilities negotiation mode. The only command accepted before it; "
      "afterwards it fails with CommandNotFound. No capability is offered.",
      .before_negotiation = true },
    { "query-version", NULL, cmd_query_version,
      "The QEMU version whose QMP volswapd speaks, and volswap's own.",
      .returns =
          "`{\"qemu\": {\"major\", \"minor\", \"micro\"}, \"package\": \"volswap X.Y.Z\"}`" },
    { "x-volswap-query-uptime", NULL, cmd_query_uptime,
      "How long this volswapd has run, what Nova's hypervisor uptime reports of a "
      "host whose hypervisor is this daemon.",
      .returns = "`{\"seconds\": int (since the daemon started), \"time\": int (the host's "
                 "wall clock, seconds since the epoch), \"load-average\": [1, 5, 15 minutes] "
                 "(the host's; empty when unknown)}`" },
    { "query-commands", NULL, cmd_query_commands, "Every command of this table.",
      .returns = "`[{\"name\": string}, ...]`" },
    { "x-volswap-query-trace", &query_trace_schema, cmd_query_trace,
      "volswap's phase trace, oldest first: each QMP command received and "
      "answered, each job status change, and the steps of a mirror (scan done, "
      "write-through, the target's flush before READY, quiesce, drain, final sync, replace, release, the flush "
      "of the target and the state save that make a pivot durable, the first "
      "guest write on the target, and at READY how long the copy pacer held copies back "
      "so the guest's writes ran first). Each mark carries the longest guest write and read (through "
      "an export) that completed since the mark before it, so a step that holds "
      "guest requests shows at the mark that ends it. The last 1024 marks are kept.",
      .returns = "`[{\"event\": string, \"subject\": string (a node, job or command), "
                 "\"timestamp\": {\"seconds\", \"microseconds\"} (wall clock), "
                 "\"clock-ns\": int (monotonic), \"max-write-ns\": int, "
                 "\"max-read-ns\": int}, ...]`" },
    { "quit", NULL, cmd_quit,
      "Shut down as on SIGTERM: the reply is sent, NBD requests in flight finish, "
      "every node is flushed, the daemon exits 0." },
    { 0 },
};
