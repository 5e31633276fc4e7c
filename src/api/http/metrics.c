/* What the HTTP layer counts for GET /metrics: requests by method, route
 * and status, and a latency histogram per method and route. The route is
 * the table's pattern with its mount ("/v2.1/servers/{server_id}/os-volume_attachments"),
 * never the URL, so ids do not explode the label space; an unmatched path
 * is "unmatched". HTTP workers are threads, so one mutex guards the table;
 * a request takes it once, after its reply is built. */
#include "http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTES_MAX 256
#define STATUSES_MAX 12

static const double bounds_s[] = { API_LATENCY_BUCKETS_S };
#define NBUCKETS (sizeof(bounds_s) / sizeof(bounds_s[0]) + 1)

struct route_stats {
    char method[8];
    char route[160];
    struct {
        int status;
        uint64_t count;
    } by_status[STATUSES_MAX];
    uint64_t other_status;
    uint64_t buckets[NBUCKETS];
    double sum_s;
    uint64_t count;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct route_stats routes[ROUTES_MAX];
static size_t nroutes;

void api_metrics_observe(const struct api_request *rq, int status, double seconds)
{
    char route[160];
    if (rq->route)
        snprintf(route, sizeof route, "%s%s", rq->route_prefix ? rq->route_prefix : "",
                 rq->route->pattern);
    else
        snprintf(route, sizeof route, "unmatched");
    /* Methods a route table knows; anything else is one label. */
    const char *method = rq->method;
    static const char *const known[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE" };
    bool ok = false;
    for (size_t i = 0; i < sizeof known / sizeof known[0] && method; i++)
        ok = ok || strcmp(method, known[i]) == 0;
    if (!ok)
        method = "OTHER";
    pthread_mutex_lock(&lock);
    struct route_stats *s = NULL;
    for (size_t i = 0; i < nroutes && !s; i++)
        if (strcmp(routes[i].route, route) == 0 && strcmp(routes[i].method, method) == 0)
            s = &routes[i];
    if (!s && nroutes < ROUTES_MAX) {
        s = &routes[nroutes++];
        snprintf(s->method, sizeof s->method, "%s", method);
        snprintf(s->route, sizeof s->route, "%s", route);
    }
    if (s) {
        size_t i = 0;
        while (i < STATUSES_MAX && s->by_status[i].status && s->by_status[i].status != status)
            i++;
        if (i < STATUSES_MAX) {
            s->by_status[i].status = status;
            s->by_status[i].count++;
        } else {
            s->other_status++;
        }
        size_t b = 0;
        while (b + 1 < NBUCKETS && seconds > bounds_s[b])
            b++;
        s->buckets[b]++;
        s->sum_s += seconds;
        s->count++;
    }
    pthread_mutex_unlock(&lock);
}

void api_metrics_write_http(FILE *f)
{
    pthread_mutex_lock(&lock);
    fputs("# HELP volswap_api_http_requests_total HTTP requests answered, by method, route "
          "and status.\n# TYPE volswap_api_http_requests_total counter\n",
          f);
    for (size_t i = 0; i < nroutes; i++) {
        const struct route_stats *s = &routes[i];
        for (size_t k = 0; k < STATUSES_MAX && s->by_status[k].status; k++)
            fprintf(f, "volswap_api_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
                    s->method, s->route, s->by_status[k].status,
                    (unsigned long long)s->by_status[k].count);
        if (s->other_status)
            fprintf(f, "volswap_api_http_requests_total{method=\"%s\",route=\"%s\",status=\"other\"} %llu\n",
                    s->method, s->route, (unsigned long long)s->other_status);
    }
    fputs("# HELP volswap_api_http_request_duration_seconds Time from a request's first byte "
          "to its reply, by method and route.\n"
          "# TYPE volswap_api_http_request_duration_seconds histogram\n",
          f);
    for (size_t i = 0; i < nroutes; i++) {
        const struct route_stats *s = &routes[i];
        uint64_t cum = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cum += s->buckets[b];
            if (b + 1 < NBUCKETS)
                fprintf(f, "volswap_api_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
                        s->method, s->route, bounds_s[b], (unsigned long long)cum);
            else
                fprintf(f, "volswap_api_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n",
                        s->method, s->route, (unsigned long long)cum);
        }
        fprintf(f, "volswap_api_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n",
                s->method, s->route, s->sum_s);
        fprintf(f, "volswap_api_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n",
                s->method, s->route, (unsigned long long)s->count);
    }
    pthread_mutex_unlock(&lock);
}
