/* Instance action records (Nova's instance_actions and their events),
 * independent of HTTP so that both a request handler and the asynchronous
 * swap worker (issue 6) record what they did the same way: an action per
 * request id, one event per compute step with its result, the action's
 * updated_at following its latest event and its message turning to "Error"
 * once an event failed. */
#include "domain.h"

#include <stdio.h>
#include <string.h>

int instance_action_start(struct registry *r, const char *request_id, const char *server_id,
                          const char *action, const char *project_id, const char *user_id,
                          struct reg_action *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->request_id, sizeof out->request_id, "%s", request_id);
    snprintf(out->server_id, sizeof out->server_id, "%s", server_id);
    snprintf(out->action, sizeof out->action, "%s", action);
    snprintf(out->project_id, sizeof out->project_id, "%s", project_id);
    snprintf(out->user_id, sizeof out->user_id, "%s", user_id);
    api_time_micro(time(NULL), out->start_time);
    memcpy(out->updated_at, out->start_time, sizeof out->updated_at);
    return r->ops->action_insert(r, out);
}

int instance_action_event(struct registry *r, struct reg_action *a, const char *event,
                          const char *host, const char *start_time, bool ok, const char *details)
{
    struct reg_event ev;
    memset(&ev, 0, sizeof ev);
    snprintf(ev.request_id, sizeof ev.request_id, "%s", a->request_id);
    snprintf(ev.event, sizeof ev.event, "%s", event);
    snprintf(ev.start_time, sizeof ev.start_time, "%s", start_time);
    api_time_micro(time(NULL), ev.finish_time);
    snprintf(ev.result, sizeof ev.result, "%s", ok ? "Success" : "Error");
    snprintf(ev.host, sizeof ev.host, "%s", host);
    snprintf(ev.details, sizeof ev.details, "%s", details ? details : "");
    if (!ok)
        snprintf(ev.traceback, sizeof ev.traceback, "%s", details ? details : "");
    if (r->ops->event_insert(r, &ev) < 0)
        return -1;
    memcpy(a->updated_at, ev.finish_time, sizeof a->updated_at);
    if (!ok)
        snprintf(a->message, sizeof a->message, "Error");
    return r->ops->action_update(r, a);
}
