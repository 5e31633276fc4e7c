/* The records of the registry described once for both backends: each
 * record type is a table of its columns (name, type, where it lives in its
 * struct reg_*), each statement names the record it binds and the record a
 * row of it holds, and the operations that are the same in every backend
 * (writes, reads by key, lists) are written once here over three
 * primitives each backend provides: run a statement, read one row, read
 * every row. A backend keeps the SQL text its dialect spells its own way,
 * its connections and transactions, and the few operations it answers its
 * own way. Private to src/api/registry. */
#ifndef VOLSWAP_API_REGISTRY_FIELDS_H
#define VOLSWAP_API_REGISTRY_FIELDS_H

#include "registry.h"
#include "statements.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a column is kept in its struct: a char array (TEXT), a bool stored
 * as 0/1 (BOOL), an int (INT), an int64_t (INT64), or a char * the reader
 * allocates (DUP: a document of any length, which the caller frees). */
enum reg_type { REG_TEXT, REG_BOOL, REG_INT, REG_INT64, REG_DUP };

struct reg_col {
    const char *name; /* the column's name in SQL */
    enum reg_type type;
    size_t off, size; /* where in the struct, and (TEXT) the array's size */
};

/* A record type: COLS is the column list its statements spell (one of
 * statements.h's macros), COL the same columns in the same order (a unit
 * test checks that they agree, and every statement's placeholders against
 * the record it binds). A write binds NBIND fields: the columns, then
 * (swaps) values that are parameters without being columns. A record
 * whose TABLE is named has its INSERT and UPDATE made from COL (the
 * update sets the columns after the NKEYS first, which pick the row). */
struct reg_record {
    const char *cols;
    const struct reg_col *col;
    int ncols, nbind;
    const char *table;
    int nkeys;
};

/* One parameter of a statement: TYPE says what V points to (a string for
 * TEXT, which may be NULL; else the number or flag). */
struct reg_param {
    enum reg_type type;
    const void *v;
};
#define REG_MAX_PARAMS 32

/* What each statement binds (BIND: a record's fields, after the key
 * parameters a few take first; NULL: keys only) and what a row of it
 * holds (ROW). A statement MADE is the INSERT or UPDATE of BIND's record,
 * its text made from the record's columns (reg_made_sql). */
enum reg_made { REG_WRITTEN, REG_MADE_INSERT, REG_MADE_UPDATE };
struct reg_stmt {
    const struct reg_record *bind, *row;
    enum reg_made made;
};
extern const struct reg_stmt reg_stmts[Q__SHARED];

/* The text of statement Q when the records make it (with PostgreSQL's
 * $N), else WRITTEN, the backend's own; NULL when out of memory. */
const char *reg_made_sql(int q, const char *written);

/* The primitives a backend gives the shared operations. EXEC runs a
 * statement that returns no rows (1 when NONE_IS_1 and it changed none);
 * GET reads the first row of Q into OUT as reg_stmts[q].row says (1 when
 * there is none); LIST reads every row into an array of ELEM-sized items
 * (*OUT NULL when there are none; caller frees). WHAT names the call in
 * the error. */
struct reg_backend {
    int (*exec)(struct registry *r, int q, const struct reg_param *p, int n, const char *what,
                bool none_is_1);
    int (*get)(struct registry *r, int q, const struct reg_param *p, int n, void *out,
               const char *what);
    int (*list)(struct registry *r, int q, const struct reg_param *p, int n, size_t elem,
                void **out, size_t *count, const char *what);
};

/* A backend's registry starts with this, so that the shared operations
 * find its primitives. */
struct reg_impl {
    struct registry base;
    const struct reg_backend *prim;
};

/* The parameters of a write of OBJ as REC says: its NBIND fields. */
int reg_params_of(struct reg_param *p, const struct reg_record *rec, const void *obj);
/* Where column I of REC lives in OBJ. */
static inline void *reg_field(const struct reg_record *rec, int i, const void *obj)
{
    return (char *)obj + rec->col[i].off;
}

/* Statement texts as each backend prepares them, for the unit test that
 * checks them against the records (the first Q__SHARED of each). */
const char *reg_sqlite_sql(int q);
const char *reg_postgres_sql(int q);

/* The message and kind of the last failed call on this thread, which
 * last_error and last_error_kind answer. */
extern __thread char reg_last_error[512];
extern __thread enum reg_error_kind reg_last_kind;
void reg_set_error(enum reg_error_kind kind, const char *what, const char *msg);

/* The records some backend code reads by hand: a server's view rows, an
 * attachment (the columns ATT_COLS), and its view (ATT_VIEW_COLS). */
extern const struct reg_record reg_server_rec, reg_attachment_rec, reg_att_view_rec;

/* ---- the shared operations (fields.c) ---- */

/* Every operation the same in both backends, named reg_op_<its field of
 * struct registry_ops>; REG_DEFAULT_OPS those a backend may answer its own
 * way instead (PostgreSQL answers reads of a server and its attachments
 * from a read scope's view). A backend's table is REG_SHARED_OPS(REG_OP),
 * the defaults it keeps, and its own (transactions, server_view, ...). */
/* clang-format off */
#define REG_SHARED_OPS(X)                                                        \
    X(host_put) X(host_list) X(server_insert) X(server_update) X(server_list)    \
    X(volume_insert) X(volume_get) X(volume_update) X(volume_delete)             \
    X(volume_list) X(volume_path_used)                                           \
    X(attachment_insert) X(attachment_update) X(attachment_get_by_id)            \
    X(attachment_get_by_volume) X(attachment_delete)                             \
    X(action_insert) X(action_update) X(action_get) X(action_list)               \
    X(event_insert) X(event_update) X(event_list)                                \
    X(token_put) X(token_delete) X(token_purge)                                  \
    X(meta_list) X(meta_put) X(meta_delete)                                      \
    X(swap_insert) X(swap_update) X(swap_lease_renew) X(swap_lease_take)         \
    X(swap_unfinished) X(swap_latest) X(swap_get) X(swap_all)                    \
    X(swap_series_put) X(swap_series_get)                                        \
    X(keypair_get) X(keypair_list) X(keypair_delete)                             \
    X(image_insert) X(image_get) X(image_update) X(image_list)                   \
    X(member_put) X(member_get) X(member_delete) X(member_list)                  \
    X(metadef_put) X(metadef_get) X(metadef_list) X(metadef_delete)              \
    X(metadef_rename) X(last_error) X(last_error_kind)
#define REG_DEFAULT_OPS(X)                                                       \
    X(server_get) X(attachment_get) X(attachment_list) X(token_get) X(image_delete)
/* clang-format on */
#define REG_OP_DECL(op) extern __typeof__(*((struct registry_ops *)0)->op) reg_op_##op;
REG_SHARED_OPS(REG_OP_DECL)
REG_DEFAULT_OPS(REG_OP_DECL)
#define REG_OP(op) .op = reg_op_##op,
/* What every backend answers its own way, named P_<op> (sq_close, ...). */
#define REG_BACKEND_OPS(P)                                                                  \
    .close = P##_close, .begin = P##_begin, .commit = P##_commit, .rollback = P##_rollback, \
    .read_begin = P##_read_begin, .read_end = P##_read_end, .server_view = P##_server_view, \
    .read_hint_server = P##_read_hint_server, .keypair_insert = P##_keypair_insert,

/* The first row of Q for keys K1 (and K2 unless NULL) into OUT: 0, 1 when
 * there is none, -1. */
int reg_op_get_by(struct registry *r, int q, const char *k1, const char *k2, void *out);

#endif
