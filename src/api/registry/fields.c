/* The registry's records described as tables of columns, which statement
 * binds and reads which record, and the operations both backends share,
 * written once over the backend's primitives (fields.h). Behaviour is the
 * backends' own: each binds and reads a column as its type says, and the
 * names of the calls in the error messages are the ones each used. */
#include "fields.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
/* A column of the struct REC (defined around each table): field F under
 * the name N, of TYPE. */
#define COLN(F, N, TYPE) { N, REG_##TYPE, offsetof(REC, F), sizeof(((REC *)0)->F) }
#define COL(F, TYPE)     COLN(F, #F, TYPE)
#define RECORD(COLS, ARR, NCOLS) \
    { COLS, ARR, NCOLS, NCOLS, NULL, 0 }
/* a record whose INSERT and UPDATE are made from its columns */
#define TABLE(COLS, ARR, TABLE, NKEYS) \
    { COLS, ARR, N(ARR), N(ARR), TABLE, NKEYS }

#define REC struct reg_host
static const struct reg_col host_cols[] = {
    COL(name, TEXT),
    COL(driver, TEXT),
    COL(qmp, TEXT),
    COL(nbd, TEXT),
};
#undef REC
#define REC struct reg_server
static const struct reg_col server_cols[] = {
    COL(id, TEXT),
    COL(name, TEXT),
    COL(project_id, TEXT),
    COL(user_id, TEXT),
    COL(host, TEXT),
    COL(status, TEXT),
    COL(vm_state, TEXT),
    COL(task_state, TEXT),
    COL(locked, BOOL),
    COL(created_at, TEXT),
    COL(updated_at, TEXT),
};
#undef REC
#define REC struct reg_volume
static const struct reg_col volume_cols[] = {
    COL(id, TEXT),
    COL(project_id, TEXT),
    COL(user_id, TEXT),
    COL(name, TEXT),
    COL(description, TEXT),
    COL(size_gb, INT64),
    COL(host, TEXT),
    COL(pool, TEXT),
    COL(path, TEXT),
    COL(status, TEXT),
    COL(attach_status, TEXT),
    COL(migration_status, TEXT),
    COL(created_at, TEXT),
    COL(updated_at, TEXT),
    COL(bootable, BOOL),
    COL(readonly, INT),
};
#undef REC
#define REC struct reg_attachment
static const struct reg_col att_cols[] = {
    COL(id, TEXT),
    COL(bdm_uuid, TEXT),
    COL(server_id, TEXT),
    COL(volume_id, TEXT),
    COL(device, TEXT),
    COL(tag, TEXT),
    COL(delete_on_termination, BOOL),
    COL(node_name, TEXT),
    COL(export_id, TEXT),
    COL(export_name, TEXT),
    COL(connection_info, TEXT),
    COL(created_at, TEXT),
};
#undef REC
#define REC struct reg_attachment_view
static const struct reg_col att_view_cols[] = {
    COL(id, TEXT),
    COL(bdm_uuid, TEXT),
    COL(volume_id, TEXT),
    COL(device, TEXT),
    COL(tag, TEXT),
    COL(delete_on_termination, BOOL),
};
#undef REC
#define REC struct reg_action
static const struct reg_col action_cols[] = {
    COL(request_id, TEXT),
    COL(server_id, TEXT),
    COL(action, TEXT),
    COL(project_id, TEXT),
    COL(user_id, TEXT),
    COL(message, TEXT),
    COL(start_time, TEXT),
    COL(updated_at, TEXT),
};
#undef REC
#define REC struct reg_event
static const struct reg_col event_cols[] = {
    COL(request_id, TEXT),
    COL(event, TEXT),
    COL(start_time, TEXT),
    COL(finish_time, TEXT),
    COL(result, TEXT),
    COL(traceback, TEXT),
    COL(host, TEXT),
    COL(details, TEXT),
};
#undef REC
#define REC struct reg_token
static const struct reg_col token_cols[] = {
    COL(id_hash, TEXT),
    COL(auth, TEXT),
    COL(expires, INT64),
};
#undef REC
#define REC struct reg_meta
static const struct reg_col meta_cols[] = {
    COL(key, TEXT),
    COL(value, TEXT),
};
#undef REC
/* the lease's length is bound after the columns, and is not one */
#define REC struct reg_swap
static const struct reg_col swap_cols[] = {
    COL(id, TEXT),
    COL(kind, TEXT),
    COL(server_id, TEXT),
    COL(project_id, TEXT),
    COL(user_id, TEXT),
    COL(host, TEXT),
    COL(old_volume_id, TEXT),
    COL(new_volume_id, TEXT),
    COL(attachment_id, TEXT),
    COL(old_node, TEXT),
    COL(new_node, TEXT),
    COL(old_path, TEXT),
    COL(old_size_gb, INT64),
    COL(new_size_gb, INT64),
    COL(phase, TEXT),
    COL(error, TEXT),
    COL(started_at, TEXT),
    COL(updated_at, TEXT),
    COL(bytes_total, INT64),
    COL(bytes_done, INT64),
    COL(mirror_ms, INT64),
    COL(pivot_ms, INT64),
    COL(total_ms, INT64),
    COL(owner, TEXT),
    COL(epoch, INT64),
    COLN(lease_ms, NULL, INT64),
};
#undef REC
#define REC struct reg_keypair
static const struct reg_col keypair_cols[] = {
    COL(id, INT64),
    COL(user_id, TEXT),
    COL(name, TEXT),
    COL(type, TEXT),
    COL(fingerprint, TEXT),
    COL(public_key, TEXT),
    COL(created_at, TEXT),
};
#undef REC
#define REC struct reg_image
static const struct reg_col image_cols[] = {
    COL(id, TEXT),
    COL(owner, TEXT),
    COL(name, TEXT),
    COL(status, TEXT),
    COL(visibility, TEXT),
    COL(disk_format, TEXT),
    COL(container_format, TEXT),
    COL(size, INT64),
    COL(virtual_size, INT64),
    COL(checksum, TEXT),
    COL(os_hash_algo, TEXT),
    COL(os_hash_value, TEXT),
    COL(min_disk, INT64),
    COL(min_ram, INT64),
    COLN(protected_, "protected", BOOL),
    COL(os_hidden, BOOL),
    COL(created_at, TEXT),
    COL(updated_at, TEXT),
};
#undef REC
#define REC struct reg_image_member
static const struct reg_col member_cols[] = {
    COL(image_id, TEXT),
    COL(member, TEXT),
    COL(status, TEXT),
    COL(created_at, TEXT),
    COL(updated_at, TEXT),
};
#undef REC
#define REC struct reg_metadef
static const struct reg_col metadef_cols[] = {
    COL(kind, TEXT),
    COLN(ns, "namespace", TEXT),
    COL(name, TEXT),
    COL(body, TEXT),
    COL(created_at, TEXT),
    COL(updated_at, TEXT),
};
#undef REC
/* a whole document (the swap series), a flag (is there a row) */
static const struct reg_col series_cols[] = { { "series", REG_DUP, 0, sizeof(char *) } };
static const struct reg_col flag_cols[] = { { "1", REG_BOOL, 0, sizeof(bool) } };
/* clang-format on */

#define N(a) (int)(sizeof a / sizeof a[0])
static const struct reg_record host_rec = RECORD(HOST_COLS, host_cols, N(host_cols));
const struct reg_record reg_server_rec = TABLE(SRV_COLS, server_cols, "servers", 1);
static const struct reg_record volume_rec = TABLE(VOL_COLS, volume_cols, "volumes", 1);
const struct reg_record reg_attachment_rec = TABLE(ATT_COLS, att_cols, "attachments", 1);
const struct reg_record reg_att_view_rec = RECORD(ATT_VIEW_COLS, att_view_cols, N(att_view_cols));
/* an action is picked by its request and its server, an event by its
 * request and its name */
static const struct reg_record action_rec = TABLE(ACT_COLS, action_cols, "instance_actions", 2);
static const struct reg_record event_rec = TABLE(EV_COLS, event_cols, "instance_action_events", 2);
static const struct reg_record token_rec = RECORD(TOK_COLS, token_cols, N(token_cols));
static const struct reg_record meta_rec = RECORD(META_COLS, meta_cols, N(meta_cols));
static const struct reg_record swap_rec = {
    .cols = SWAP_COLS, .col = swap_cols, .ncols = N(swap_cols) - 1, .nbind = N(swap_cols)
};
static const struct reg_record keypair_rec = RECORD(KP_COLS, keypair_cols, N(keypair_cols));
static const struct reg_record keypair_new_rec =
    RECORD(KP_NEW_COLS, keypair_cols + 1, N(keypair_cols) - 1);
static const struct reg_record keypair_id_rec = RECORD("id", keypair_cols, 1);
static const struct reg_record image_rec = TABLE(IMG_COLS, image_cols, "images", 1);
static const struct reg_record member_rec = RECORD(MEM_COLS, member_cols, N(member_cols));
static const struct reg_record metadef_rec = RECORD(MDEF_COLS, metadef_cols, N(metadef_cols));
static const struct reg_record series_rec = RECORD("series", series_cols, 1);
static const struct reg_record flag_rec = RECORD("1", flag_cols, 1);

/* clang-format off */
#define W(q, rec) [Q_##q] = { .bind = &rec }
#define R(q, rec) [Q_##q] = { .row = &rec }
#define INS(q, rec) [Q_##q] = { .bind = &rec, .made = REG_MADE_INSERT }
#define UPD(q, rec) [Q_##q] = { .bind = &rec, .made = REG_MADE_UPDATE }
const struct reg_stmt reg_stmts[Q__SHARED] = {
    W(HOST_PUT, host_rec), R(HOST_LIST, host_rec),
    INS(SRV_INS, reg_server_rec), UPD(SRV_UPD, reg_server_rec), R(SRV_GET, reg_server_rec),
    R(SRV_LIST, reg_server_rec), R(SRV_LIST_ALL, reg_server_rec), R(SRV_VIEW, reg_server_rec),
    INS(VOL_INS, volume_rec), UPD(VOL_UPD, volume_rec), R(VOL_GET, volume_rec),
    R(VOL_LIST, volume_rec), R(VOL_LIST_ALL, volume_rec), R(VOL_PATH, flag_rec),
    INS(ATT_INS, reg_attachment_rec), UPD(ATT_UPD, reg_attachment_rec),
    R(ATT_GET, reg_attachment_rec), R(ATT_GET_ID, reg_attachment_rec),
    R(ATT_GET_VOL, reg_attachment_rec), R(ATT_LIST, reg_attachment_rec),
    R(ATT_LIST_ALL, reg_attachment_rec),
    INS(ACT_INS, action_rec), UPD(ACT_UPD, action_rec), R(ACT_GET, action_rec),
    R(ACT_LIST, action_rec),
    INS(EV_INS, event_rec), UPD(EV_UPD, event_rec), R(EV_LIST, event_rec),
    W(TOK_PUT, token_rec), R(TOK_GET, token_rec),
    R(MD_LIST, meta_rec),
    [Q_MD_PUT] = { .bind = &meta_rec }, /* after the kind and the owner */
    W(SWAP_INS, swap_rec), W(SWAP_UPD, swap_rec), R(SWAP_OPEN, swap_rec),
    R(SWAP_LATEST, swap_rec), R(SWAP_GET, swap_rec), R(SWAP_ALL, swap_rec),
    R(LEASE_TAKE, swap_rec), R(SERIES_GET, series_rec),
    [Q_KP_INS] = { .bind = &keypair_new_rec, .row = &keypair_id_rec },
    R(KP_GET, keypair_rec), R(KP_LIST, keypair_rec), R(KP_LIST_ALL, keypair_rec),
    INS(IMG_INS, image_rec), UPD(IMG_UPD, image_rec), R(IMG_GET, image_rec), R(IMG_LIST, image_rec),
    W(MEM_PUT, member_rec), R(MEM_GET, member_rec), R(MEM_LIST, member_rec),
    R(MEM_LIST_BY, member_rec),
    W(MDEF_PUT, metadef_rec), R(MDEF_GET, metadef_rec), R(MDEF_LIST, metadef_rec),
    R(MDEF_LIST_ALL, metadef_rec),
};
/* clang-format on */

/* ---- the statements made from the records ---- */

static char *made_sql[Q__SHARED];
static bool made_ok;

/* INSERT INTO t(cols) VALUES($1,...), or UPDATE t SET c=$k,... WHERE
 * key=$1 AND ...: the column list in the record's order, so that the
 * binder's order is the statement's. */
static char *make_sql(const struct reg_record *rec, enum reg_made made)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    if (made == REG_MADE_INSERT) {
        fprintf(f, "INSERT INTO %s(%s) VALUES(", rec->table, rec->cols);
        for (int i = 0; i < rec->ncols; i++)
            fprintf(f, "%s$%d", i ? "," : "", i + 1);
        fputc(')', f);
    } else {
        fprintf(f, "UPDATE %s SET ", rec->table);
        for (int i = rec->nkeys; i < rec->ncols; i++)
            fprintf(f, "%s%s=$%d", i > rec->nkeys ? "," : "", rec->col[i].name, i + 1);
        for (int i = 0; i < rec->nkeys; i++)
            fprintf(f, " %s %s=$%d", i ? "AND" : "WHERE", rec->col[i].name, i + 1);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void make_all(void)
{
    for (int q = 0; q < Q__SHARED; q++)
        if (reg_stmts[q].made != REG_WRITTEN &&
            !(made_sql[q] = make_sql(reg_stmts[q].bind, reg_stmts[q].made)))
            return;
    made_ok = true;
}

const char *reg_made_sql(int q, const char *written)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_all);
    if (q >= Q__SHARED || reg_stmts[q].made == REG_WRITTEN)
        return written;
    return made_ok ? made_sql[q] : NULL;
}

/* ---- errors ---- */

__thread char reg_last_error[512];
__thread enum reg_error_kind reg_last_kind;

/* A message may end with a newline (libpq's do); the log and the fault
 * body do not want it. */
void reg_set_error(enum reg_error_kind kind, const char *what, const char *msg)
{
    snprintf(reg_last_error, sizeof reg_last_error, "%s: %s", what, msg ? msg : "?");
    size_t n = strlen(reg_last_error);
    while (n && (reg_last_error[n - 1] == '\n' || reg_last_error[n - 1] == ' '))
        reg_last_error[--n] = '\0';
    reg_last_kind = kind;
}

const char *reg_op_last_error(struct registry *r)
{
    return reg_last_error;
}

enum reg_error_kind reg_op_last_error_kind(struct registry *r)
{
    return reg_last_kind;
}

int reg_params_of(struct reg_param *p, const struct reg_record *rec, const void *obj)
{
    for (int i = 0; i < rec->nbind; i++)
        p[i] = (struct reg_param){ rec->col[i].type, reg_field(rec, i, obj) };
    return rec->nbind;
}

/* ---- the primitives, as the operations call them ---- */

static const struct reg_backend *B(struct registry *r)
{
    return ((struct reg_impl *)r)->prim;
}

/* N text parameters, K1 to K3 (a NULL one is bound as the backend binds
 * a missing value). */
static int keys(struct reg_param *p, int n, const char *k1, const char *k2, const char *k3)
{
    const char *k[] = { k1, k2, k3 };
    for (int i = 0; i < n; i++)
        p[i] = (struct reg_param){ REG_TEXT, k[i] };
    return n;
}

/* Writes OBJ with statement Q, after NKEYS key parameters K1, K2. */
static int write_rec(struct registry *r, int q, int nkeys, const char *k1, const char *k2,
                     const void *obj, const char *what, bool none_is_1)
{
    struct reg_param p[REG_MAX_PARAMS];
    int n = keys(p, nkeys, k1, k2, NULL);
    n += reg_params_of(p + n, reg_stmts[q].bind, obj);
    return B(r)->exec(r, q, p, n, what, none_is_1);
}

/* Runs Q with N text keys K1..K3. */
static int exec_keys(struct registry *r, int q, int n, const char *k1, const char *k2,
                     const char *k3, const char *what, bool none_is_1)
{
    struct reg_param p[3] = { { REG_TEXT, NULL } };
    return B(r)->exec(r, q, p, keys(p, n, k1, k2, k3), what, none_is_1);
}

int reg_op_get_by(struct registry *r, int q, const char *k1, const char *k2, void *out)
{
    struct reg_param p[2] = { { REG_TEXT, NULL } };
    return B(r)->get(r, q, p, keys(p, k2 ? 2 : 1, k1, k2, NULL), out, "get");
}

/* Every row of Q_ONE for KEY, or of Q_ALL when KEY is NULL. */
static int list_by(struct registry *r, int q_one, int q_all, const char *key, size_t elem,
                   void **out, size_t *n)
{
    struct reg_param p[1] = { { REG_TEXT, NULL } };
    int np = keys(p, key ? 1 : 0, key, NULL, NULL);
    return B(r)->list(r, np ? q_one : q_all, p, np, elem, out, n, "list");
}

static int list_all(struct registry *r, int q, size_t elem, void **out, size_t *n, const char *what)
{
    return B(r)->list(r, q, NULL, 0, elem, out, n, what);
}

/* ---- the operations that are one statement of a record as it is ---- */

/* A write of the record (1 = it changed no row, where NONE_IS_1); a read
 * of one by one key or two; a list by a key (every row when it is NULL),
 * or of every row. */
#define WRITE_OP(op, T, q, what, none_is_1)                              \
    int reg_op_##op(struct registry *r, const T *obj)                    \
    {                                                                    \
        return write_rec(r, Q_##q, 0, NULL, NULL, obj, what, none_is_1); \
    }
#define GET_OP(op, T, q)                                         \
    int reg_op_##op(struct registry *r, const char *key, T *out) \
    {                                                            \
        return reg_op_get_by(r, Q_##q, key, NULL, out);          \
    }
#define GET2_OP(op, T, q)                                                       \
    int reg_op_##op(struct registry *r, const char *k1, const char *k2, T *out) \
    {                                                                           \
        return reg_op_get_by(r, Q_##q, k1, k2, out);                            \
    }
#define LIST_OP(op, T, q_one, q_all)                                                 \
    int reg_op_##op(struct registry *r, const char *key, T **out, size_t *n)         \
    {                                                                                \
        return list_by(r, Q_##q_one, Q_##q_all, key, sizeof **out, (void **)out, n); \
    }
#define LIST_ALL_OP(op, T, q, what)                                     \
    int reg_op_##op(struct registry *r, T **out, size_t *n)             \
    {                                                                   \
        return list_all(r, Q_##q, sizeof **out, (void **)out, n, what); \
    }
#define DELETE_OP(op, q, what, none_is_1)                               \
    int reg_op_##op(struct registry *r, const char *id)                 \
    {                                                                   \
        return exec_keys(r, Q_##q, 1, id, NULL, NULL, what, none_is_1); \
    }

/* clang-format off */
WRITE_OP(host_put, struct reg_host, HOST_PUT, "host_put", false)
WRITE_OP(server_insert, struct reg_server, SRV_INS, "server write", false)
WRITE_OP(server_update, struct reg_server, SRV_UPD, "server write", false)
WRITE_OP(volume_insert, struct reg_volume, VOL_INS, "volume write", false)
WRITE_OP(volume_update, struct reg_volume, VOL_UPD, "volume write", false)
WRITE_OP(attachment_insert, struct reg_attachment, ATT_INS, "attachment write", false)
WRITE_OP(attachment_update, struct reg_attachment, ATT_UPD, "attachment write", false)
WRITE_OP(action_insert, struct reg_action, ACT_INS, "action write", false)
WRITE_OP(action_update, struct reg_action, ACT_UPD, "action write", false)
WRITE_OP(event_insert, struct reg_event, EV_INS, "event write", false)
WRITE_OP(event_update, struct reg_event, EV_UPD, "event write", false)
WRITE_OP(token_put, struct reg_token, TOK_PUT, "token put", false)
WRITE_OP(swap_insert, struct reg_swap, SWAP_INS, "swap record write", false)
WRITE_OP(swap_update, struct reg_swap, SWAP_UPD, "swap record write", true)
WRITE_OP(image_insert, struct reg_image, IMG_INS, "image write", false)
WRITE_OP(image_update, struct reg_image, IMG_UPD, "image write", true)
WRITE_OP(member_put, struct reg_image_member, MEM_PUT, "image member write", false)
WRITE_OP(metadef_put, struct reg_metadef, MDEF_PUT, "metadata definition write", false)

GET_OP(server_get, struct reg_server, SRV_GET)
GET_OP(volume_get, struct reg_volume, VOL_GET)
GET_OP(attachment_get_by_id, struct reg_attachment, ATT_GET_ID)
GET_OP(attachment_get_by_volume, struct reg_attachment, ATT_GET_VOL)
GET_OP(image_get, struct reg_image, IMG_GET)
GET2_OP(attachment_get, struct reg_attachment, ATT_GET)
GET2_OP(action_get, struct reg_action, ACT_GET)
GET2_OP(keypair_get, struct reg_keypair, KP_GET)
GET2_OP(member_get, struct reg_image_member, MEM_GET)

LIST_OP(server_list, struct reg_server, SRV_LIST, SRV_LIST_ALL)
LIST_OP(volume_list, struct reg_volume, VOL_LIST, VOL_LIST_ALL)
LIST_OP(attachment_list, struct reg_attachment, ATT_LIST, ATT_LIST_ALL)
LIST_OP(action_list, struct reg_action, ACT_LIST, ACT_LIST)
LIST_OP(event_list, struct reg_event, EV_LIST, EV_LIST)
LIST_OP(keypair_list, struct reg_keypair, KP_LIST, KP_LIST_ALL)
LIST_ALL_OP(host_list, struct reg_host, HOST_LIST, "host_list")
LIST_ALL_OP(swap_unfinished, struct reg_swap, SWAP_OPEN, "swap records")
LIST_ALL_OP(swap_all, struct reg_swap, SWAP_ALL, "swap records")
LIST_ALL_OP(image_list, struct reg_image, IMG_LIST, "list")

DELETE_OP(volume_delete, VOL_DEL, "delete", false)
DELETE_OP(attachment_delete, ATT_DEL, "delete", false)
DELETE_OP(token_delete, TOK_DEL, "token delete", false)
DELETE_OP(image_delete, IMG_DEL, "delete", true)
/* clang-format on */

/* ---- and those that are more ---- */

int reg_op_volume_path_used(struct registry *r, const char *path, bool *used)
{
    *used = false;
    return reg_op_get_by(r, Q_VOL_PATH, path, NULL, used) < 0 ? -1 : 0;
}

int reg_op_token_get(struct registry *r, const char *id_hash, struct reg_token *out)
{
    struct reg_param p[1] = { { REG_TEXT, NULL } };
    return B(r)->get(r, Q_TOK_GET, p, keys(p, 1, id_hash, NULL, NULL), out, "token get");
}

int reg_op_token_purge(struct registry *r, int64_t now)
{
    struct reg_param p[] = { { REG_INT64, &now } };
    return B(r)->exec(r, Q_TOK_PURGE, p, 1, "token purge", false);
}

int reg_op_meta_list(struct registry *r, enum reg_meta_kind kind, const char *owner,
                     struct reg_meta **out, size_t *n)
{
    struct reg_param p[2] = { { REG_TEXT, NULL } };
    int np = keys(p, 2, reg_meta_kind_name(kind), owner, NULL);
    return B(r)->list(r, Q_MD_LIST, p, np, sizeof **out, (void **)out, n, "metadata list");
}

int reg_op_meta_put(struct registry *r, enum reg_meta_kind kind, const char *owner,
                    const struct reg_meta *m)
{
    return write_rec(r, Q_MD_PUT, 2, reg_meta_kind_name(kind), owner, m, "metadata put", false);
}

/* Without KEY, every item of OWNER (and never 1). */
int reg_op_meta_delete(struct registry *r, enum reg_meta_kind kind, const char *owner,
                       const char *key)
{
    return exec_keys(r, key ? Q_MD_DEL : Q_MD_DEL_ALL, key ? 3 : 2, reg_meta_kind_name(kind), owner,
                     key, "metadata delete", key != NULL);
}

int reg_op_swap_lease_renew(struct registry *r, const char *id, const char *owner, int64_t epoch,
                            int64_t lease_ms)
{
    struct reg_param p[] = {
        { REG_TEXT, id }, { REG_TEXT, owner }, { REG_INT64, &epoch }, { REG_INT64, &lease_ms }
    };
    return B(r)->exec(r, Q_LEASE_RENEW, p, 4, "swap lease renew", true);
}

int reg_op_swap_lease_take(struct registry *r, const char *owner, int64_t lease_ms,
                           enum reg_lease_take which, struct reg_swap **out, size_t *n)
{
    int w = (int)which;
    struct reg_param p[] = { { REG_TEXT, owner }, { REG_INT64, &lease_ms }, { REG_INT, &w } };
    *out = NULL;
    *n = 0;
    if (B(r)->list(r, Q_LEASE_TAKE, p, 3, sizeof **out, (void **)out, n, "swap lease take") < 0)
        return -1;
    if (*n > 1) /* no array at all when nothing was taken */
        qsort(*out, *n, sizeof **out, reg_swap_cmp_started);
    return 0;
}

int reg_op_swap_latest(struct registry *r, const char *server_id, const char *volume_id,
                       struct reg_swap *out)
{
    memset(out, 0, sizeof *out);
    return reg_op_get_by(r, Q_SWAP_LATEST, server_id, volume_id, out);
}

int reg_op_swap_get(struct registry *r, const char *id, struct reg_swap *out)
{
    memset(out, 0, sizeof *out);
    return reg_op_get_by(r, Q_SWAP_GET, id, NULL, out);
}

int reg_op_swap_series_put(struct registry *r, const char *id, const char *series)
{
    return exec_keys(r, Q_SERIES_PUT, 2, id, series, NULL, "swap series write", false);
}

int reg_op_swap_series_get(struct registry *r, const char *id, char **series)
{
    *series = NULL;
    int rc = reg_op_get_by(r, Q_SERIES_GET, id, NULL, series);
    if (rc == 0 && !*series) {
        reg_set_error(REG_ERR_OTHER, "swap series read", "out of memory");
        return -1;
    }
    return rc;
}

int reg_op_keypair_delete(struct registry *r, const char *user_id, const char *name)
{
    return exec_keys(r, Q_KP_DEL, 2, user_id, name, NULL, "key pair delete", true);
}

/* Without MEMBER, every member of the image (and never 1). */
int reg_op_member_delete(struct registry *r, const char *image_id, const char *member)
{
    return exec_keys(r, member ? Q_MEM_DEL : Q_MEM_DEL_ALL, member ? 2 : 1, image_id, member, NULL,
                     "image member delete", member != NULL);
}

int reg_op_member_list(struct registry *r, const char *image_id, const char *member,
                       struct reg_image_member **out, size_t *n)
{
    int q = image_id ? Q_MEM_LIST : Q_MEM_LIST_BY;
    return list_by(r, q, q, image_id ? image_id : member, sizeof **out, (void **)out, n);
}

int reg_op_metadef_get(struct registry *r, const char *kind, const char *ns, const char *name,
                       struct reg_metadef *out)
{
    struct reg_param p[3] = { { REG_TEXT, NULL } };
    return B(r)->get(r, Q_MDEF_GET, p, keys(p, 3, kind, ns, name), out, "get");
}

int reg_op_metadef_list(struct registry *r, const char *kind, const char *ns,
                        struct reg_metadef **out, size_t *n)
{
    struct reg_param p[2] = { { REG_TEXT, NULL } };
    int np = keys(p, ns ? 2 : 1, kind, ns, NULL);
    return B(r)->list(r, ns ? Q_MDEF_LIST : Q_MDEF_LIST_ALL, p, np, sizeof **out, (void **)out, n,
                      "list");
}

/* Without NAME, every KIND of NS; without KIND too, everything in NS. */
int reg_op_metadef_delete(struct registry *r, const char *kind, const char *ns, const char *name)
{
    if (!kind)
        return exec_keys(r, Q_MDEF_DEL_NS, 1, ns, NULL, NULL, "metadata definition delete", false);
    return exec_keys(r, name ? Q_MDEF_DEL : Q_MDEF_DEL_KIND, name ? 3 : 2, kind, ns, name,
                     "metadata definition delete", name != NULL);
}

int reg_op_metadef_rename(struct registry *r, const char *from, const char *to)
{
    return exec_keys(r, Q_MDEF_RENAME, 2, from, to, NULL, "metadata definition rename", false);
}
