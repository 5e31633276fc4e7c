/* The phase trace: a fixed ring of marks, each with its wall-clock time
 * (to line up with a consumer's own log, which counts in wall time) and
 * monotonic time (for durations), and the longest guest write and read
 * that completed in the interval it closes. The ring overwrites its
 * oldest marks; a swap leaves a few dozen, far fewer than it holds. */
#include "common.h"

#include <string.h>

#define TRACE_RING 1024
#define TRACE_SUBJECT 96

struct trace_mark {
    const char *event;
    char subject[TRACE_SUBJECT];
    uint64_t wall_ns, mono_ns;
    uint64_t max_write_ns, max_read_ns;
};

static struct trace_mark ring[TRACE_RING];
static unsigned head, count;       /* next slot; marks held */
static uint64_t cur_write_ns, cur_read_ns;  /* since the last mark */

void vs_trace(const char *event, const char *subject)
{
    struct trace_mark *t = &ring[head];

    t->event = event;
    t->subject[0] = '\0';
    if (subject) {
        strncpy(t->subject, subject, TRACE_SUBJECT - 1);
        t->subject[TRACE_SUBJECT - 1] = '\0';
    }
    t->wall_ns = vs_wall_ns();
    t->mono_ns = vs_now_ns();
    t->max_write_ns = cur_write_ns;
    t->max_read_ns = cur_read_ns;
    cur_write_ns = cur_read_ns = 0;
    head = (head + 1) % TRACE_RING;
    if (count < TRACE_RING)
        count++;
}

void vs_trace_request(bool write, uint64_t ns)
{
    uint64_t *cur = write ? &cur_write_ns : &cur_read_ns;

    if (ns > *cur)
        *cur = ns;
}

void vs_trace_foreach(vs_trace_fn *f, void *opaque, bool clear)
{
    unsigned first = (head + TRACE_RING - count) % TRACE_RING;

    for (unsigned i = 0; i < count; i++) {
        const struct trace_mark *t = &ring[(first + i) % TRACE_RING];
        f(t->event, t->subject[0] ? t->subject : NULL, t->wall_ns, t->mono_ns,
          t->max_write_ns, t->max_read_ns, opaque);
    }
    if (clear)
        count = 0;
}
