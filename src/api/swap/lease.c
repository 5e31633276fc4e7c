/* Swap leases: which volswap-api node drives which swap when several share
 * one PostgreSQL database. A swap's record carries its lease: the owning
 * node (the config's "node"), an epoch that every takeover increments, and
 * an expiry on the database's clock. Every phase the worker writes checks
 * owner and epoch in the same statement and renews the expiry (a write
 * that finds another epoch is refused: the node was fenced), and a
 * heartbeat thread renews, four times per lease length, the lease of every
 * swap a worker or a recovery of this node is driving (and only those: a
 * swap left unsettled, its host unreachable, is let go so that its lease
 * lapses and it is tried again). A second thread takes over, once a second, the swaps whose lease
 * lapsed (their node died or lost the database) and hands each to recovery
 * (recover.c), which settles it from its recorded phase against its host.
 *
 * A node stops driving before anyone else may start: it counts its own
 * hold from the moment the last successful renewal was sent, which is
 * before the database stamped the expiry, and gives up a quarter of the
 * lease early. Workers ask swap_lease_valid before every step that changes
 * a host (starting the mirror, block-job-complete, finishing, rolling
 * back) and while they wait; a node cut off from the database cannot renew,
 * so its workers stop, and the records they could not write are settled
 * by the node that takes them over. With SQLite the one process holds
 * every swap: its start takes them all, its renewals cannot fail for want
 * of a network, and what lapses is its own swaps let go, retried.
 *
 * Threads: the two threads here; swap_lease_valid and swap_lease_lost are
 * called by swap workers and recovery, under the lease lock only. */
#include "swap.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The swaps this node drives (a worker or a recovery runs for each), with
 * the epoch of its hold and until when the node counts on it (monotonic
 * ms); and the swaps it found taken from it, with the epoch it held (a
 * later, higher epoch, taken back, is this node's again). */
#define HELD_MAX 256
#define LOST_MAX 64

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool started;                    /* swap_lease_start ran: holds are counted */
    bool renewing, taking, stopping; /* the threads run; they are to stop */
    pthread_t renewer, taker;
    int64_t lease_ms;
    struct held {
        char id[64];
        int64_t epoch, valid_until;
    } held[HELD_MAX];
    size_t n_held;
    struct {
        char id[64];
        int64_t epoch;
    } lost[LOST_MAX];
    size_t n_lost, next_lost;
} L = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

const char *swap_lease_owner(void)
{
    return swap_svc ? swap_svc->ctx->cfg->node : "";
}

int64_t swap_lease_ms(void)
{
    return swap_svc ? (int64_t)swap_svc->ctx->cfg->swap_lease_seconds * 1000 : 8000;
}

/* How long a hold stamped by a statement sent at SENT is counted on: a
 * quarter of the lease less than the database gave, which it stamped
 * later. */
static int64_t counted_until(int64_t sent)
{
    return sent + L.lease_ms - L.lease_ms / 4;
}

static struct held *held_find(const char *id)
{
    for (size_t i = 0; i < L.n_held; i++)
        if (strcmp(L.held[i].id, id) == 0)
            return &L.held[i];
    return NULL;
}

static void held_drop(struct held *h)
{
    *h = L.held[--L.n_held];
}

static void lost_add(const char *id, int64_t epoch)
{
    snprintf(L.lost[L.next_lost].id, sizeof L.lost[0].id, "%.63s", id);
    L.lost[L.next_lost].epoch = epoch;
    L.next_lost = (L.next_lost + 1) % LOST_MAX;
    if (L.n_lost < LOST_MAX)
        L.n_lost++;
}

bool swap_lease_valid(const struct swap_rec *r)
{
    API_LOCK_SCOPE(&L.lock);
    for (size_t i = 0; i < L.n_lost; i++)
        if (strcmp(L.lost[i].id, r->id) == 0 && r->epoch <= L.lost[i].epoch)
            return false;
    if (!L.started)
        return true;
    struct held *h = held_find(r->id);
    return h && h->epoch == r->epoch && api_now_ms() < h->valid_until;
}

void swap_lease_lost(const struct swap_rec *r)
{
    API_LOCK_SCOPE(&L.lock);
    lost_add(r->id, r->epoch);
    struct held *h = held_find(r->id);
    if (h && h->epoch <= r->epoch)
        held_drop(h);
}

void swap_lease_hold(const struct swap_rec *r, int64_t since_ms)
{
    API_LOCK_SCOPE(&L.lock);
    struct held *h = held_find(r->id);
    if (!h && L.n_held < HELD_MAX)
        h = &L.held[L.n_held++];
    if (!h) {
        swap_log("%s: more than %d swaps held: its lease is not renewed", r->id, HELD_MAX);
        return;
    }
    snprintf(h->id, sizeof h->id, "%.63s", r->id);
    h->epoch = r->epoch;
    h->valid_until = counted_until(since_ms);
}

void swap_lease_release(const struct swap_rec *r)
{
    API_LOCK_SCOPE(&L.lock);
    struct held *h = held_find(r->id);
    if (h && h->epoch == r->epoch)
        held_drop(h);
}

/* One round of renewals, one statement per held swap (a node drives a
 * few); each hold counts from before its statement was sent. A swap whose
 * renewal finds another epoch was taken over: lost. */
static int renew_all(void)
{
    struct registry *reg = swap_svc->ctx->reg;
    struct held copy[HELD_MAX];
    size_t n;
    pthread_mutex_lock(&L.lock);
    n = L.n_held;
    memcpy(copy, L.held, n * sizeof copy[0]);
    pthread_mutex_unlock(&L.lock);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t sent = api_now_ms();
        int rc = reg->ops->swap_lease_renew(reg, copy[i].id, swap_lease_owner(), copy[i].epoch,
                                            L.lease_ms);
        API_LOCK_SCOPE(&L.lock);
        struct held *h = held_find(copy[i].id);
        if (rc < 0) {
            failed = -1;
        } else if (rc == 1) {
            swap_log("%s: its lease was taken over (epoch %lld was this node's)", copy[i].id,
                     (long long)copy[i].epoch);
            lost_add(copy[i].id, copy[i].epoch);
            if (h && h->epoch == copy[i].epoch)
                held_drop(h);
        } else if (h && h->epoch == copy[i].epoch) {
            h->valid_until = counted_until(sent);
        }
    }
    return failed;
}

int swap_lease_take(enum reg_lease_take which, struct swap_rec **out, size_t *n,
                    struct api_error *e)
{
    struct registry *reg = swap_svc->ctx->reg;
    struct reg_swap *ws = NULL;
    *out = NULL;
    *n = 0;
    int64_t sent = api_now_ms();
    if (reg->ops->swap_lease_take(reg, swap_lease_owner(), swap_lease_ms(), which, &ws, n) < 0)
        return reg_fail(e, reg);
    if (*n) {
        *out = calloc(*n, sizeof **out);
        if (!*out) {
            free(ws);
            *n = 0;
            return api_err(e, 500, "out of memory");
        }
    }
    for (size_t i = 0; i < *n; i++) {
        struct swap_rec *r = &(*out)[i];
        swap_store_from_reg(&ws[i], r);
        /* whatever in this process still holds an older epoch (a worker
         * that lost the lease and has not noticed yet) is stale from now */
        pthread_mutex_lock(&L.lock);
        lost_add(r->id, r->epoch - 1);
        pthread_mutex_unlock(&L.lock);
        swap_lease_hold(r, sent);
    }
    free(ws);
    return 0;
}

/* Sleeps MS unless the service stops; false when it does. */
static bool nap(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&L.lock);
    if (!L.stopping)
        pthread_cond_timedwait(&L.wake, &L.lock, &ts);
    bool go_on = !L.stopping;
    pthread_mutex_unlock(&L.lock);
    return go_on;
}

static void *renewer_main(void *arg)
{
    (void)arg;
    bool failing = false;
    while (nap(L.lease_ms / 4)) {
        int rc = renew_all();
        if (rc < 0 && !failing)
            swap_log("cannot renew this node's swap leases: %s",
                     swap_svc->ctx->reg->ops->last_error(swap_svc->ctx->reg));
        else if (rc == 0 && failing)
            swap_log("swap leases renewed again");
        failing = rc < 0;
    }
    return NULL;
}

static void *taker_main(void *arg)
{
    (void)arg;
    char last[sizeof((struct api_error *)0)->msg] = "";
    while (nap(1000)) {
        struct api_error e = { 0 };
        /* a database that stays unavailable is said once, not every second */
        if (swap_recover_all(REG_TAKE_EXPIRED, &e) < 0) {
            if (strcmp(last, e.msg) != 0)
                swap_log("taking over lapsed swaps: %s", e.msg);
            snprintf(last, sizeof last, "%s", e.msg);
        } else {
            last[0] = '\0';
        }
    }
    return NULL;
}

int swap_lease_start(bool alone, struct api_error *e)
{
    L.lease_ms = swap_lease_ms();
    L.stopping = false;
    L.n_lost = L.next_lost = L.n_held = 0;
    L.started = true;
    /* the heartbeat first: what the recovery below takes and launches is
     * renewed while it runs, however long its hosts take to answer */
    if (pthread_create(&L.renewer, NULL, renewer_main, NULL) != 0)
        return api_err(e, 500, "cannot start the swap lease heartbeat");
    L.renewing = true;
    if (swap_recover_all(alone ? REG_TAKE_ALL : REG_TAKE_EXPIRED_OR_MINE, e) < 0)
        return -1;
    if (pthread_create(&L.taker, NULL, taker_main, NULL) != 0)
        return api_err(e, 500, "cannot start the swap takeover thread");
    L.taking = true;
    return 0;
}

void swap_lease_stop(void)
{
    pthread_mutex_lock(&L.lock);
    L.stopping = true;
    pthread_cond_broadcast(&L.wake);
    pthread_mutex_unlock(&L.lock);
    if (L.renewing)
        pthread_join(L.renewer, NULL);
    if (L.taking)
        pthread_join(L.taker, NULL);
    L.renewing = L.taking = false;
    L.started = false;
}
