/* Copy pacing: the mirror's copies give way when the consumer would feel
 * them, within a bound on how much later READY may come.
 *
 * What a consumer feels of a copy is mostly not the copy's I/O but its
 * CPU: on a small host the copy workers take the cores the consumer's own
 * threads and this loop need, and a guest write waits to be scheduled, not
 * for a disk. volswapd cannot see the consumer's threads, but it can see
 * its own: while guests write and there is something to copy, a timer
 * ticks every millisecond and each tick measures how late it fired (the
 * loop's lag: how long a guest request arriving then would have waited
 * before this thread took it). Every window of ticks is judged:
 *  - lag over PACE_LAG_HIGH: the copy yields: no new copy starts for a
 *    pause, which doubles while windows stay over the mark (up to
 *    PACE_PAUSE_MAX);
 *  - lag under PACE_LAG_LOW: the pause halves, down to none.
 * Copies in flight are never stopped (each is at most a couple of MiB), so
 * a pause frees the cores within one copy's time.
 *
 * The bound: the pauses taken never add up to more than half of the time
 * the copy ran without one, so READY comes at most 1.5 times as late as it
 * would have come with the copy's unpaced speed. On a host whose other
 * work keeps the loop late all the time the pacer spends its whole budget
 * and the job is that much slower, never more. Idle guests, the final sync
 * of a pivot (guests are held), a speed limit's own pacing and a paused
 * job are left alone: the pacer only ever holds copies back while guests
 * write. VOLSWAP_MIRROR_PACE=off turns it off (for comparisons). */
#include "mirror.h"

#include <inttypes.h>
#include <stdio.h>

uint64_t mirror_pace_next_pause(uint64_t pause_ns, uint64_t lag_max_ns)
{
    if (lag_max_ns > MIRROR_PACE_LAG_HIGH_NS)
        return pause_ns ? VS_MIN(2 * pause_ns, MIRROR_PACE_PAUSE_MAX_NS) : MIRROR_PACE_PAUSE_MIN_NS;
    if (lag_max_ns < MIRROR_PACE_LAG_LOW_NS)
        return pause_ns > MIRROR_PACE_PAUSE_MIN_NS ? pause_ns / 2 : 0;
    return pause_ns;
}

/* The budget: all pauses, this one included, at most half of the time the
 * job copied without one, so at most a third of its time. */
bool mirror_pace_budget_allows(uint64_t held_ns, uint64_t pause_ns, uint64_t elapsed_ns)
{
    uint64_t ran = elapsed_ns > held_ns ? elapsed_ns - held_ns : 0;

    return held_ns + pause_ns <= ran / 2;
}

static bool pace_wanted(struct mirror *m)
{
    return m->pace_on && m->phase == MIRROR_RUN && !m->job->paused && m->last_guest_ns &&
           vs_now_ns() - m->last_guest_ns < MIRROR_GUEST_ACTIVE_NS &&
           (m->scanning || !hbitmap_empty(m->dirty) || m->n_bg_ops > 0);
}

/* Counts what a pause held back, up to now: a pause lasts until the loop
 * notices its end, which on a busy host is later than planned, and the
 * budget must pay for what the job really lost. */
static void pace_account(struct mirror *m, uint64_t now)
{
    if (m->pace_until_ns == 0)
        return;
    if (now > m->pace_from_ns)
        m->pace_held_ns += now - m->pace_from_ns;
    m->pace_from_ns = now;
    if (now >= m->pace_until_ns)
        m->pace_until_ns = 0;
}

static void pace_tick(struct vs_timer *t)
{
    struct mirror *m = vs_container_of(t, struct mirror, pace_timer);
    uint64_t now = vs_now_ns();
    uint64_t lag = now > t->deadline_ns ? now - t->deadline_ns : 0;
    bool was_paused = m->pace_until_ns != 0;

    pace_account(m, now);
    if (!pace_wanted(m)) {
        m->pace_pause_ns = 0;
        m->pace_until_ns = 0;
        m->pace_win_start_ns = 0;
        if (was_paused)
            job_enter(m->job);
        return; /* mirror_pace_allows arms it again when it matters */
    }
    if (m->pace_win_start_ns == 0) {
        m->pace_win_start_ns = now;
        m->pace_lag_max_ns = 0;
    }
    if (lag > m->pace_lag_max_ns)
        m->pace_lag_max_ns = lag;
    if (lag > m->pace_lag_seen_ns)
        m->pace_lag_seen_ns = lag;
    if (now - m->pace_win_start_ns >= MIRROR_PACE_WINDOW_NS) {
        m->pace_pause_ns = mirror_pace_next_pause(m->pace_pause_ns, m->pace_lag_max_ns);
        if (m->pace_pause_ns > 0 && m->pace_until_ns == 0 &&
            mirror_pace_budget_allows(m->pace_held_ns, m->pace_pause_ns, now - m->pace_start_ns)) {
            m->pace_until_ns = now + m->pace_pause_ns;
            m->pace_from_ns = now;
            m->pace_pauses++;
        }
        m->pace_win_start_ns = now;
        m->pace_lag_max_ns = 0;
    }
    /* A pause ends on a tick (the next one, at most a tick late). */
    vs_timer_arm(m->loop, &m->pace_timer,
                 m->pace_until_ns && m->pace_until_ns - now < MIRROR_PACE_TICK_NS
                     ? m->pace_until_ns - now
                     : MIRROR_PACE_TICK_NS);
    if (was_paused && m->pace_until_ns == 0)
        job_enter(m->job);
}

void mirror_pace_init(struct mirror *m, bool on)
{
    m->pace_on = on;
    m->pace_timer.fn = pace_tick;
}

bool mirror_pace_allows(struct mirror *m)
{
    uint64_t now = vs_now_ns();

    if (!m->pace_on)
        return true;
    if (m->pace_start_ns == 0)
        m->pace_start_ns = now;
    if (!m->pace_timer.armed && pace_wanted(m))
        vs_timer_arm(m->loop, &m->pace_timer, MIRROR_PACE_TICK_NS);
    pace_account(m, now);
    /* Only while guests write: the final sync runs with guests held. */
    if (m->phase != MIRROR_RUN)
        return true;
    return m->pace_until_ns == 0;
}

void mirror_pace_stop(struct mirror *m)
{
    if (m->pace_timer.armed)
        vs_timer_cancel(m->loop, &m->pace_timer);
    m->pace_until_ns = 0;
}

void mirror_pace_report(struct mirror *m)
{
    if (!m->pace_on || m->pace_start_ns == 0)
        return;
    char buf[96];
    snprintf(buf, sizeof(buf), "%s held %" PRIu64 " us in %u pauses, lag %" PRIu64 " us",
             m->job->id, m->pace_held_ns / 1000, m->pace_pauses, m->pace_lag_seen_ns / 1000);
    vs_trace("mirror-paced", buf);
}
