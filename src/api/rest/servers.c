/* What every server-scoped handler does first, Nova's way, whether it is
 * served under /v2.1 (compute) or reached from another API (metadata,
 * quotas, the swap door): the project-scoped lookup with Nova's 404, the
 * check_instance_state rules, instance action records, and the task/vm
 * state writes. */
#include "rest.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What the registry's answer RC for server ID makes of the request: 0,
 * or -1 with its error (Nova looks instances up in the caller's project:
 * others' are 404). */
static int server_found(struct api_request *rq, const char *id, int rc, const struct reg_server *s)
{
    if (rc < 0)
        return reg_fail(&rq->err, rq->ctx->reg);
    if (rc == 1 ||
        (!auth_has_role(&rq->auth, "admin") && strcmp(s->project_id, rq->auth.project_id) != 0))
        return api_err(&rq->err, 404, "Instance %s could not be found.", id);
    return 0;
}

int load_server_any(struct api_request *rq, const char *id, struct reg_server *s)
{
    struct registry *r = rq->ctx->reg;
    return server_found(rq, id, r->ops->server_get(r, id, s), s);
}

int load_server(struct api_request *rq, const char *id, struct reg_server *s)
{
    if (load_server_any(rq, id, s) < 0)
        return -1;
    if (nova_server_deleted(s))
        return api_err(&rq->err, 404, "Instance %s could not be found.", id);
    return 0;
}

int load_server_view(struct api_request *rq, const char *id, const char *volume_id,
                     struct reg_server *s, struct reg_attachment_view **atts, size_t *n)
{
    struct registry *r = rq->ctx->reg;
    int rc = server_found(rq, id, r->ops->server_view(r, id, volume_id, s, atts, n), s);
    if (rc == 0 && nova_server_deleted(s))
        rc = api_err(&rq->err, 404, "Instance %s could not be found.", id);
    if (rc < 0) {
        free(*atts);
        *atts = NULL;
        *n = 0;
    }
    return rc;
}

bool nova_server_deleted(const struct reg_server *s)
{
    return strcmp(s->vm_state, "deleted") == 0;
}

int nova_check_server_state(struct api_request *rq, const struct reg_server *s, const char *action)
{
    if (s->locked && !auth_has_role(&rq->auth, "admin"))
        return api_err(&rq->err, 409, "Instance %s is locked", s->id);
    static const char *const ok[] = { "active",      "paused",  "stopped",           "resized",
                                      "soft-delete", "shelved", "shelved_offloaded", NULL };
    for (const char *const *p = ok; *p; p++)
        if (strcmp(s->vm_state, *p) == 0) {
            if (s->task_state[0])
                break;
            return 0;
        }
    if (s->task_state[0])
        return api_err(&rq->err, 409, "Cannot '%s' instance %s while it is in task_state %s",
                       action, s->id, s->task_state);
    return api_err(&rq->err, 409, "Cannot '%s' instance %s while it is in vm_state %s", action,
                   s->id, s->vm_state);
}

int action_start(struct api_request *rq, const char *server_id, const char *action,
                 struct reg_action *out)
{
    if (instance_action_start(rq->ctx->reg, rq->request_id, server_id, action, rq->auth.project_id,
                              rq->auth.user_id, out) < 0)
        return reg_fail(&rq->err, rq->ctx->reg);
    return 0;
}

int action_event(struct api_request *rq, struct reg_action *a, const char *event, const char *host,
                 const char *start_time, bool ok, const char *details)
{
    return instance_action_event(rq->ctx->reg, a, event, host, start_time, ok, details);
}

/* Sets server ID's task_state and, when VM_STATE is given, its vm_state
 * and status, in one transaction (a read of the row, then its update). */
int nova_set_server_states(struct api_request *rq, const char *server_id, const char *vm_state,
                           const char *status, const char *task)
{
    struct registry *r = rq->ctx->reg;
    struct reg_server s;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    int rc = r->ops->server_get(r, server_id, &s);
    if (rc == 0) {
        snprintf(s.task_state, sizeof s.task_state, "%s", task);
        if (vm_state) {
            snprintf(s.vm_state, sizeof s.vm_state, "%s", vm_state);
            snprintf(s.status, sizeof s.status, "%s", status);
        }
        api_time_micro(time(NULL), s.updated_at);
        rc = r->ops->server_update(r, &s);
    }
    if (rc != 0)
        return rc == 1 ? api_err(&rq->err, 404, "Instance %s could not be found.", server_id)
                       : reg_fail(&rq->err, r);
    return reg_commit(&txn, &rq->err);
}

int nova_set_task_state(struct api_request *rq, const char *server_id, const char *task)
{
    return nova_set_server_states(rq, server_id, NULL, NULL, task);
}

/* ---- flavors: the configured ones, and the one each server has ---- */

/* A configuration built without config_parse (a test's) may name none:
 * the default flavor stands in. */
static const struct cfg_flavor default_flavor = { "volswap", "volswap", FLAVOR_VCPUS, FLAVOR_RAM_MB,
                                                  0 };

const struct cfg_flavor *rest_flavors(const struct api_config *c, size_t *n)
{
    if (!c->n_flavors) {
        *n = 1;
        return &default_flavor;
    }
    *n = c->n_flavors;
    return c->flavors;
}

const struct cfg_flavor *rest_flavor(const struct api_config *c, const char *ref)
{
    if (!ref)
        return NULL;
    const char *slash = strrchr(ref, '/');
    const char *id = slash ? slash + 1 : ref;
    size_t n;
    const struct cfg_flavor *f = rest_flavors(c, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].id, id) == 0)
            return &f[i];
    return NULL;
}

const struct cfg_flavor *rest_server_flavor(struct registry *r, const struct api_config *c,
                                            const char *server_id)
{
    size_t n;
    const struct cfg_flavor *first = rest_flavors(c, &n), *f = NULL;
    struct reg_meta *m = NULL;
    size_t nm = 0;
    if (r->ops->meta_list(r, REG_META_SERVER_ATTR, server_id, &m, &nm) == 0)
        for (size_t i = 0; i < nm && !f; i++)
            if (!strcmp(m[i].key, "flavor_ref"))
                f = rest_flavor(c, m[i].value);
    free(m);
    return f ? f : first;
}
