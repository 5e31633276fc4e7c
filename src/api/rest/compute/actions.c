/* Nova's os-instance-actions: the per-server log of what was asked
 * (create, attach_volume, detach_volume, and swap_volume in issue 6) and the
 * compute-side events of each, with Nova's microversioned fields: updated_at
 * from 2.58, host/hostId from 2.62, details from 2.84; traceback and host
 * only for callers the events policy allows (admin by default). */
#include "compute.h"

#include <gnutls/crypto.h>
#include <stdlib.h>
#include <string.h>

void nova_service_uuid(const char *host, char out[37])
{
    char seed[120];
    snprintf(seed, sizeof seed, "volswap-compute-service:%s", host);
    api_uuid_of(seed, out);
}

void nova_host_id(const char *project_id, const char *host, char out[57])
{
    char buf[200];
    snprintf(buf, sizeof buf, "%s%s", project_id, host);
    unsigned char d[28];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA224, buf, strlen(buf), d) != 0) {
        out[0] = '\0';
        return;
    }
    for (size_t i = 0; i < sizeof d; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static json_t *action_view(struct api_request *rq, const struct reg_action *a)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "action", a->action, "instance_uuid",
                          a->server_id, "project_id", a->project_id, "request_id", a->request_id,
                          "start_time", a->start_time, "user_id", a->user_id);
    json_object_set_new(o, "message", a->message[0] ? json_string(a->message) : json_null());
    if (nova_mv(rq, 58))
        json_object_set_new(o, "updated_at", json_string(a->updated_at));
    return o;
}

/* From 2.21 a deleted server's actions stay readable (its delete among
 * them); before, a deleted server is not found. */
static int actions_server(struct api_request *rq, struct reg_server *s)
{
    return nova_mv(rq, 21) ? load_server_any(rq, api_param(rq, "server_id"), s)
                           : load_server(rq, api_param(rq, "server_id"), s);
}

int nova_actions_index(struct api_request *rq)
{
    struct reg_server s;
    if (actions_server(rq, &s) < 0 || api_authorize(rq, s.project_id) < 0)
        return -1;
    struct registry *r = rq->ctx->reg;
    struct reg_action *acts = NULL;
    size_t n = 0;
    if (r->ops->action_list(r, s.id, &acts, &n) < 0)
        return reg_fail(&rq->err, r);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, action_view(rq, &acts[i]));
    free(acts);
    return api_reply(rq, 200, json_pack("{s:o}", "instanceActions", arr));
}

int nova_actions_show(struct api_request *rq)
{
    struct reg_server s;
    if (actions_server(rq, &s) < 0 || api_authorize(rq, s.project_id) < 0)
        return -1;
    struct registry *r = rq->ctx->reg;
    struct reg_action a;
    int rc = r->ops->action_get(r, s.id, api_param(rq, "request_id"), &a);
    if (rc < 0)
        return reg_fail(&rq->err, r);
    if (rc == 1)
        return api_err(&rq->err, 404, "Action for request_id %.64s on instance %s not found",
                       api_param(rq, "request_id"), s.id);
    json_t *o = action_view(rq, &a);
    struct api_error ignore;
    bool events_ok = policy_check(&rq->auth, "os_compute_api:os-instance-actions:events",
                                  s.project_id, &ignore) == 0;
    bool details_ok = policy_check(&rq->auth, "os_compute_api:os-instance-actions:events:details",
                                   s.project_id, &ignore) == 0;
    /* before 2.51 only callers allowed by the events policy see events */
    if (events_ok || nova_mv(rq, 51)) {
        struct reg_event *evs = NULL;
        size_t n = 0;
        if (r->ops->event_list(r, a.request_id, &evs, &n) < 0) {
            json_decref(o);
            return reg_fail(&rq->err, r);
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_pack("{s:s, s:s, s:s, s:s}", "event", evs[i].event, "start_time",
                                  evs[i].start_time, "finish_time", evs[i].finish_time, "result",
                                  evs[i].result);
            if (events_ok)
                json_object_set_new(e, "traceback",
                                    evs[i].traceback[0] ? json_string(evs[i].traceback)
                                                        : json_null());
            if (nova_mv(rq, 62)) {
                char hid[57];
                nova_host_id(s.project_id, evs[i].host, hid);
                json_object_set_new(e, "hostId", json_string(hid));
                if (events_ok)
                    json_object_set_new(e, "host", json_string(evs[i].host));
            }
            if (nova_mv(rq, 84) && details_ok)
                json_object_set_new(e, "details",
                                    evs[i].details[0] ? json_string(evs[i].details) : json_null());
            json_array_append_new(arr, e);
        }
        free(evs);
        json_object_set_new(o, "events", arr);
    }
    return api_reply(rq, 200, json_pack("{s:o}", "instanceAction", o));
}
