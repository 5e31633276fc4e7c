/* The event sink: lower layers raise QMP events, the monitor (above them)
 * registers the function that delivers them. Without a sink (unit tests,
 * tools) events are dropped. */
#include "common.h"

#include <jansson.h>

static vs_event_sink_fn *event_sink;

void vs_event_set_sink(vs_event_sink_fn *fn)
{
    event_sink = fn;
}

void vs_event_emit(const char *event, void *data)
{
    uint64_t now = vs_wall_ns();
    if (!data)
        data = json_object();
    if (event_sink)
        event_sink(event, data, now);
    else
        json_decref((json_t *)data);
}
