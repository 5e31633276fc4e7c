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

/* A column of struct S: field F under the name N, of TYPE. */
#define COLN(S, F, N, TYPE) { N, REG_##TYPE, offsetof(S, F), sizeof(((S *)0)->F) }
#define COL(S, F, TYPE)     COLN(S, F, #F, TYPE)
#define RECORD(COLS, ARR, NCOLS) \
    { COLS, ARR, NCOLS, NCOLS, NULL, 0 }
/* a record whose INSERT and UPDATE are made from its columns */
#define TABLE(COLS, ARR, TABLE, NKEYS) \
    { COLS, ARR, N(ARR), N(ARR), TABLE, NKEYS }

/* clang-format off */
static const struct reg_col host_cols[] = {
    COL(struct reg_host, name, TEXT), COL(struct reg_host, driver, TEXT),
    COL(struct reg_host, qmp, TEXT), COL(struct reg_host, nbd, TEXT),
};
#define SRV(F, T) COL(struct reg_server, F, T)
static const struct reg_col server_cols[] = {
    SRV(id, TEXT), SRV(name, TEXT), SRV(project_id, TEXT), SRV(user_id, TEXT), SRV(host, TEXT),
    SRV(status, TEXT), SRV(vm_state, TEXT), SRV(task_state, TEXT), SRV(locked, BOOL),
    SRV(created_at, TEXT), SRV(updated_at, TEXT),
};
#define VOL(F, T) COL(struct reg_volume, F, T)
static const struct reg_col volume_cols[] = {
    VOL(id, TEXT), VOL(project_id, TEXT), VOL(user_id, TEXT), VOL(name, TEXT),
    VOL(description, TEXT), VOL(size_gb, INT64), VOL(host, TEXT), VOL(pool, TEXT),
    VOL(path, TEXT), VOL(status, TEXT), VOL(attach_status, TEXT), VOL(migration_status, TEXT),
    VOL(created_at, TEXT), VOL(updated_at, TEXT), VOL(bootable, BOOL), VOL(readonly, INT),
};
#define ATT(F, T) COL(struct reg_attachment, F, T)
static const struct reg_col att_cols[] = {
    ATT(id, TEXT), ATT(bdm_uuid, TEXT), ATT(server_id, TEXT), ATT(volume_id, TEXT),
    ATT(device, TEXT), ATT(tag, TEXT), ATT(delete_on_termination, BOOL), ATT(node_name, TEXT),
    ATT(export_id, TEXT), ATT(export_name, TEXT), ATT(connection_info, TEXT),
    ATT(created_at, TEXT),
};
#define ATV(F, T) COL(struct reg_attachment_view, F, T)
static const struct reg_col att_view_cols[] = {
    ATV(id, TEXT), ATV(bdm_uuid, TEXT), ATV(volume_id, TEXT), ATV(device, TEXT), ATV(tag, TEXT),
    ATV(delete_on_termination, BOOL),
};
#define ACT(F) COL(struct reg_action, F, TEXT)
static const struct reg_col action_cols[] = {
    ACT(request_id), ACT(server_id), ACT(action), ACT(project_id), ACT(user_id), ACT(message),
    ACT(start_time), ACT(updated_at),
};
#define EV(F) COL(struct reg_event, F, TEXT)
static const struct reg_col event_cols[] = {
    EV(request_id), EV(event), EV(start_time), EV(finish_time), EV(result), EV(traceback),
    EV(host), EV(details),
};
static const struct reg_col token_cols[] = {
    COL(struct reg_token, id_hash, TEXT), COL(struct reg_token, auth, TEXT),
    COL(struct reg_token, expires, INT64),
};
static const struct reg_col meta_cols[] = {
    COL(struct reg_meta, key, TEXT), COL(struct reg_meta, value, TEXT),
};
/* the lease's length is bound after the columns, and is not one */
#define SWP(F, T) COL(struct reg_swap, F, T)
static const struct reg_col swap_cols[] = {
    SWP(id, TEXT), SWP(kind, TEXT), SWP(server_id, TEXT), SWP(project_id, TEXT),
    SWP(user_id, TEXT), SWP(host, TEXT), SWP(old_volume_id, TEXT), SWP(new_volume_id, TEXT),
    SWP(attachment_id, TEXT), SWP(old_node, TEXT), SWP(new_node, TEXT), SWP(old_path, TEXT),
    SWP(old_size_gb, INT64), SWP(new_size_gb, INT64), SWP(phase, TEXT), SWP(error, TEXT),
    SWP(started_at, TEXT), SWP(updated_at, TEXT), SWP(bytes_total, INT64),
    SWP(bytes_done, INT64), SWP(mirror_ms, INT64), SWP(pivot_ms, INT64), SWP(total_ms, INT64),
    SWP(owner, TEXT), SWP(epoch, INT64),
    COLN(struct reg_swap, lease_ms, NULL, INT64),
};
#define KP(F, T) COL(struct reg_keypair, F, T)
static const struct reg_col keypair_cols[] = {
    KP(id, INT64), KP(user_id, TEXT), KP(name, TEXT), KP(type, TEXT), KP(fingerprint, TEXT),
    KP(public_key, TEXT), KP(created_at, TEXT),
};
#define IMG(F, T) COL(struct reg_image, F, T)
static const struct reg_col image_cols[] = {
    IMG(id, TEXT), IMG(owner, TEXT), IMG(name, TEXT), IMG(status, TEXT), IMG(visibility, TEXT),
    IMG(disk_format, TEXT), IMG(container_format, TEXT), IMG(size, INT64),
    IMG(virtual_size, INT64), IMG(checksum, TEXT), IMG(os_hash_algo, TEXT),
    IMG(os_hash_value, TEXT), IMG(min_disk, INT64), IMG(min_ram, INT64),
    COLN(struct reg_image, protected_, "protected", BOOL), IMG(os_hidden, BOOL),
    IMG(created_at, TEXT), IMG(updated_at, TEXT),
};
#define MEM(F) COL(struct reg_image_member, F, TEXT)
static const struct reg_col member_cols[] = {
    MEM(image_id), MEM(member), MEM(status), MEM(created_at), MEM(updated_at),
};
#define MDEF(F) COL(struct reg_metadef, F, TEXT)
static const struct reg_col metadef_cols[] = {
    MDEF(kind), COLN(struct reg_metadef, ns, "namespace", TEXT), MDEF(name), MDEF(body),
    MDEF(created_at), MDEF(updated_at),
};
/* a whole document (the swap series), a flag (is there a row), an id */
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
static const struct reg_record event_rec =
    TABLE(EV_COLS, event_cols, "instance_action_events", 2);
static const struct reg_record token_rec = RECORD(TOK_COLS, token_cols, N(token_cols));
static const struct reg_record meta_rec = RECORD(META_COLS, meta_cols, N(meta_cols));
static const struct reg_record swap_rec = { SWAP_COLS, swap_cols, N(swap_cols) - 1, N(swap_cols),
                                            NULL, 0 };
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

static int list_all(struct registry *r, int q, size_t elem, void **out, size_t *n,
                    const char *what)
{
    return B(r)->list(r, q, NULL, 0, elem, out, n, what);
}

/* ---- hosts, servers, volumes ---- */

int reg_op_host_put(struct registry *r, const struct reg_host *h)
{
    return write_rec(r, Q_HOST_PUT, 0, NULL, NULL, h, "host_put", false);
}
int reg_op_host_list(struct registry *r, struct reg_host **out, size_t *n)
{
    return list_all(r, Q_HOST_LIST, sizeof **out, (void **)out, n, "host_list");
}
int reg_op_server_insert(struct registry *r, const struct reg_server *s)
{
    return write_rec(r, Q_SRV_INS, 0, NULL, NULL, s, "server write", false);
}
int reg_op_server_update(struct registry *r, const struct reg_server *s)
{
    return write_rec(r, Q_SRV_UPD, 0, NULL, NULL, s, "server write", false);
}
int reg_op_server_get(struct registry *r, const char *id, struct reg_server *out)
{
    return reg_op_get_by(r, Q_SRV_GET, id, NULL, out);
}
int reg_op_server_list(struct registry *r, const char *project, struct reg_server **out,
                       size_t *n)
{
    return list_by(r, Q_SRV_LIST, Q_SRV_LIST_ALL, project, sizeof **out, (void **)out, n);
}
int reg_op_volume_insert(struct registry *r, const struct reg_volume *v)
{
    return write_rec(r, Q_VOL_INS, 0, NULL, NULL, v, "volume write", false);
}
int reg_op_volume_update(struct registry *r, const struct reg_volume *v)
{
    return write_rec(r, Q_VOL_UPD, 0, NULL, NULL, v, "volume write", false);
}
int reg_op_volume_get(struct registry *r, const char *id, struct reg_volume *out)
{
    return reg_op_get_by(r, Q_VOL_GET, id, NULL, out);
}
int reg_op_volume_delete(struct registry *r, const char *id)
{
    return exec_keys(r, Q_VOL_DEL, 1, id, NULL, NULL, "delete", false);
}
int reg_op_volume_list(struct registry *r, const char *project, struct reg_volume **out,
                       size_t *n)
{
    return list_by(r, Q_VOL_LIST, Q_VOL_LIST_ALL, project, sizeof **out, (void **)out, n);
}
int reg_op_volume_path_used(struct registry *r, const char *path, bool *used)
{
    *used = false;
    return reg_op_get_by(r, Q_VOL_PATH, path, NULL, used) < 0 ? -1 : 0;
}

/* ---- attachments, instance actions and their events ---- */

int reg_op_attachment_insert(struct registry *r, const struct reg_attachment *a)
{
    return write_rec(r, Q_ATT_INS, 0, NULL, NULL, a, "attachment write", false);
}
int reg_op_attachment_update(struct registry *r, const struct reg_attachment *a)
{
    return write_rec(r, Q_ATT_UPD, 0, NULL, NULL, a, "attachment write", false);
}
int reg_op_attachment_get(struct registry *r, const char *server_id, const char *volume_id,
                          struct reg_attachment *out)
{
    return reg_op_get_by(r, Q_ATT_GET, server_id, volume_id, out);
}
int reg_op_attachment_get_by_id(struct registry *r, const char *id, struct reg_attachment *out)
{
    return reg_op_get_by(r, Q_ATT_GET_ID, id, NULL, out);
}
int reg_op_attachment_get_by_volume(struct registry *r, const char *volume_id,
                                    struct reg_attachment *out)
{
    return reg_op_get_by(r, Q_ATT_GET_VOL, volume_id, NULL, out);
}
int reg_op_attachment_delete(struct registry *r, const char *id)
{
    return exec_keys(r, Q_ATT_DEL, 1, id, NULL, NULL, "delete", false);
}
int reg_op_attachment_list(struct registry *r, const char *server_id, struct reg_attachment **out,
                           size_t *n)
{
    return list_by(r, Q_ATT_LIST, Q_ATT_LIST_ALL, server_id, sizeof **out, (void **)out, n);
}
int reg_op_action_insert(struct registry *r, const struct reg_action *a)
{
    return write_rec(r, Q_ACT_INS, 0, NULL, NULL, a, "action write", false);
}
int reg_op_action_update(struct registry *r, const struct reg_action *a)
{
    return write_rec(r, Q_ACT_UPD, 0, NULL, NULL, a, "action write", false);
}
int reg_op_action_get(struct registry *r, const char *server_id, const char *request_id,
                      struct reg_action *out)
{
    return reg_op_get_by(r, Q_ACT_GET, server_id, request_id, out);
}
int reg_op_action_list(struct registry *r, const char *server_id, struct reg_action **out,
                       size_t *n)
{
    return list_by(r, Q_ACT_LIST, Q_ACT_LIST, server_id, sizeof **out, (void **)out, n);
}
int reg_op_event_insert(struct registry *r, const struct reg_event *ev)
{
    return write_rec(r, Q_EV_INS, 0, NULL, NULL, ev, "event write", false);
}
int reg_op_event_update(struct registry *r, const struct reg_event *ev)
{
    return write_rec(r, Q_EV_UPD, 0, NULL, NULL, ev, "event write", false);
}
int reg_op_event_list(struct registry *r, const char *request_id, struct reg_event **out,
                      size_t *n)
{
    return list_by(r, Q_EV_LIST, Q_EV_LIST, request_id, sizeof **out, (void **)out, n);
}

/* ---- tokens and metadata ---- */

int reg_op_token_put(struct registry *r, const struct reg_token *t)
{
    return write_rec(r, Q_TOK_PUT, 0, NULL, NULL, t, "token put", false);
}
int reg_op_token_get(struct registry *r, const char *id_hash, struct reg_token *out)
{
    struct reg_param p[1] = { { REG_TEXT, NULL } };
    return B(r)->get(r, Q_TOK_GET, p, keys(p, 1, id_hash, NULL, NULL), out, "token get");
}
int reg_op_token_delete(struct registry *r, const char *id_hash)
{
    return exec_keys(r, Q_TOK_DEL, 1, id_hash, NULL, NULL, "token delete", false);
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
    return exec_keys(r, key ? Q_MD_DEL : Q_MD_DEL_ALL, key ? 3 : 2, reg_meta_kind_name(kind), owner, key,
                     "metadata delete", key != NULL);
}

/* ---- swap records ---- */

int reg_op_swap_insert(struct registry *r, const struct reg_swap *s)
{
    return write_rec(r, Q_SWAP_INS, 0, NULL, NULL, s, "swap record write", false);
}
int reg_op_swap_update(struct registry *r, const struct reg_swap *s)
{
    return write_rec(r, Q_SWAP_UPD, 0, NULL, NULL, s, "swap record write", true);
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
int reg_op_swap_unfinished(struct registry *r, struct reg_swap **out, size_t *n)
{
    return list_all(r, Q_SWAP_OPEN, sizeof **out, (void **)out, n, "swap records");
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
int reg_op_swap_all(struct registry *r, struct reg_swap **out, size_t *n)
{
    return list_all(r, Q_SWAP_ALL, sizeof **out, (void **)out, n, "swap records");
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

/* ---- key pairs, images, members, metadata definitions ---- */

int reg_op_keypair_get(struct registry *r, const char *user_id, const char *name,
                       struct reg_keypair *out)
{
    return reg_op_get_by(r, Q_KP_GET, user_id, name, out);
}
int reg_op_keypair_list(struct registry *r, const char *user_id, struct reg_keypair **out,
                        size_t *n)
{
    return list_by(r, Q_KP_LIST, Q_KP_LIST_ALL, user_id, sizeof **out, (void **)out, n);
}
int reg_op_keypair_delete(struct registry *r, const char *user_id, const char *name)
{
    return exec_keys(r, Q_KP_DEL, 2, user_id, name, NULL, "key pair delete", true);
}
int reg_op_image_insert(struct registry *r, const struct reg_image *im)
{
    return write_rec(r, Q_IMG_INS, 0, NULL, NULL, im, "image write", false);
}
int reg_op_image_update(struct registry *r, const struct reg_image *im)
{
    return write_rec(r, Q_IMG_UPD, 0, NULL, NULL, im, "image write", true);
}
int reg_op_image_get(struct registry *r, const char *id, struct reg_image *out)
{
    return reg_op_get_by(r, Q_IMG_GET, id, NULL, out);
}
int reg_op_image_delete(struct registry *r, const char *id)
{
    return exec_keys(r, Q_IMG_DEL, 1, id, NULL, NULL, "delete", true);
}
int reg_op_image_list(struct registry *r, struct reg_image **out, size_t *n)
{
    return list_by(r, Q_IMG_LIST, Q_IMG_LIST, NULL, sizeof **out, (void **)out, n);
}
int reg_op_member_put(struct registry *r, const struct reg_image_member *m)
{
    return write_rec(r, Q_MEM_PUT, 0, NULL, NULL, m, "image member write", false);
}
int reg_op_member_get(struct registry *r, const char *image_id, const char *member,
                      struct reg_image_member *out)
{
    return reg_op_get_by(r, Q_MEM_GET, image_id, member, out);
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
int reg_op_metadef_put(struct registry *r, const struct reg_metadef *d)
{
    return write_rec(r, Q_MDEF_PUT, 0, NULL, NULL, d, "metadata definition write", false);
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
