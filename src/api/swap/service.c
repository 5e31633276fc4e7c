/* The swap service: lives as long as volswap-api, owns the list of running
 * swaps (one worker thread each, the compute manager's role
 * after Nova's RPC cast), and records the compute_swap_volume instance
 * action event. Tunables come from the environment so the same binary can
 * be slowed down for tests and demos:
 *   VOLSWAP_SWAP_SPEED          mirror rate limit in bytes/s (default 0: none)
 *   VOLSWAP_SWAP_READY_TIMEOUT  seconds the mirror may take to reach READY
 *                               before the swap is rolled back (default 3600) */
#include "swap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct swap_service *swap_svc;

static int64_t env_int(const char *name, int64_t dflt, int64_t min, int64_t max)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (*end || x < min || x > max) {
        swap_log("ignoring %s=%s (not an integer in [%lld, %lld])", name, v, (long long)min,
                 (long long)max);
        return dflt;
    }
    return x;
}

int swap_service_start(struct api_ctx *ctx, struct api_error *e)
{
    struct swap_service *s = calloc(1, sizeof *s);
    if (!s)
        return api_err(e, 500, "out of memory");
    s->ctx = ctx;
    pthread_mutex_init(&s->lock, NULL);
    s->speed = env_int("VOLSWAP_SWAP_SPEED", 0, 0, INT64_MAX / 2);
    s->ready_timeout_ms = (int)env_int("VOLSWAP_SWAP_READY_TIMEOUT", 3600, 1, 86400) * 1000;
    s->converge_window_ms = (int)env_int("VOLSWAP_SWAP_CONVERGE_WINDOW", 10, 0, 86400) * 1000;
    swap_svc = s;
    if (swap_reconcile_init(e) < 0 || swap_lease_start(!registry_is_postgres(ctx->cfg->database), e) < 0 ||
        swap_reconcile_start(e) < 0) {
        swap_service_stop();
        return -1;
    }
    return 0;
}

/* Joins and frees the tasks whose worker has returned (ALL: every task). */
static void reap(bool all)
{
    for (;;) {
        struct swap_task *victim = NULL;
        pthread_mutex_lock(&swap_svc->lock);
        for (struct swap_task **p = &swap_svc->tasks; *p; p = &(*p)->next)
            if (all || (*p)->finished) {
                victim = *p;
                *p = victim->next;
                break;
            }
        pthread_mutex_unlock(&swap_svc->lock);
        if (!victim)
            return;
        pthread_join(victim->thread, NULL);
        free(victim);
    }
}

void swap_service_stop(void)
{
    if (!swap_svc)
        return;
    pthread_mutex_lock(&swap_svc->lock);
    swap_svc->stopping = true;
    pthread_mutex_unlock(&swap_svc->lock);
    swap_power_stop();
    swap_lease_stop();
    swap_reconcile_stop();
    reap(true);
    pthread_mutex_destroy(&swap_svc->lock);
    free(swap_svc);
    swap_svc = NULL;
}

int swap_persist(struct swap_rec *r, enum swap_phase p)
{
    r->phase = p;
    api_time_micro(time(NULL), r->updated_at);
    struct api_error e = { 0 };
    if (swap_store_update(swap_svc->ctx->reg, r, &e) < 0) {
        swap_log("%s: cannot persist phase %s: %s", r->id, swap_phase_name(p), e.msg);
        return -1;
    }
    return 0;
}

int swap_persist_in(struct registry *reg, struct swap_rec *r, enum swap_phase p,
                    struct api_error *e)
{
    api_time_micro(time(NULL), r->updated_at);
    struct swap_rec next = *r;
    next.phase = p;
    return swap_store_update(reg, &next, e);
}

void swap_mark(struct swap_rec *r, enum swap_phase p)
{
    r->phase = p;
}

int swap_launch(const struct swap_rec *r, struct api_error *e)
{
    reap(false);
    struct swap_task *t = calloc(1, sizeof *t);
    if (!t)
        return api_err(e, 500, "out of memory");
    t->rec = *r;
    t->prog.phase = r->phase;
    t->prog.started_ms = api_now_ms();
    API_LOCK_SCOPE(&swap_svc->lock);
    if (swap_svc->stopping) {
        free(t);
        return api_err(e, 503, "volswap-api is stopping");
    }
    if (pthread_create(&t->thread, NULL, swap_worker_main, t) != 0) {
        free(t);
        return api_err(e, 500, "cannot start the swap worker");
    }
    t->next = swap_svc->tasks;
    swap_svc->tasks = t;
    return 0;
}

int swap_running(struct swap_rec **out, size_t *n)
{
    API_LOCK_SCOPE(&swap_svc->lock);
    size_t count = 0;
    for (struct swap_task *t = swap_svc->tasks; t; t = t->next)
        count += !t->finished;
    *out = calloc(count + 1, sizeof **out);
    *n = 0;
    if (!*out)
        return -1;
    for (struct swap_task *t = swap_svc->tasks; t; t = t->next)
        if (!t->finished)
            (*out)[(*n)++] = t->rec;
    return 0;
}

bool swap_server_busy(const char *server_id)
{
    API_LOCK_SCOPE(&swap_svc->lock);
    for (struct swap_task *t = swap_svc->tasks; t; t = t->next)
        if (!t->finished && strcmp(t->rec.server_id, server_id) == 0)
            return true;
    return false;
}

bool swap_progress_get(const char *server_id, const char *volume_id, struct swap_rec *rec,
                       struct swap_progress *p)
{
    API_LOCK_SCOPE(&swap_svc->lock);
    for (struct swap_task *t = swap_svc->tasks; t; t = t->next)
        if (!t->finished && strcmp(t->rec.server_id, server_id) == 0 &&
            (strcmp(t->rec.old_volume_id, volume_id) == 0 ||
             strcmp(t->rec.new_volume_id, volume_id) == 0)) {
            *rec = t->rec;
            *p = t->prog;
            return true;
        }
    return false;
}

void swap_progress_set(struct swap_task *t, const struct swap_progress *p)
{
    pthread_mutex_lock(&swap_svc->lock);
    t->prog = *p;
    pthread_mutex_unlock(&swap_svc->lock);
}

/* ---- the compute_swap_volume event ---- */

#define SWAP_EVENT "compute_swap_volume"

void swap_event_start(const struct swap_rec *r)
{
    struct registry *reg = swap_svc->ctx->reg;
    struct reg_event ev;
    memset(&ev, 0, sizeof ev);
    snprintf(ev.request_id, sizeof ev.request_id, "%s", r->id);
    snprintf(ev.event, sizeof ev.event, "%s", SWAP_EVENT);
    api_time_micro(time(NULL), ev.start_time);
    snprintf(ev.host, sizeof ev.host, "%s", r->host);
    /* a recovered swap already has its event: keep its start time */
    struct reg_event *evs = NULL;
    size_t n = 0;
    bool have = false;
    if (reg->ops->event_list(reg, r->id, &evs, &n) == 0)
        for (size_t i = 0; i < n; i++)
            if (strcmp(evs[i].event, SWAP_EVENT) == 0)
                have = true;
    free(evs);
    if (!have && reg->ops->event_insert(reg, &ev) < 0)
        swap_log("%s: cannot record the event: %s", r->id, reg->ops->last_error(reg));
}

int swap_event_finish(struct registry *reg, const struct swap_rec *r, bool ok, const char *details,
                      struct api_error *e)
{
    struct reg_event *evs = NULL, ev;
    size_t n = 0;
    bool have = false;
    memset(&ev, 0, sizeof ev);
    if (reg->ops->event_list(reg, r->id, &evs, &n) < 0)
        return reg_fail(e, reg);
    for (size_t i = 0; i < n; i++)
        if (strcmp(evs[i].event, SWAP_EVENT) == 0) {
            ev = evs[i];
            have = true;
        }
    free(evs);
    if (!have) {
        snprintf(ev.request_id, sizeof ev.request_id, "%s", r->id);
        snprintf(ev.event, sizeof ev.event, "%s", SWAP_EVENT);
        snprintf(ev.host, sizeof ev.host, "%s", r->host);
        api_time_micro(time(NULL), ev.start_time);
    }
    api_time_micro(time(NULL), ev.finish_time);
    snprintf(ev.result, sizeof ev.result, "%s", ok ? "Success" : "Error");
    snprintf(ev.details, sizeof ev.details, "%s", details ? details : "");
    snprintf(ev.traceback, sizeof ev.traceback, "%s", ok ? "" : (details ? details : ""));
    int rc = have ? reg->ops->event_update(reg, &ev) : reg->ops->event_insert(reg, &ev);
    if (rc < 0)
        return reg_fail(e, reg);
    struct reg_action a;
    rc = reg->ops->action_get(reg, r->server_id, r->id, &a);
    if (rc < 0)
        return reg_fail(e, reg);
    if (rc == 0) {
        snprintf(a.updated_at, sizeof a.updated_at, "%s", ev.finish_time);
        if (!ok)
            snprintf(a.message, sizeof a.message, "Error");
        if (reg->ops->action_update(reg, &a) < 0)
            return reg_fail(e, reg);
    }
    return 0;
}
