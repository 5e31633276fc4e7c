/* The command registry: every table of commands in one list, lookup by
 * name, and dispatch — validate, run, and tell the daemon when what it
 * serves has changed. New command files add their table to `tables`. */
#include "monitor.h"

#include <string.h>

void (*qmp_state_changed)(void);

static const struct qmp_command *const tables[] = {
    qmp_block_commands,
    qmp_nbd_commands,
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
    json_t *ret = cmd->handler(ctx, checked, err);
    json_decref(checked);
    if (ret && cmd->mutates && qmp_state_changed)
        qmp_state_changed();
    return ret;
}
