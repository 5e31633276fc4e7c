/* Nova's os-volume_attachments: list, show, attach (POST) and detach
 * (DELETE). Attach is Nova's API + compute manager in one synchronous step:
 * reserve the volume (Cinder state), open it on the server's host and export
 * it over NBD as the server's disk (host driver; a volume of another host's
 * pool is exported by its storage host and opened over NBD, hosts.h), then
 * record the attachment and mark the volume in-use in one transaction.
 * Every failure undoes what was done (unreserve, detach on the host) so the
 * registry never claims an attachment the host does not serve. Bodies differ by microversion: tag
 * from 2.70, delete_on_termination from 2.79, and from 2.89 the list/show
 * drop "id" for attachment_id and bdm_uuid. */
#include "compute.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Written straight into the reply (base/json-out.c): these are the calls
 * clients poll. Key order is Nova's. */
static void attachment_view(struct jw *w, struct api_request *rq,
                            const struct reg_attachment_view *a, bool for_create)
{
    jw_object_open(w);
    jw_key_string(w, "device", a->device);
    jw_key_string(w, "serverId", a->server_id);
    jw_key_string(w, "volumeId", a->volume_id);
    if (for_create || !nova_mv(rq, 89))
        jw_key_string(w, "id", a->volume_id);
    if (nova_mv(rq, 70)) {
        jw_key(w, "tag");
        if (a->tag[0])
            jw_string(w, a->tag);
        else
            jw_null(w);
    }
    if (nova_mv(rq, 79)) {
        jw_key(w, "delete_on_termination");
        jw_bool(w, a->delete_on_termination);
    }
    if (nova_mv(rq, 89) && !for_create) {
        jw_key_string(w, "attachment_id", a->id);
        jw_key_string(w, "bdm_uuid", a->bdm_uuid);
    }
    jw_object_close(w);
}

/* {"volumeAttachment": VIEW} */
static int reply_one(struct api_request *rq, const struct reg_attachment_view *a, bool for_create)
{
    struct jw w;
    jw_init(&w, 512);
    jw_object_open(&w);
    jw_key(&w, "volumeAttachment");
    attachment_view(&w, rq, a, for_create);
    jw_object_close(&w);
    return api_reply_written(rq, 200, &w);
}

static int check_policy_and_load(struct api_request *rq, struct reg_server *s)
{
    if (load_server(rq, api_param(rq, "server_id"), s) < 0)
        return -1;
    return api_authorize(rq, s->project_id);
}

/* The same, with the server's attachments' views read at once. */
static int check_policy_and_load_view(struct api_request *rq, const char *volume_id,
                                      struct reg_server *s, struct reg_attachment_view **atts,
                                      size_t *n)
{
    if (load_server_view(rq, api_param(rq, "server_id"), volume_id, s, atts, n) < 0)
        return -1;
    if (api_authorize(rq, s->project_id) < 0) {
        free(*atts);
        *atts = NULL;
        return -1;
    }
    return 0;
}

/* The query argument NAME, a non-negative integer, in *OUT (left alone
 * when absent); 400 in Nova's words otherwise. */
static int query_count(struct api_request *rq, const char *name, long *out)
{
    const char *v = api_query(rq, name);
    if (!v)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end || n < 0)
        return api_err(&rq->err, 400,
                       "Invalid input for query parameters %s. Value: %.32s. "
                       "'%.32s' does not match '^[0-9]*$'",
                       name, v, v);
    *out = n;
    return 0;
}

int nova_attachments_index(struct api_request *rq)
{
    struct reg_server s;
    struct reg_attachment_view *atts = NULL;
    size_t n = 0;
    if (check_policy_and_load_view(rq, NULL, &s, &atts, &n) < 0)
        return -1;
    long limit = -1, offset = 0;
    if (query_count(rq, "limit", &limit) < 0 || query_count(rq, "offset", &offset) < 0) {
        free(atts);
        return -1;
    }
    struct jw w;
    jw_init(&w, 256 + 320 * n);
    jw_object_open(&w);
    jw_key(&w, "volumeAttachments");
    jw_array_open(&w);
    long shown = 0;
    for (size_t i = (size_t)offset; i < n && (limit < 0 || shown < limit); i++, shown++)
        attachment_view(&w, rq, &atts[i], false);
    jw_array_close(&w);
    jw_object_close(&w);
    free(atts);
    return api_reply_written(rq, 200, &w);
}

static int not_attached(struct api_request *rq, const char *server, const char *volume)
{
    return api_err(&rq->err, 404, "Instance %s is not attached to volume %.64s", server, volume);
}

int nova_attachments_show(struct api_request *rq)
{
    struct reg_server s;
    struct reg_attachment_view *atts = NULL;
    size_t n = 0;
    const char *volume_id = api_param(rq, "volume_id");
    if (check_policy_and_load_view(rq, volume_id, &s, &atts, &n) < 0)
        return -1;
    int rc = n ? reply_one(rq, &atts[0], false) : not_attached(rq, s.id, volume_id);
    free(atts);
    return rc;
}

/* Nova's device name check (block_device.match_device) and the next free
 * /dev/vdX when none is given; vda is the root disk. */
static int pick_device(struct api_request *rq, const char *server_id, const char *want,
                       char out[32])
{
    struct registry *r = rq->ctx->reg;
    struct reg_attachment *atts = NULL;
    size_t n = 0;
    if (r->ops->attachment_list(r, server_id, &atts, &n) < 0)
        return reg_fail(&rq->err, r);
    int rc = -1;
    if (want) {
        const char *p = want;
        if (strncmp(p, "/dev/", 5) != 0 || strlen(p) < 7) {
            api_err(&rq->err, 400, "The supplied device path (%.31s) is invalid.", want);
            goto out;
        }
        for (p += 5; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) {
                api_err(&rq->err, 400, "The supplied device path (%.31s) is invalid.", want);
                goto out;
            }
        for (size_t i = 0; i < n; i++)
            if (strcmp(atts[i].device, want) == 0) {
                api_err(&rq->err, 400, "The supplied device path (%.31s) is in use.", want);
                goto out;
            }
        snprintf(out, 32, "%s", want);
        rc = 0;
        goto out;
    }
    for (char c = 'b'; c <= 'z'; c++) {
        char dev[16];
        snprintf(dev, sizeof dev, "/dev/vd%c", c);
        bool used = false;
        for (size_t i = 0; i < n; i++)
            if (strcmp(atts[i].device, dev) == 0)
                used = true;
        if (!used) {
            snprintf(out, 32, "%s", dev);
            rc = 0;
            goto out;
        }
    }
    api_err(&rq->err, 400, "No free device name for server %s", server_id);
out:
    free(atts);
    return rc;
}

/* Inside the attach's closing transaction: a delete of the server that
 * began while the volume was being opened on the host wins, and the attach
 * is undone (the delete has listed the attachments it detaches already). */
static bool still_attachable(struct registry *r, const char *server_id, struct api_error *e)
{
    struct reg_server now;
    int rc = r->ops->server_get(r, server_id, &now);
    if (rc != 0) {
        if (rc == 1)
            api_err(e, 404, "Instance %s could not be found.", server_id);
        else
            reg_fail(e, r);
        return false;
    }
    if (nova_server_deleted(&now) || strcmp(now.task_state, "deleting") == 0) {
        api_err(e, 409, "Cannot 'attach_volume' instance %s while it is in task_state deleting",
                server_id);
        return false;
    }
    return true;
}

/* Moves volume A's record to VT (attach: after inserting A; detach: after
 * deleting A) in the caller's transaction. */
static int store_volume_move(struct registry *r, const char *volume_id, enum vol_transition vt,
                             struct api_error *e)
{
    struct reg_volume v;
    int rc = r->ops->volume_get(r, volume_id, &v);
    if (rc < 0)
        return reg_fail(e, r);
    if (rc == 1)
        return api_err(e, 500, "registry: volume %s is gone", volume_id);
    if (vol_transition_check(&v, vt, false, e) < 0)
        return -1;
    api_time_micro(time(NULL), v.updated_at);
    if (r->ops->volume_update(r, &v) < 0)
        return reg_fail(e, r);
    return 0;
}

/* The attachment row and the in-use volume, in one transaction. */
static int store_attach(struct registry *r, const char *server_id, const struct reg_attachment *a,
                        struct api_error *e)
{
    REG_TXN(txn, r);
    if (reg_begin(&txn, e) < 0)
        return -1;
    if (!still_attachable(r, server_id, e))
        return -1;
    if (r->ops->attachment_insert(r, a) < 0)
        return reg_fail(e, r);
    if (store_volume_move(r, a->volume_id, VT_ATTACH, e) < 0)
        return -1;
    return reg_commit(&txn, e);
}

/* The attachment row gone and the volume available, in one transaction. */
static int store_detach(struct registry *r, const struct reg_attachment *a, struct api_error *e)
{
    REG_TXN(txn, r);
    if (reg_begin(&txn, e) < 0)
        return -1;
    if (r->ops->attachment_delete(r, a->id) < 0)
        return reg_fail(e, r);
    if (store_volume_move(r, a->volume_id, VT_DETACH, e) < 0)
        return -1;
    return reg_commit(&txn, e);
}

int nova_attach_volume(struct api_request *rq, const struct reg_server *s, const char *vol_id,
                       const char *device, const char *tag, bool dot, bool record_action,
                       struct reg_attachment *out)
{
    struct registry *r = rq->ctx->reg;
    const struct cfg_host *h = config_host(rq->ctx->cfg, s->host);
    const struct host_driver *drv = h ? host_driver_find(h->driver) : NULL;
    if (!drv) {
        api_err(&rq->err, 409, "Compute host %s of instance %s is not configured.", s->host, s->id);
        return -1;
    }
    struct reg_volume v;
    int vrc = r->ops->volume_get(r, vol_id, &v);
    if (vrc < 0) {
        reg_fail(&rq->err, r);
        return -1;
    }
    /* Cinder shows a user only the volumes of their project */
    if (vrc == 1 ||
        (!auth_has_role(&rq->auth, "admin") && strcmp(v.project_id, rq->auth.project_id) != 0)) {
        api_err(&rq->err, 404, "Volume %s could not be found.", vol_id);
        return -1;
    }
    struct reg_attachment a;
    memset(&a, 0, sizeof a);
    if (r->ops->attachment_get(r, s->id, vol_id, &a) == 0) {
        api_err(&rq->err, 400, "Invalid volume: volume %s already attached", vol_id);
        return -1;
    }
    /* a volume of another host's pool reaches the server over NBD */
    const struct cfg_host *vh = config_host(rq->ctx->cfg, v.host);
    if (vh && vh != h && host_storage_check(h, vh, &rq->err) < 0)
        return -1;
    if (pick_device(rq, s->id, device, a.device) < 0)
        return -1;
    if (vol_transition_apply(r, vol_id, VT_RESERVE, false, &v, &rq->err) < 0)
        return -1;
    struct reg_action act;
    if (record_action && action_start(rq, s->id, "attach_volume", &act) < 0) {
        vol_transition_apply(r, vol_id, VT_UNRESERVE, false, NULL, NULL);
        return -1;
    }
    char ev_start[32];
    api_time_micro(time(NULL), ev_start);
    api_uuid(a.id);
    api_uuid(a.bdm_uuid);
    snprintf(a.server_id, sizeof a.server_id, "%s", s->id);
    snprintf(a.volume_id, sizeof a.volume_id, "%s", vol_id);
    if (tag)
        snprintf(a.tag, sizeof a.tag, "%s", tag);
    a.delete_on_termination = dot;
    host_node_name(vol_id, a.node_name);
    host_export_id(a.id, a.export_id);
    /* the export is the server's disk: named by server and device */
    snprintf(a.export_name, sizeof a.export_name, "%.36s-%.26s", s->id, a.device + 5);
    api_time_micro(time(NULL), a.created_at);
    json_t *conn = NULL;
    struct api_error derr = { 0 };
    if (host_attach_volume(rq->ctx->cfg, h, &v, a.node_name, a.export_id, a.export_name, &conn,
                           &derr) < 0) {
        vol_transition_apply(r, vol_id, VT_UNRESERVE, false, NULL, NULL);
        /* a host that timed out may still carry out what it was sent (the
         * volume's storage host too: its export of the volume may stay) */
        swap_reconcile_mark(h->name);
        if (strcmp(v.host, h->name) != 0)
            swap_reconcile_mark(v.host);
        if (record_action)
            action_event(rq, &act, "compute_attach_volume", s->host, ev_start, false, derr.msg);
        /* a host that does not answer is the service's state, not a bug */
        api_err(&rq->err, derr.status == 503 ? 503 : 500, "Failed to attach volume %s: %s",
                vol_id, derr.msg);
        return -1;
    }
    char *ci = json_dumps(conn, JSON_COMPACT);
    json_decref(conn);
    snprintf(a.connection_info, sizeof a.connection_info, "%s", ci ? ci : "{}");
    free(ci);
    /* attachment row and in-use volume land together, or not at all */
    struct api_error terr = { 0 };
    bool stored = store_attach(r, s->id, &a, &terr) == 0;
    if (!stored) {
        struct api_error ignore;
        if (host_detach_volume(rq->ctx->cfg, h, &a, &ignore) < 0)
            swap_reconcile_mark(h->name);
        vol_transition_apply(r, vol_id, VT_UNRESERVE, false, NULL, NULL);
        if (record_action)
            action_event(rq, &act, "compute_attach_volume", s->host, ev_start, false, terr.msg);
        api_err(&rq->err, terr.status ? terr.status : 500, "%s", terr.msg);
        return -1;
    }
    if (record_action)
        action_event(rq, &act, "compute_attach_volume", s->host, ev_start, true, NULL);
    *out = a;
    return 0;
}

int nova_attachments_create(struct api_request *rq)
{
    json_t *b = rq->body_obj; /* schema_attachment_create, checked by the router */
    int rc = -1;
    const char *vol_id = json_string_value(json_object_get(b, "volumeId"));
    json_t *dev = json_object_get(b, "device");
    json_t *tag = json_object_get(b, "tag");
    json_t *dot = json_object_get(b, "delete_on_termination");
    if (tag && !nova_mv(rq, 49)) {
        api_err(&rq->err, 400,
                "Invalid input for field/attribute volumeAttachment. Additional "
                "properties are not allowed ('tag' was unexpected)");
        goto out;
    }
    if (dot && !nova_mv(rq, 79)) {
        api_err(&rq->err, 400,
                "Invalid input for field/attribute volumeAttachment. Additional "
                "properties are not allowed ('delete_on_termination' was unexpected)");
        goto out;
    }
    if (!api_is_uuid(vol_id)) {
        api_err(&rq->err, 400,
                "Invalid input for field/attribute volumeId. Value: %.64s. "
                "'%.64s' is not a 'uuid'",
                vol_id, vol_id);
        goto out;
    }
    struct reg_server s;
    if (check_policy_and_load(rq, &s) < 0 || nova_check_server_state(rq, &s, "attach_volume") < 0)
        goto out;
    struct reg_attachment a;
    if (nova_attach_volume(rq, &s, vol_id, json_string_value(dev),
                           tag ? json_string_value(tag) : NULL, dot && body_bool(dot), true,
                           &a) < 0)
        goto out;
    struct reg_attachment_view v;
    memcpy(v.id, a.id, sizeof v.id);
    memcpy(v.bdm_uuid, a.bdm_uuid, sizeof v.bdm_uuid);
    memcpy(v.server_id, a.server_id, sizeof v.server_id);
    memcpy(v.volume_id, a.volume_id, sizeof v.volume_id);
    memcpy(v.device, a.device, sizeof v.device);
    memcpy(v.tag, a.tag, sizeof v.tag);
    v.delete_on_termination = a.delete_on_termination;
    rc = reply_one(rq, &v, true);
out:
    return rc;
}

/* The host half and the registry half of a detach, for a volume already
 * moved to "detaching": removes the export and closes the node (on the
 * storage host too when the volume came from another host), then drops
 * the attachment and marks the volume available in one transaction. A host
 * failure rolls the volume back to in-use (the attachment still stands);
 * a registry failure after the host let go is reported as such. */
int nova_detach_detaching(struct api_request *rq, const struct cfg_host *h,
                          const struct reg_attachment *a)
{
    struct registry *r = rq->ctx->reg;
    struct api_error derr = { 0 };
    /* an attachment recorded by Cinder's os-attach has nothing on the host */
    if (a->export_id[0] && host_detach_volume(rq->ctx->cfg, h, a, &derr) < 0) {
        vol_transition_apply(r, a->volume_id, VT_ROLL_DETACHING, false, NULL, NULL);
        swap_reconcile_mark(h->name); /* the export may be gone, the node not */
        return api_err(&rq->err, derr.status == 503 ? 503 : 500, "Failed to detach volume %s: %s",
                       a->volume_id, derr.msg);
    }
    struct api_error terr = { 0 };
    if (store_detach(r, a, &terr) < 0)
        return api_err(&rq->err, terr.status >= 500 ? terr.status : 500,
                       "Detached volume %s on the host but could not record it: %s", a->volume_id,
                       terr.msg);
    return 0;
}

int nova_attachments_delete(struct api_request *rq)
{
    struct registry *r = rq->ctx->reg;
    struct reg_server s;
    if (check_policy_and_load(rq, &s) < 0)
        return -1;
    const char *vol_id = api_param(rq, "volume_id");
    struct reg_volume v;
    int vrc = r->ops->volume_get(r, vol_id, &v);
    if (vrc < 0)
        return reg_fail(&rq->err, r);
    if (vrc == 1 ||
        (!auth_has_role(&rq->auth, "admin") && strcmp(v.project_id, rq->auth.project_id) != 0))
        return api_err(&rq->err, 404, "Volume %.64s could not be found.", vol_id);
    struct reg_attachment a;
    int arc = r->ops->attachment_get(r, s.id, vol_id, &a);
    if (arc < 0)
        return reg_fail(&rq->err, r);
    if (arc == 1)
        return not_attached(rq, s.id, vol_id);
    if (nova_check_server_state(rq, &s, "detach_volume") < 0)
        return -1;
    const struct cfg_host *h = config_host(rq->ctx->cfg, s.host);
    if (!h || !host_driver_find(h->driver))
        return api_err(&rq->err, 409, "Compute host %s of instance %s is not configured.", s.host,
                       s.id);
    if (vol_transition_apply(r, vol_id, VT_BEGIN_DETACHING, false, &v, &rq->err) < 0)
        return -1;
    struct reg_action act;
    if (action_start(rq, s.id, "detach_volume", &act) < 0) {
        vol_transition_apply(r, vol_id, VT_ROLL_DETACHING, false, NULL, NULL);
        return -1;
    }
    char ev_start[32];
    api_time_micro(time(NULL), ev_start);
    if (nova_detach_detaching(rq, h, &a) < 0) {
        action_event(rq, &act, "compute_detach_volume", s.host, ev_start, false, rq->err.msg);
        return -1;
    }
    action_event(rq, &act, "compute_detach_volume", s.host, ev_start, true, NULL);
    return api_reply(rq, 202, NULL);
}
