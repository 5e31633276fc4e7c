/* Cinder's volume state machine as a table. Each transition names the
 * statuses (and attach_status) it accepts and what it sets, with Cinder's
 * message when the volume is in the wrong state. The attach/detach and swap
 * workflows only ever move a volume through vol_transition_apply, which does
 * the check and the write in one registry transaction (Cinder's
 * conditional_update), so two concurrent requests cannot both reserve the
 * same volume. */
#include "domain.h"

#include <stdio.h>
#include <string.h>

#define ANY      NULL
#define MAX_FROM 6

struct transition {
    const char *name;
    const char *from[MAX_FROM]; /* accepted status values (NULL-terminated) */
    const char *attach_from;    /* required attach_status, or ANY */
    const char *to_status;      /* NULL = unchanged */
    const char *to_attach;      /* NULL = unchanged */
    const char *field;          /* which column from[] and to_status refer to */
    const char *msg;            /* printf with the current status */
};

static const struct transition table[VT__COUNT] = {
    [VT_RESERVE] = { "reserve",
                     { "available" },
                     ANY,
                     "attaching",
                     NULL,
                     "status",
                     "Volume status must be available to reserve, but the status is %s." },
    [VT_UNRESERVE] = { "unreserve",
                       { "attaching", "reserved" },
                       ANY,
                       "available",
                       NULL,
                       "status",
                       "Volume status must be attaching to unreserve, but the "
                       "status is %s." },
    [VT_ATTACH] = { "attach",
                    { "attaching", "reserved" },
                    ANY,
                    "in-use",
                    "attached",
                    "status",
                    "Volume status must be attaching to attach, but the "
                    "status is %s." },
    [VT_BEGIN_DETACHING] = { "begin_detaching",
                             { "in-use" },
                             "attached",
                             "detaching",
                             NULL,
                             "status",
                             "Unable to detach volume. Volume status must "
                             "be 'in-use' and attach_status must be 'attached' to detach "
                             "(status is %s)." },
    [VT_ROLL_DETACHING] = { "roll_detaching",
                            { "detaching" },
                            ANY,
                            "in-use",
                            NULL,
                            "status",
                            "Volume status must be detaching to roll back the "
                            "detach, but the status is %s." },
    [VT_DETACH] = { "detach",
                    { "detaching", "in-use" },
                    ANY,
                    "available",
                    "detached",
                    "status",
                    "Volume status must be detaching to detach, but the "
                    "status is %s." },
    [VT_BEGIN_DELETE] = { "delete",
                          { "available", "error", "error_restoring", "error_extending",
                            "error_managing", "error_deleting" },
                          "detached",
                          "deleting",
                          NULL,
                          "status",
                          "Volume status must be available or error or error_restoring or "
                          "error_extending or error_managing and must not be migrating, "
                          "attached, belong to a group, have snapshots, awaiting a transfer, "
                          "or be disassociated from snapshots after volume transfer "
                          "(status is %s)." },
    [VT_BEGIN_EXTEND] = { "extend",
                          { "available" },
                          ANY,
                          "extending",
                          NULL,
                          "status",
                          "Volume status must be available to extend, but current "
                          "status is: %s." },
    [VT_FINISH_EXTEND] = { "finish_extend",
                           { "extending" },
                           ANY,
                           NULL,
                           NULL,
                           "status",
                           "Volume status must be extending, but the status is %s." },
    [VT_ERROR_EXTENDING] = { "error_extending",
                             { "extending" },
                             ANY,
                             "error_extending",
                             NULL,
                             "status",
                             "Volume status must be extending, but the "
                             "status is %s." },
    [VT_BEGIN_UPLOAD] = { "upload",
                          { "available" },
                          "detached",
                          "uploading",
                          NULL,
                          "status",
                          "Volume status must be available or in-use to upload an image "
                          "(status is %s)." },
    [VT_FINISH_UPLOAD] = { "finish_upload",
                           { "uploading" },
                           ANY,
                           "available",
                           NULL,
                           "status",
                           "Volume status must be uploading, but the status is %s." },
    [VT_CREATED] = { "created",
                     { "creating" },
                     ANY,
                     "available",
                     "detached",
                     "status",
                     "Volume status must be creating, but the status is %s." },
    [VT_ERROR] = { "error",
                   { "creating", "deleting", "attaching", "detaching" },
                   ANY,
                   "error",
                   NULL,
                   "status",
                   "Volume status %s cannot go to error." },
    /* migration_status values, as Cinder's migrate_volume sets them */
    [VT_MIGRATION_START] = { "migration_start",
                             { "", "success", "error" },
                             ANY,
                             "starting",
                             NULL,
                             "migration_status",
                             "Volume %s is already being "
                             "migrated." },
    [VT_MIGRATION_MIGRATING] = { "migration_migrating",
                                 { "starting" },
                                 ANY,
                                 "migrating",
                                 NULL,
                                 "migration_status",
                                 "Volume migration status must "
                                 "be starting, but it is %s." },
    [VT_MIGRATION_COMPLETING] = { "migration_completing",
                                  { "migrating" },
                                  ANY,
                                  "completing",
                                  NULL,
                                  "migration_status",
                                  "Volume "
                                  "migration status must be migrating, but it is %s." },
    [VT_MIGRATION_SUCCESS] = { "migration_success",
                               { "completing" },
                               ANY,
                               "success",
                               NULL,
                               "migration_status",
                               "Volume migration status must be "
                               "completing, but it is %s." },
    [VT_MIGRATION_ERROR] = { "migration_error",
                             { "starting", "migrating", "completing" },
                             ANY,
                             "error",
                             NULL,
                             "migration_status",
                             "Volume migration "
                             "status %s cannot go to error." },
};

const char *vol_transition_name(enum vol_transition t)
{
    return t < VT__COUNT ? table[t].name : "?";
}

int vol_transition_check(struct reg_volume *v, enum vol_transition t, bool in_use_extend,
                         struct api_error *e)
{
    if (t >= VT__COUNT)
        return api_err(e, 500, "unknown volume transition");
    const struct transition *tr = &table[t];
    bool mig = strcmp(tr->field, "migration_status") == 0;
    char *cur = mig ? v->migration_status : v->status;
    bool ok = false;
    for (int i = 0; i < MAX_FROM && tr->from[i]; i++)
        if (strcmp(cur, tr->from[i]) == 0)
            ok = true;
    /* Cinder 3.42: an in-use volume may be extended too */
    if (t == VT_BEGIN_EXTEND && in_use_extend && strcmp(cur, "in-use") == 0)
        ok = true;
    if (ok && tr->attach_from && strcmp(v->attach_status, tr->attach_from) != 0)
        ok = false;
    /* a volume being migrated is not deleted or extended under the migration */
    if (ok && (t == VT_BEGIN_DELETE || t == VT_BEGIN_EXTEND) && v->migration_status[0] &&
        strcmp(v->migration_status, "success") != 0 && strcmp(v->migration_status, "error") != 0)
        ok = false;
    if (!ok) {
        char m[400];
        snprintf(m, sizeof m, tr->msg, cur[0] ? cur : "None");
        return api_err(e, 400, "Invalid volume: %s", m);
    }
    if (t == VT_FINISH_EXTEND) {
        /* back to where the extend started: in-use when attached */
        snprintf(v->status, sizeof v->status, "%s",
                 strcmp(v->attach_status, "attached") == 0 ? "in-use" : "available");
    } else if (tr->to_status) {
        snprintf(cur, sizeof v->status, "%s", tr->to_status);
    }
    if (tr->to_attach)
        snprintf(v->attach_status, sizeof v->attach_status, "%s", tr->to_attach);
    return 0;
}

int vol_transition_apply(struct registry *r, const char *volume_id, enum vol_transition t,
                         bool in_use_extend, struct reg_volume *out, struct api_error *e)
{
    REG_TXN(txn, r);
    if (reg_begin(&txn, e) < 0)
        return -1;
    struct reg_volume v;
    memset(&v, 0, sizeof v);
    int rc = r->ops->volume_get(r, volume_id, &v);
    if (rc == 1)
        return api_err(e, 404, "Volume %s could not be found.", volume_id);
    if (rc < 0)
        return reg_fail(e, r);
    if (vol_transition_check(&v, t, in_use_extend, e) < 0)
        return -1;
    api_time_micro(time(NULL), v.updated_at);
    if (r->ops->volume_update(r, &v) < 0)
        return reg_fail(e, r);
    if (reg_commit(&txn, e) < 0)
        return -1;
    if (out)
        *out = v;
    return 0;
}
