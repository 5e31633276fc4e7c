/* Persisted swap records. Every step of a swap is written before the
 * step's effect can be observed, so that a volswap-api killed at any point
 * finds, on restart, each unfinished swap with the last phase it may have
 * reached; recovery then asks the host which side of the pivot it is on.
 * The records are the registry's (reg_swap, under its numbered
 * migrations), so a phase change commits in the same transaction as the
 * volume and attachment changes it implies; this file only translates
 * between the worker's swap_rec and the registry's record. */
#include "swap.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const phase_names[SP__COUNT] = {
    [SP_ACCEPTED] = "accepted",       [SP_TARGET_OPEN] = "target-open",
    [SP_MIRRORING] = "mirroring",     [SP_READY] = "ready",
    [SP_COMPLETING] = "completing",   [SP_PIVOTED] = "pivoted",
    [SP_RECORDED] = "recorded",       [SP_DONE] = "done",
    [SP_ROLLED_BACK] = "rolled-back",
};

const char *swap_phase_name(enum swap_phase p)
{
    return p < SP__COUNT ? phase_names[p] : "?";
}

int swap_phase_parse(const char *name, enum swap_phase *out)
{
    for (int i = 0; i < SP__COUNT; i++)
        if (strcmp(phase_names[i], name) == 0) {
            *out = (enum swap_phase)i;
            return 0;
        }
    return -1;
}

/* The fields a swap_rec and a reg_swap share, of the same size: copied as
 * they are both ways. KIND and PHASE are names in the registry. */
/* clang-format off */
#define SHARED_FIELDS(X)                                                                  \
    X(id) X(server_id) X(project_id) X(user_id) X(host)                                   \
    X(old_volume_id) X(new_volume_id) X(attachment_id) X(old_node) X(new_node) X(old_path) \
    X(old_size_gb) X(new_size_gb) X(error) X(started_at) X(updated_at)                    \
    X(bytes_total) X(bytes_done) X(mirror_ms) X(pivot_ms) X(total_ms)
/* clang-format on */
#define FIELD_SIZE(type, f) sizeof(((struct type *)0)->f)
#define SAME_SIZE(f)                                                   \
    _Static_assert(FIELD_SIZE(swap_rec, f) == FIELD_SIZE(reg_swap, f), \
                   "swap_rec and reg_swap differ in " #f);
SHARED_FIELDS(SAME_SIZE)
#define SHARED(f) \
    { offsetof(struct swap_rec, f), offsetof(struct reg_swap, f), FIELD_SIZE(reg_swap, f) },
static const struct {
    size_t rec, reg, len;
} shared[] = { SHARED_FIELDS(SHARED) };

static void to_reg(const struct swap_rec *r, struct reg_swap *w)
{
    memset(w, 0, sizeof *w);
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++)
        memcpy((char *)w + shared[i].reg, (const char *)r + shared[i].rec, shared[i].len);
    snprintf(w->kind, sizeof w->kind, "%s", r->kind == SWAP_MIGRATE ? "migrate" : "swap");
    snprintf(w->phase, sizeof w->phase, "%s", swap_phase_name(r->phase));
    snprintf(w->owner, sizeof w->owner, "%s", swap_lease_owner());
    w->epoch = r->epoch;
    w->lease_ms = swap_lease_ms();
}

void swap_store_from_reg(const struct reg_swap *w, struct swap_rec *r)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++)
        memcpy((char *)r + shared[i].rec, (const char *)w + shared[i].reg, shared[i].len);
    r->kind = strcmp(w->kind, "migrate") == 0 ? SWAP_MIGRATE : SWAP_NOVA;
    /* an unknown phase (a newer writer) is treated as the most cautious one */
    if (swap_phase_parse(w->phase, &r->phase) < 0)
        r->phase = SP_COMPLETING;
    r->epoch = w->epoch;
}

int swap_store_insert(struct registry *reg, struct swap_rec *r, struct api_error *e)
{
    struct reg_swap w;
    if (!r->epoch)
        r->epoch = 1; /* the first hold, this node's */
    to_reg(r, &w);
    return reg->ops->swap_insert(reg, &w) < 0 ? reg_fail(e, reg) : 0;
}

int swap_store_update(struct registry *reg, const struct swap_rec *r, struct api_error *e)
{
    struct reg_swap w;
    to_reg(r, &w);
    int rc = reg->ops->swap_update(reg, &w);
    if (rc < 0)
        return reg_fail(e, reg);
    if (rc == 1) {
        /* gone, or held by another node at a later epoch: this node no
         * longer drives the swap (swap_lease_valid says so from now on) */
        swap_lease_lost(r);
        return api_err(e, 409, "the swap %s is no longer this node's (lease lost or record gone)",
                       r->id);
    }
    return 0;
}

int swap_store_unfinished(struct registry *reg, struct swap_rec **out, size_t *n,
                          struct api_error *e)
{
    struct reg_swap *ws = NULL;
    *out = NULL;
    *n = 0;
    if (reg->ops->swap_unfinished(reg, &ws, n) < 0)
        return reg_fail(e, reg);
    if (*n) {
        *out = calloc(*n, sizeof **out);
        if (!*out) {
            free(ws);
            *n = 0;
            return api_err(e, 500, "out of memory");
        }
    }
    for (size_t i = 0; i < *n; i++)
        swap_store_from_reg(&ws[i], &(*out)[i]);
    free(ws);
    return 0;
}

int swap_store_latest(struct registry *reg, const char *server_id, const char *volume_id,
                      struct swap_rec *out, struct api_error *e)
{
    struct reg_swap w;
    int rc = reg->ops->swap_latest(reg, server_id, volume_id, &w);
    if (rc < 0)
        return reg_fail(e, reg);
    if (rc == 0)
        swap_store_from_reg(&w, out);
    return rc;
}

static void bucket(uint64_t *b, const double *bounds, size_t nbounds, double v)
{
    size_t i = 0;
    while (i < nbounds && v > bounds[i])
        i++;
    b[i]++;
}

int swap_store_figures(struct registry *reg, struct swap_figures *f, struct api_error *e)
{
    static const double dur[] = { SWAP_DURATION_BUCKETS_S };
    static const double pause[] = { SWAP_PAUSE_BUCKETS_S };
    _Static_assert(sizeof dur / sizeof dur[0] + 1 == SWAP_NBUCKETS, "duration buckets");
    _Static_assert(sizeof pause / sizeof pause[0] + 1 == SWAP_NBUCKETS, "pause buckets");
    memset(f, 0, sizeof *f);
    struct reg_swap *ws = NULL;
    size_t n = 0;
    if (reg->ops->swap_all(reg, &ws, &n) < 0)
        return reg_fail(e, reg);
    for (size_t i = 0; i < n; i++) {
        int k = strcmp(ws[i].kind, "migrate") == 0 ? SWAP_MIGRATE : SWAP_NOVA;
        enum swap_outcome o = strcmp(ws[i].phase, "done") == 0          ? SWAP_OUT_COMPLETED
                              : strcmp(ws[i].phase, "rolled-back") == 0 ? SWAP_OUT_ROLLED_BACK
                                                                        : SWAP_OUT_UNFINISHED;
        f->count[k][o]++;
        if (o != SWAP_OUT_COMPLETED)
            continue;
        double total = (double)ws[i].total_ms / 1000.0;
        double piv = (double)ws[i].pivot_ms / 1000.0;
        bucket(f->duration[k], dur, sizeof dur / sizeof dur[0], total);
        f->duration_sum[k] += total;
        bucket(f->pause[k], pause, sizeof pause / sizeof pause[0], piv);
        f->pause_sum[k] += piv;
    }
    free(ws);
    return 0;
}

int swap_store_get(struct registry *reg, const char *id, struct swap_rec *out, struct api_error *e)
{
    struct reg_swap w;
    int rc = reg->ops->swap_get(reg, id, &w);
    if (rc < 0)
        return reg_fail(e, reg);
    if (rc == 0)
        swap_store_from_reg(&w, out);
    return rc;
}

int swap_store_series_put(struct registry *reg, const char *id, const char *series,
                          struct api_error *e)
{
    return reg->ops->swap_series_put(reg, id, series) < 0 ? reg_fail(e, reg) : 0;
}

int swap_store_series_get(struct registry *reg, const char *id, char **series,
                          struct api_error *e)
{
    int rc = reg->ops->swap_series_get(reg, id, series);
    return rc < 0 ? reg_fail(e, reg) : rc;
}
