/* The command registry: every table of commands in one list, lookup by
 * name, dispatch — validate, run, and tell the daemon when what it serves
 * has changed — and the reference documentation generated from the same
 * tables. New command files add their table to `tables`. */
#include "monitor.h"

#include <string.h>

void (*qmp_state_save_async)(vs_saved_fn *done, void *opaque);

void qmp_nobody_waits(void *opaque, const struct vs_error *err)
{
}
void (*qmp_quit_requested)(void);
bool qmp_sandbox;

static const struct qmp_command *const tables[] = {
    qmp_session_commands,
    qmp_block_commands,
    qmp_nbd_commands,
    qmp_job_commands,
    qmp_object_commands,
    qmp_iothread_commands,
    qmp_pool_commands,
};

const struct qmp_command *qmp_command_find(const char *name)
{
    for (size_t t = 0; t < VS_ARRAY_SIZE(tables); t++)
        for (const struct qmp_command *c = tables[t]; c->name; c++)
            if (strcmp(c->name, name) == 0)
                return c;
    return NULL;
}

void qmp_command_foreach(void (*f)(const struct qmp_command *c, void *opaque), void *opaque)
{
    for (size_t t = 0; t < VS_ARRAY_SIZE(tables); t++)
        for (const struct qmp_command *c = tables[t]; c->name; c++)
            f(c, opaque);
}

json_t *qmp_dispatch(struct qmp_ctx *ctx, const char *name, json_t *args, bool keyval,
                     struct vs_error *err)
{
    const struct qmp_command *cmd = qmp_command_find(name);
    if (!cmd) {
        vs_error_set(err, VS_ERR_COMMAND_NOT_FOUND, "The command %s has not been found", name);
        return NULL;
    }
    json_t *checked;
    if (cmd->args) {
        json_t *empty = args ? NULL : json_object();
        checked = qmp_schema_check(cmd->args, args ? args : empty, keyval, err);
        json_decref(empty);
        if (!checked)
            return NULL;
    } else {
        if (args && (!json_is_object(args) || json_object_size(args) > 0)) {
            const char *key = NULL;
            json_t *v;
            if (json_is_object(args))
                json_object_foreach(args, key, v) break;
            if (key)
                vs_error_set(err, VS_ERR_GENERIC, "Parameter '%s' is unexpected", key);
            else
                vs_error_set(err, VS_ERR_GENERIC,
                             "Invalid parameter type for 'arguments', expected: object");
            return NULL;
        }
        checked = json_object();
    }
    ctx->deferred = false;
    json_t *ret = cmd->handler(ctx, checked, err);
    json_decref(checked);
    if (ret && cmd->mutates && qmp_state_save_async) {
        if (ctx->pending) {
            /* The reply goes out when the state is on disk. */
            qmp_pending_finish(qmp_defer(ctx), ret, NULL);
            return NULL;
        }
        qmp_state_save_async(qmp_nobody_waits, NULL);
    }
    return ret;
}

/* ---- the reference document ------------------------------------------- */

static const char *doc_type(const struct qmp_arg *a)
{
    switch (a->type) {
    case QT_STR: return "string";
    case QT_INT: return "int";
    case QT_SIZE: return "size";
    case QT_BOOL: return "bool";
    case QT_ENUM: return "enum";
    case QT_OBJ: return "object";
    case QT_STR_OR_OBJ: return "string or object";
    case QT_ANY: return "any";
    default: return "?";
    }
}

/* Schemas met while writing one command, so a recursive one (raw's
 * "file" is itself a BlockdevOptions) is written once. */
struct doc_seen {
    const struct qmp_schema *s[32];
    size_t n;
};

/* `label` is a branch condition ("driver=file: "), `path` the members
 * above this one ("cache."). */
static void write_members(FILE *out, const struct qmp_arg *list, const char *label,
                          const char *path, struct doc_seen *seen);

static void write_schema(FILE *out, const struct qmp_schema *schema, const char *label,
                         const char *path, struct doc_seen *seen)
{
    for (size_t i = 0; i < seen->n; i++)
        if (seen->s[i] == schema)
            return;
    if (seen->n < VS_ARRAY_SIZE(seen->s))
        seen->s[seen->n++] = schema;
    write_members(out, schema->members, label, path, seen);
    for (const struct qmp_branch *b = schema->branches; b && b->value; b++) {
        char l[256];
        snprintf(l, sizeof(l), "%s%s%s=%s: ", label, path, schema->discriminator, b->value);
        write_members(out, b->members, l, path, seen);
    }
}

static void write_members(FILE *out, const struct qmp_arg *list, const char *label,
                          const char *path, struct doc_seen *seen)
{
    for (const struct qmp_arg *a = list; a && a->type != QT_NONE; a++) {
        fprintf(out, "| %s`%s%s` | %s | %s | %s", label, path, a->name, doc_type(a),
                a->optional ? "optional" : "required", a->doc ? a->doc : "");
        if (a->type == QT_ENUM) {
            fprintf(out, " (");
            for (const char *const *e = a->enum_values; *e; e++)
                fprintf(out, "%s`%s`", e == a->enum_values ? "" : ", ", *e);
            fprintf(out, ")");
        }
        fprintf(out, " |\n");
        if ((a->type == QT_OBJ || a->type == QT_STR_OR_OBJ) && a->schema) {
            char p[256];
            snprintf(p, sizeof(p), "%s%s.", path, a->name);
            write_schema(out, a->schema, label, p, seen);
        }
    }
}

static void write_command(const struct qmp_command *c, void *opaque)
{
    FILE *out = opaque;
    fprintf(out, "## %s\n\n%s\n\n", c->name, c->doc ? c->doc : "");
    if (c->args) {
        struct doc_seen seen = { .n = 0 };
        fprintf(out, "| argument | type | | meaning |\n|---|---|---|---|\n");
        write_schema(out, c->args, "", "", &seen);
        fprintf(out, "\n");
    } else {
        fprintf(out, "No arguments.\n\n");
    }
    fprintf(out, "Returns: %s.%s%s\n\n", c->returns ? c->returns : "`{}`",
            c->mutates ? " Changes the saved state." : "",
            c->before_negotiation ? " Allowed before negotiation." : "");
}

void qmp_write_reference(FILE *out)
{
    fprintf(out,
            "# volswapd QMP reference\n\n"
            "Generated from the command table by `volswapd --dump-commands`; do not\n"
            "edit by hand (tests/integration/qmp/reference-doc-is-up-to-date.sh\n"
            "fails when it is stale). Argument names, types and replies are QEMU's\n"
            "(qapi schema of qemu-storage-daemon 7.2); a member `a.b` is `b` inside\n"
            "the object `a`, and `driver=file: x` is a member allowed only when\n"
            "`driver` is `file`.\n\n");
    qmp_command_foreach(write_command, out);
}
