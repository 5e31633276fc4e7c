/* GET /metrics: volswap-api in Prometheus's text format. The HTTP layer's
 * requests and latencies, the swaps the store records (by kind and outcome,
 * the durations and pivot pauses of those that completed) and whether each
 * configured host's daemon answers QMP now. No token is asked, as for any
 * exporter: nothing here names a tenant, a volume or a server. */
#include "rest.h"

#include <stdlib.h>

static const char *const kind_names[] = { "swap", "migrate" };
static const char *const outcome_names[] = { "completed", "rolled_back", "unfinished" };

static void histogram(FILE *f, const char *name, const char *kind, const uint64_t *b,
                      const double *bounds, double sum)
{
    uint64_t cum = 0;
    for (size_t i = 0; i < SWAP_NBUCKETS; i++) {
        cum += b[i];
        if (i + 1 < SWAP_NBUCKETS)
            fprintf(f, "%s_bucket{kind=\"%s\",le=\"%g\"} %llu\n", name, kind, bounds[i],
                    (unsigned long long)cum);
        else
            fprintf(f, "%s_bucket{kind=\"%s\",le=\"+Inf\"} %llu\n", name, kind,
                    (unsigned long long)cum);
    }
    fprintf(f, "%s_sum{kind=\"%s\"} %.3f\n%s_count{kind=\"%s\"} %llu\n", name, kind, sum, name,
            kind, (unsigned long long)cum);
}

static int write_swaps(FILE *f, struct api_error *e)
{
    static const double dur[] = { SWAP_DURATION_BUCKETS_S };
    static const double pause[] = { SWAP_PAUSE_BUCKETS_S };
    struct swap_figures sf;
    if (!swap_svc || swap_store_figures(swap_svc->ctx->reg, &sf, e) < 0)
        return -1;
    fputs("# HELP volswap_api_swaps_total Volume swaps (Nova's swap, Cinder's migrate) by "
          "outcome; unfinished ones are running or left for recovery.\n"
          "# TYPE volswap_api_swaps_total counter\n",
          f);
    for (int k = 0; k < 2; k++)
        for (int o = 0; o < SWAP_OUT__COUNT; o++)
            fprintf(f, "volswap_api_swaps_total{kind=\"%s\",outcome=\"%s\"} %llu\n", kind_names[k],
                    outcome_names[o], (unsigned long long)sf.count[k][o]);
    fputs("# HELP volswap_api_swap_duration_seconds Time from accepting a swap to its end, for "
          "the swaps that completed.\n# TYPE volswap_api_swap_duration_seconds histogram\n",
          f);
    for (int k = 0; k < 2; k++)
        histogram(f, "volswap_api_swap_duration_seconds", kind_names[k], sf.duration[k], dur,
                  sf.duration_sum[k]);
    fputs("# HELP volswap_api_swap_pivot_pause_seconds How long the consumer's requests were "
          "held at the pivot, for the swaps that completed.\n"
          "# TYPE volswap_api_swap_pivot_pause_seconds histogram\n",
          f);
    for (int k = 0; k < 2; k++)
        histogram(f, "volswap_api_swap_pivot_pause_seconds", kind_names[k], sf.pause[k], pause,
                  sf.pause_sum[k]);
    return 0;
}

static void write_hosts(FILE *f, const struct api_config *cfg)
{
    fputs("# HELP volswap_api_host_up Whether the host's daemon answered QMP at this scrape "
          "(1) or not (0).\n# TYPE volswap_api_host_up gauge\n",
          f);
    for (size_t i = 0; i < cfg->n_hosts; i++) {
        const struct cfg_host *h = &cfg->hosts[i];
        fprintf(f, "volswap_api_host_up{host=\"%s\",driver=\"%s\"} %d\n", h->name, h->driver,
                host_probe(h, NULL) == 0);
    }
}

static int get_metrics(struct api_request *rq)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return api_err(&rq->err, 500, "out of memory");
    fprintf(f, "# HELP volswap_api_build_info volswap-api's version, as a label.\n"
               "# TYPE volswap_api_build_info gauge\nvolswap_api_build_info{version=\"%s\"} 1\n",
            VOLSWAP_VERSION);
    api_metrics_write_http(f);
    int rc = write_swaps(f, &rq->err);
    write_hosts(f, rq->ctx->cfg);
    fclose(f);
    if (rc < 0) {
        free(text);
        return -1;
    }
    return api_reply_text(rq, 200, "text/plain; version=0.0.4; charset=utf-8", text);
}

const struct api_route metrics_routes[] = {
    { .method = "GET", .pattern = "/metrics", .service = SVC_NONE, .needs_auth = false,
      .fn = get_metrics,
      .doc = "Prometheus text format: requests, latencies, swaps, hosts (no token)" },
    { 0 },
};
