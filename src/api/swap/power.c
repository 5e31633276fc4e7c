/* Nova's power actions (os-stop, os-start, reboot) on a host whose driver
 * acts on the guest: the compute manager's stop_instance, start_instance
 * and reboot_instance after the API's RPC cast. The REST door has already
 * checked the request, set the task_state (powering-off, powering-on,
 * rebooting, rebooting_hard), recorded the instance action and answered
 * 202; a worker thread here carries the action out through the host
 * driver (a clean shutdown waits for the guest, seconds to a minute) and
 * then, in one transaction, sets the states Nova ends with and records the
 * action's compute_* event:
 *   success  stop: vm_state stopped (SHUTOFF); start, reboot: active;
 *            task_state none;
 *   failure  task_state none (Nova's reverts_task_state), the vm_state the
 *            guest's power state says, event result Error.
 * A worker interrupted by a stop of volswap-api leaves the task_state; at
 * the next start the action is carried out again, as Nova's compute
 * manager retries a stop, start or reboot it finds in flight at init.
 * Threads: one worker per action; the list has its own lock (a leaf). */
#include "swap.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct power_kind {
    const char *action, *event, *task, *ok_vm_state, *ok_status;
};

static const struct power_kind kinds[] = {
    [HOST_POWER_STOP] = { "stop", "compute_stop_instance", "powering-off", "stopped", "SHUTOFF" },
    [HOST_POWER_START] = { "start", "compute_start_instance", "powering-on", "active", "ACTIVE" },
    [HOST_POWER_REBOOT_SOFT] = { "reboot", "compute_reboot_instance", "reboot_started", "active",
                                 "ACTIVE" },
    [HOST_POWER_REBOOT_HARD] = { "reboot", "compute_reboot_instance", "reboot_started_hard",
                                 "active", "ACTIVE" },
};

struct power_task {
    char server_id[37], host[65], request_id[64];
    enum host_power op;
    pthread_t thread;
    bool finished;
    struct power_task *next;
};

static pthread_mutex_t tasks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct power_task *tasks;
static bool tasks_stopping;

static bool give_up(void)
{
    pthread_mutex_lock(&tasks_lock);
    bool st = tasks_stopping;
    pthread_mutex_unlock(&tasks_lock);
    return st;
}

/* The end of an action in the registry: states and event together. */
static void record(const struct power_task *t, const char *start_time, bool ok, const char *details,
                   int power_state)
{
    struct registry *reg = swap_svc->ctx->reg;
    const struct power_kind *k = &kinds[t->op];
    struct api_error e = { 0 };
    REG_TXN(txn, reg);
    if (reg_begin(&txn, &e) < 0) {
        swap_log("power %s of %s: %s", k->action, t->server_id, e.msg);
        return;
    }
    struct reg_server s;
    struct reg_action a;
    if (reg->ops->server_get(reg, t->server_id, &s) != 0)
        return; /* deleted meanwhile */
    s.task_state[0] = '\0';
    if (ok) {
        snprintf(s.vm_state, sizeof s.vm_state, "%s", k->ok_vm_state);
        snprintf(s.status, sizeof s.status, "%s", k->ok_status);
    } else if (power_state == 4) { /* the guest is off, whatever was asked */
        snprintf(s.vm_state, sizeof s.vm_state, "stopped");
        snprintf(s.status, sizeof s.status, "SHUTOFF");
    } else if (power_state == 1) {
        snprintf(s.vm_state, sizeof s.vm_state, "active");
        snprintf(s.status, sizeof s.status, "ACTIVE");
    }
    api_time_micro(time(NULL), s.updated_at);
    if (reg->ops->server_update(reg, &s) < 0 ||
        (reg->ops->action_get(reg, t->server_id, t->request_id, &a) == 0 &&
         instance_action_event(reg, &a, k->event, t->host, start_time, ok, details) < 0)) {
        swap_log("power %s of %s: cannot record: %s", k->action, t->server_id,
                 reg->ops->last_error(reg));
        return;
    }
    if (reg_commit(&txn, &e) < 0)
        swap_log("power %s of %s: %s", k->action, t->server_id, e.msg);
}

static void set_task_state(const struct power_task *t, const char *task)
{
    struct registry *reg = swap_svc->ctx->reg;
    struct api_error e = { 0 };
    REG_TXN(txn, reg);
    struct reg_server s;
    if (reg_begin(&txn, &e) < 0 || reg->ops->server_get(reg, t->server_id, &s) != 0)
        return;
    snprintf(s.task_state, sizeof s.task_state, "%s", task);
    api_time_micro(time(NULL), s.updated_at);
    if (reg->ops->server_update(reg, &s) < 0 || reg_commit(&txn, &e) < 0)
        swap_log("power of %s: task_state %s not recorded", t->server_id, task);
}

static void *power_main(void *arg)
{
    struct power_task *t = arg;
    const struct power_kind *k = &kinds[t->op];
    const struct cfg_host *h = config_host(swap_svc->ctx->cfg, t->host);
    const struct host_driver *drv = h ? host_driver_find(h->driver) : NULL;
    struct api_error e = { 0 };
    char start[32];
    api_time_micro(time(NULL), start);
    /* Nova's compute manager moves a reboot from rebooting to started */
    if (t->op == HOST_POWER_REBOOT_SOFT || t->op == HOST_POWER_REBOOT_HARD)
        set_task_state(t, k->task);
    int rc = drv && drv->power ? drv->power(h, t->server_id, t->op, give_up, &e)
                               : api_err(&e, 500, "the server's host cannot act on its guest");
    if (rc < 0 && give_up()) {
        swap_log("power %s of %s interrupted; the next start carries it out", k->action,
                 t->server_id);
    } else {
        if (rc < 0)
            swap_log("power %s of %s failed: %s", k->action, t->server_id, e.msg);
        record(t, start, rc == 0, rc < 0 ? e.msg : NULL,
               rc < 0 && drv && drv->power_state ? drv->power_state(h, t->server_id) : 0);
    }
    pthread_mutex_lock(&tasks_lock);
    t->finished = true;
    pthread_mutex_unlock(&tasks_lock);
    return NULL;
}

/* Joins and frees finished workers (ALL: every worker). */
static void reap(bool all)
{
    for (;;) {
        struct power_task *victim = NULL;
        pthread_mutex_lock(&tasks_lock);
        for (struct power_task **p = &tasks; *p; p = &(*p)->next)
            if (all || (*p)->finished) {
                victim = *p;
                *p = victim->next;
                break;
            }
        pthread_mutex_unlock(&tasks_lock);
        if (!victim)
            return;
        pthread_join(victim->thread, NULL);
        free(victim);
    }
}

const char *swap_power_task_state(enum host_power op)
{
    switch (op) {
    case HOST_POWER_REBOOT_SOFT: return "rebooting";
    case HOST_POWER_REBOOT_HARD: return "rebooting_hard";
    default: return kinds[op].task;
    }
}

int swap_power_launch(const char *server_id, const char *host, const char *request_id,
                      enum host_power op, struct api_error *e)
{
    reap(false);
    struct power_task *t = calloc(1, sizeof *t);
    if (!t)
        return api_err(e, 500, "out of memory");
    snprintf(t->server_id, sizeof t->server_id, "%s", server_id);
    snprintf(t->host, sizeof t->host, "%s", host);
    snprintf(t->request_id, sizeof t->request_id, "%s", request_id);
    t->op = op;
    API_LOCK_SCOPE(&tasks_lock);
    if (tasks_stopping) {
        free(t);
        return api_err(e, 503, "volswap-api is stopping");
    }
    for (struct power_task *o = tasks; o; o = o->next)
        if (!o->finished && strcmp(o->server_id, server_id) == 0) {
            free(t);
            return api_err(e, 409, "Instance %s is in the middle of another power action",
                           server_id);
        }
    if (pthread_create(&t->thread, NULL, power_main, t) != 0) {
        free(t);
        return api_err(e, 500, "cannot start the power action");
    }
    t->next = tasks;
    tasks = t;
    return 0;
}

bool swap_power_busy(const char *server_id)
{
    API_LOCK_SCOPE(&tasks_lock);
    for (struct power_task *t = tasks; t; t = t->next)
        if (!t->finished && strcmp(t->server_id, server_id) == 0)
            return true;
    return false;
}

void swap_power_stop(void)
{
    pthread_mutex_lock(&tasks_lock);
    tasks_stopping = true;
    pthread_mutex_unlock(&tasks_lock);
    reap(true);
    pthread_mutex_lock(&tasks_lock);
    tasks_stopping = false; /* a later start in the same process (tests) */
    pthread_mutex_unlock(&tasks_lock);
}

/* The action a server's task_state says was in flight, or -1. */
static int op_of_task_state(const char *task)
{
    static const struct {
        const char *task;
        enum host_power op;
    } map[] = {
        { "powering-off", HOST_POWER_STOP },
        { "powering-on", HOST_POWER_START },
        { "rebooting", HOST_POWER_REBOOT_SOFT },
        { "reboot_started", HOST_POWER_REBOOT_SOFT },
        { "rebooting_hard", HOST_POWER_REBOOT_HARD },
        { "reboot_started_hard", HOST_POWER_REBOOT_HARD },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(task, map[i].task) == 0)
            return (int)map[i].op;
    return -1;
}

void swap_power_recover(void)
{
    struct registry *reg = swap_svc->ctx->reg;
    struct reg_server *servers = NULL;
    size_t n = 0;
    if (reg->ops->server_list(reg, NULL, &servers, &n) < 0) {
        swap_log("power actions: cannot list servers: %s", reg->ops->last_error(reg));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct reg_server *s = &servers[i];
        int op = op_of_task_state(s->task_state);
        const struct cfg_host *h = config_host(swap_svc->ctx->cfg, s->host);
        const struct host_driver *drv = h ? host_driver_find(h->driver) : NULL;
        if (op < 0 || !drv || !drv->power)
            continue;
        /* the newest action of that name is the one in flight */
        struct reg_action *acts = NULL;
        size_t na = 0;
        const char *req = NULL;
        size_t best = 0;
        if (reg->ops->action_list(reg, s->id, &acts, &na) == 0)
            for (size_t j = 0; j < na; j++)
                if (strcmp(acts[j].action, kinds[op].action) == 0 &&
                    (!req || strcmp(acts[j].start_time, acts[best].start_time) >= 0)) {
                    best = j;
                    req = acts[j].request_id;
                }
        struct api_error e = { 0 };
        swap_log("power %s of %s was in flight (task_state %s): carrying it out again",
                 kinds[op].action, s->id, s->task_state);
        if (!req || swap_power_launch(s->id, s->host, req, (enum host_power)op, &e) < 0)
            swap_log("power %s of %s: cannot resume: %s", kinds[op].action, s->id,
                     req ? e.msg : "its instance action is gone");
        free(acts);
    }
    free(servers);
}
