/* One QMP session per host, shared by every swap running on that host.
 * QEMU's and qemu-storage-daemon's socket monitors serve one client at a
 * time, and job events go only to the sessions connected when they happen,
 * so a worker cannot open a session per step, nor can two workers on one
 * host each hold their own. Here the workers take turns on one session:
 * commands are serialised under a mutex, and a worker waiting for its job's
 * events pumps the socket in short slices, filing events of other watched
 * jobs in a mailbox for their owners (the client library keeps the events
 * that arrive during a command, so none is lost). Events of jobs nobody
 * watches are dropped, which bounds the mailbox. A session that fails
 * (peer gone, protocol error, timed-out command) is marked dead: every
 * later call fails fast, and the workers roll back. The session is closed
 * when its last user puts it back.
 * The list lock is held only to find, add or remove a session, never while
 * connecting: a host that hangs (stopped, overloaded) holds up only the
 * workers that want that host -- they wait for the one attempt under way
 * and share its outcome -- while every other host's calls go on. */
#include "hosts.h"

#include <pthread.h>

#include <stdlib.h>
#include <string.h>

struct host_session {
    char name[65], qmp_path[1024];
    struct qmp_client *c;
    pthread_mutex_t io; /* held while using c, mailbox, watched */
    json_t *mailbox;    /* events of watched jobs, oldest first */
    json_t *watched;    /* job id -> true */
    bool dead;
    char dead_why[512];
    int refs; /* under hosts_lock */
    struct host_session *next;
};

static pthread_mutex_t hosts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct host_session *hosts;

/* A connection attempt under way to one host, made outside hosts_lock;
 * the workers that want the same host meanwhile wait on connected_cond and
 * take its outcome. Listed until the attempt ends, freed by the last of
 * them (refs: the connecting worker and the waiters, under hosts_lock). */
struct host_connecting {
    char name[65];
    bool done;
    struct host_session *s; /* the new session (a reference for each waiter) */
    char why[512];          /* when it failed */
    int refs;
    struct host_connecting *next;
};
static struct host_connecting *connecting;
static pthread_cond_t connected_cond = PTHREAD_COND_INITIALIZER;

/* Slice of a wait spent reading the socket before letting others in. */
#define PUMP_SLICE_MS 20
/* Bound on filed events (a misbehaving peer must not grow it forever). */
#define MAILBOX_MAX 1024

struct qmp_client *host_qmp_connect(const struct cfg_host *h, int timeout_ms,
                                    struct qmp_error *qe)
{
    struct qmp_tls tls = {
        .dir = h->qmp_tls_dir,
        .hostname = h->qmp_tls_hostname[0] ? h->qmp_tls_hostname : NULL,
    };
    return qmp_connect_tls(h->qmp, h->qmp_tls_dir[0] ? &tls : NULL, timeout_ms, qe);
}

static struct host_session *find_live(const char *name)
{
    struct host_session *s = hosts;
    while (s && (strcmp(s->name, name) != 0 || s->dead))
        s = s->next;
    return s;
}

static void connecting_put(struct host_connecting *hc)
{
    if (--hc->refs == 0)
        free(hc);
}

/* Waits (under hosts_lock) for the attempt HC another worker makes. */
static struct host_session *wait_attempt(struct host_connecting *hc, struct api_error *e)
{
    hc->refs++;
    while (!hc->done)
        pthread_cond_wait(&connected_cond, &hosts_lock);
    struct host_session *s = hc->s; /* our reference was taken for us */
    if (!s)
        api_err(e, 500, "%s", hc->why);
    connecting_put(hc);
    pthread_mutex_unlock(&hosts_lock);
    return s;
}

static struct host_session *session_new(const struct cfg_host *h, struct qmp_client *c)
{
    struct host_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->name, sizeof s->name, "%s", h->name);
    snprintf(s->qmp_path, sizeof s->qmp_path, "%s", h->qmp);
    s->c = c;
    pthread_mutex_init(&s->io, NULL);
    s->mailbox = json_array();
    s->watched = json_object();
    return s;
}

struct host_session *host_session_get(const struct cfg_host *h, struct api_error *e)
{
    pthread_mutex_lock(&hosts_lock);
    struct host_session *s = find_live(h->name);
    if (s) {
        s->refs++;
        pthread_mutex_unlock(&hosts_lock);
        return s;
    }
    struct host_connecting *hc = connecting;
    while (hc && strcmp(hc->name, h->name) != 0)
        hc = hc->next;
    if (hc)
        return wait_attempt(hc, e);
    hc = calloc(1, sizeof *hc);
    if (!hc) {
        pthread_mutex_unlock(&hosts_lock);
        api_err(e, 500, "out of memory");
        return NULL;
    }
    snprintf(hc->name, sizeof hc->name, "%s", h->name);
    hc->refs = 1;
    hc->next = connecting;
    connecting = hc;
    pthread_mutex_unlock(&hosts_lock);

    /* the slow part, with no lock held */
    struct qmp_error qe;
    struct qmp_client *c = host_qmp_connect(h, HOST_QMP_TIMEOUT_MS, &qe);
    s = c ? session_new(h, c) : NULL;
    if (c && !s)
        qmp_close(c);

    pthread_mutex_lock(&hosts_lock);
    /* no one joins the attempt from here on: the session is listed */
    for (struct host_connecting **p = &connecting; *p; p = &(*p)->next)
        if (*p == hc) {
            *p = hc->next;
            break;
        }
    if (s) {
        s->refs = hc->refs; /* ours and one for each waiter */
        s->next = hosts;
        hosts = s;
    } else if (!c) {
        snprintf(hc->why, sizeof hc->why, "Host %.64s is not reachable over QMP: %.400s", h->name,
                 qe.desc);
    } else {
        snprintf(hc->why, sizeof hc->why, "out of memory");
    }
    hc->s = s;
    hc->done = true;
    pthread_cond_broadcast(&connected_cond);
    if (!s)
        api_err(e, 500, "%s", hc->why);
    connecting_put(hc);
    pthread_mutex_unlock(&hosts_lock);
    return s;
}

struct host_session *host_session_borrow(const char *host_name)
{
    pthread_mutex_lock(&hosts_lock);
    struct host_session *s = find_live(host_name);
    if (s)
        s->refs++;
    pthread_mutex_unlock(&hosts_lock);
    return s;
}

void host_session_put(struct host_session *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&hosts_lock);
    if (--s->refs > 0) {
        pthread_mutex_unlock(&hosts_lock);
        return;
    }
    for (struct host_session **p = &hosts; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    pthread_mutex_unlock(&hosts_lock);
    qmp_close(s->c);
    json_decref(s->mailbox);
    json_decref(s->watched);
    pthread_mutex_destroy(&s->io);
    free(s);
}

static void mark_dead(struct host_session *s, const struct qmp_error *qe)
{
    if (!s->dead)
        snprintf(s->dead_why, sizeof s->dead_why, "%.63s: %.400s", qe->cls, qe->desc);
    s->dead = true;
}

static void dead_error(struct host_session *s, struct qmp_error *qe)
{
    snprintf(qe->cls, sizeof qe->cls, "ConnectionError");
    snprintf(qe->desc, sizeof qe->desc, "QMP session to host %.64s lost (%.400s)", s->name,
             s->dead_why);
}

bool host_session_dead(struct host_session *s)
{
    pthread_mutex_lock(&s->io);
    bool d = s->dead;
    pthread_mutex_unlock(&s->io);
    return d;
}

static const char *event_job(json_t *ev)
{
    json_t *d = json_object_get(ev, "data");
    const char *j = json_string_value(json_object_get(d, "device"));
    return j ? j : json_string_value(json_object_get(d, "id"));
}

void host_session_watch(struct host_session *s, const char *job_id, bool on)
{
    pthread_mutex_lock(&s->io);
    if (on) {
        json_object_set_new(s->watched, job_id, json_true());
    } else {
        json_object_del(s->watched, job_id);
        /* drop what was filed for the job */
        for (size_t i = json_array_size(s->mailbox); i-- > 0;) {
            const char *j = event_job(json_array_get(s->mailbox, i));
            if (j && strcmp(j, job_id) == 0)
                json_array_remove(s->mailbox, i);
        }
    }
    pthread_mutex_unlock(&s->io);
}

int host_session_execute(struct host_session *s, const char *cmd, json_t *args, json_t **ret,
                         int timeout_ms, struct qmp_error *qe)
{
    if (ret)
        *ret = NULL;
    pthread_mutex_lock(&s->io);
    int rc = -1;
    if (s->dead) {
        dead_error(s, qe);
    } else {
        rc = qmp_execute(s->c, cmd, args, ret, timeout_ms, qe);
        /* a command error is the peer's answer; anything else leaves the
     * session out of step (a late reply would be taken for another's) */
        if (rc < 0 && (!strcmp(qe->cls, "ConnectionError") || !strcmp(qe->cls, "ProtocolError") ||
                       !strcmp(qe->cls, "Timeout")))
            mark_dead(s, qe);
    }
    pthread_mutex_unlock(&s->io);
    return rc;
}

static json_t *take_filed(struct host_session *s, const char *job_id)
{
    size_t i;
    json_t *ev;
    json_array_foreach(s->mailbox, i, ev) {
        const char *j = event_job(ev);
        if (j && strcmp(j, job_id) == 0) {
            json_incref(ev);
            json_array_remove(s->mailbox, i);
            return ev;
        }
    }
    return NULL;
}

json_t *host_session_next_event(struct host_session *s, const char *job_id, int timeout_ms,
                                struct qmp_error *qe)
{
    int64_t deadline = api_now_ms() + timeout_ms;
    for (;;) {
        pthread_mutex_lock(&s->io);
        json_t *ev = take_filed(s, job_id);
        if (ev) {
            pthread_mutex_unlock(&s->io);
            return ev;
        }
        if (s->dead) {
            dead_error(s, qe);
            pthread_mutex_unlock(&s->io);
            return NULL;
        }
        int64_t left = deadline - api_now_ms();
        if (left <= 0) {
            pthread_mutex_unlock(&s->io);
            snprintf(qe->cls, sizeof qe->cls, "Timeout");
            snprintf(qe->desc, sizeof qe->desc, "no event from job %s", job_id);
            return NULL;
        }
        struct qmp_error pe;
        json_t *got = qmp_next_event(s->c, left < PUMP_SLICE_MS ? (int)left : PUMP_SLICE_MS, &pe);
        if (got) {
            const char *j = event_job(got);
            const char *name = json_string_value(json_object_get(got, "event"));
            /* block-job events for the workers, export deletions for the host
       * driver calls that borrow the session */
            if (j && name &&
                (strncmp(name, "BLOCK_JOB_", 10) == 0 ||
                 strcmp(name, "BLOCK_EXPORT_DELETED") == 0)) {
                if (strcmp(j, job_id) == 0) {
                    pthread_mutex_unlock(&s->io);
                    return got;
                }
                if (json_object_get(s->watched, j) && json_array_size(s->mailbox) < MAILBOX_MAX) {
                    json_array_append(s->mailbox, got);
                }
            }
            json_decref(got);
        } else if (strcmp(pe.cls, "Timeout") != 0) {
            mark_dead(s, &pe);
        }
        pthread_mutex_unlock(&s->io);
    }
}
