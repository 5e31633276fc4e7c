/* The public face of src/monitor: the command table, and the QMP server
 * that speaks QEMU's wire protocol over it.
 *
 * Every command is declared once, as a struct qmp_command: its name, the
 * schema of its arguments and its handler. The same declaration
 *  - validates arguments before the handler runs (unknown keys, wrong
 *    types, missing required members and bad enum values are errors with
 *    no side effect — the handler only ever sees well-typed input);
 *  - converts command-line option strings ("file,node-name=x,read-only=on")
 *    to the typed object a QMP client would have sent, so `--blockdev` and
 *    `blockdev-add` run one code path;
 *  - answers query-commands and generates docs/qmp-reference.md.
 *
 * Handlers return a new JSON reference (the "return" value; {} when there
 * is nothing to return) or NULL with the error set. */
#ifndef VOLSWAP_MONITOR_H
#define VOLSWAP_MONITOR_H

#include "../nbd/nbd.h"

#include <jansson.h>

enum qmp_type {
    QT_NONE = 0,   /* ends an argument list */
    QT_STR,
    QT_INT,        /* int64 */
    QT_SIZE,       /* uint64; keyval accepts k/M/G/T suffixes */
    QT_BOOL,
    QT_ENUM,       /* a string from enum_values */
    QT_OBJ,        /* an object following `schema` */
    QT_STR_OR_OBJ, /* QEMU's alternates (BlockdevRef): a string, or an object */
    QT_ANY,        /* any JSON value, passed through */
};

struct qmp_schema;

struct qmp_arg {
    const char *name;
    enum qmp_type type;
    bool optional;
    const struct qmp_schema *schema;      /* QT_OBJ, QT_STR_OR_OBJ */
    const char *const *enum_values;       /* QT_ENUM, NULL terminated */
    const char *doc;
};

/* A flat union, as QAPI has them: base members, and the member named
 * `discriminator` (an enum among the base) picks extra members. */
struct qmp_branch {
    const char *value;
    const struct qmp_arg *members;
};

struct qmp_schema {
    const struct qmp_arg *members;        /* QT_NONE terminated */
    const char *discriminator;            /* NULL: no branches */
    const struct qmp_branch *branches;    /* NULL-value terminated */
};

struct qmp_session;

struct qmp_ctx {
    struct vs_loop *loop;
    struct qmp_session *session;          /* NULL for the command line */
};

struct qmp_command {
    const char *name;
    const struct qmp_schema *args;        /* NULL: takes no arguments */
    json_t *(*handler)(struct qmp_ctx *ctx, json_t *args, struct vs_error *err);
    const char *doc;
    bool before_negotiation;              /* only qmp_capabilities */
    bool mutates;                         /* success changes saved state */
};

/* ---- schema.c ---------------------------------------------------------- */

/* Checks `in` against `schema` and returns a new, typed copy (or NULL with
 * err set). With keyval, string values are converted to the declared
 * types (on/off, numbers with suffixes) as the command line needs. */
json_t *qmp_schema_check(const struct qmp_schema *schema, json_t *in, bool keyval,
                         struct vs_error *err);

/* ---- commands.c -------------------------------------------------------- */

const struct qmp_command *qmp_command_find(const char *name);
/* Calls f for every command, in table order. */
void qmp_command_foreach(void (*f)(const struct qmp_command *c, void *opaque), void *opaque);
/* Validates args (may be NULL) and runs the command. */
json_t *qmp_dispatch(struct qmp_ctx *ctx, const char *name, json_t *args, bool keyval,
                     struct vs_error *err);

/* Command tables, one per file that defines commands. */
extern const struct qmp_command qmp_block_commands[];
extern const struct qmp_command qmp_nbd_commands[];

/* ---- daemon state hooks ------------------------------------------------ */

/* Called after every command that changed what the daemon serves (nodes,
 * exports, server): the daemon saves its state file there. */
extern void (*qmp_state_changed)(void);

#endif
