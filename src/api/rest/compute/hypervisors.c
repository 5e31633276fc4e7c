/* Nova's hypervisors (admin): GET /v2.1/os-hypervisors, /detail and
 * /{id} (`openstack hypervisor list/show`, `nova hypervisor-list`).
 *
 * Each configured host is one hypervisor: its daemon (volswapd, or the
 * QEMU that owns the disks) is what runs the consumers' block devices.
 * state is up when the daemon answers query-version on its monitor now
 * (as os-services), and hypervisor_version is that answer in Nova's
 * encoding. running_vms counts the servers (not deleted) on the host. The
 * resource figures Nova reported before 2.88 are given what volswap knows:
 * local_gb is the capacity of the host's pools and local_gb_used the
 * gigabytes its volumes take; a consumer's vCPUs and memory are not
 * volswap's to know, so they are each server's flavor's, used and
 * total alike. Ids are integers before 2.53 and stable
 * UUIDs derived from the host's name from 2.53, as Nova's. A volswapd
 * host's uptime is its daemon's (the /uptime call to 2.87, the detail
 * views' `uptime` from 2.88). */
#include "compute.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GiB (1024.0 * 1024 * 1024)

static void hypervisor_uuid(const char *host, char out[37])
{
    char seed[128];
    snprintf(seed, sizeof seed, "volswap-hypervisor:%s", host);
    api_uuid_of(seed, out);
}

/* The host an id names (an integer before 2.53, the UUID from 2.53), -1
 * for none. */
static long hypervisor_index(struct api_request *rq, const char *want)
{
    const struct api_config *cfg = rq->ctx->cfg;
    for (size_t i = 0; i < cfg->n_hosts; i++) {
        char id[37], num[24];
        hypervisor_uuid(cfg->hosts[i].name, id);
        snprintf(num, sizeof num, "%zu", i + 1);
        if (strcmp(want, nova_mv(rq, 53) ? id : num) == 0)
            return (long)i;
    }
    return -1;
}

static json_t *hypervisor_id(struct api_request *rq, size_t index, const char *host)
{
    if (!nova_mv(rq, 53))
        return json_integer((json_int_t)index + 1);
    char id[37];
    hypervisor_uuid(host, id);
    return json_string(id);
}

/* UPS and VERSIONS: host_probe_all's answers for a list, or NULL to probe
 * the one host here. */
static json_t *hypervisor_view(struct api_request *rq, size_t index, bool detail, const bool *ups,
                               const int *versions)
{
    const struct cfg_host *h = &rq->ctx->cfg->hosts[index];
    int version = versions ? versions[index] : 0;
    bool up = ups ? ups[index] : host_probe(h, &version) == 0;
    json_t *o = json_pack("{s:o, s:s, s:s, s:s}", "id", hypervisor_id(rq, index, h->name),
                          "hypervisor_hostname", h->name, "state", up ? "up" : "down", "status",
                          "enabled");
    if (!detail)
        return o;
    struct registry *r = rq->ctx->reg;
    struct reg_server *servers = NULL;
    size_t n = 0, running = 0;
    json_int_t vcpus = 0, ram_mb = 0;
    if (r->ops->server_list(r, NULL, &servers, &n) == 0)
        for (size_t i = 0; i < n; i++)
            if (!nova_server_deleted(&servers[i]) && strcmp(servers[i].host, h->name) == 0) {
                const struct cfg_flavor *f = rest_server_flavor(r, rq->ctx->cfg, servers[i].id);
                running++;
                vcpus += f->vcpus;
                ram_mb += f->ram_mb;
            }
    free(servers);
    char sid[37];
    nova_service_uuid(h->name, sid);
    json_object_update_new(
        o, json_pack("{s:s, s:i, s:s, s:{s:s, s:o, s:n}}", "hypervisor_type",
                     strcmp(h->driver, "qemu") == 0 ? "QEMU" : "volswapd", "hypervisor_version",
                     version, "host_ip", h->nbd_socket[0] ? "127.0.0.1" : h->nbd_host, "service",
                     "host", h->name, "id",
                     nova_mv(rq, 53) ? json_string(sid) : json_integer((json_int_t)index + 1),
                     "disabled_reason"));
    if (nova_mv(rq, 88)) {
        /* null when the driver cannot tell or the host is down, as Nova */
        char up_line[128];
        json_object_set_new(o, "uptime",
                            up && host_uptime(h, up_line, sizeof up_line) == 0
                                ? json_string(up_line)
                                : json_null());
        return o;
    }
    uint64_t total = 0, avail = 0;
    for (size_t p = 0; p < h->n_pools; p++) {
        uint64_t t = 0, a = 0;
        if (pool_capacity(&h->pools[p], r, &t, &a, NULL) == 0) {
            total += t;
            avail += a;
        }
    }
    int64_t used_gb = 0;
    struct reg_volume *vols = NULL;
    size_t nv = 0;
    if (r->ops->volume_list(r, NULL, &vols, &nv) == 0)
        for (size_t i = 0; i < nv; i++)
            if (strcmp(vols[i].host, h->name) == 0)
                used_gb += vols[i].size_gb;
    free(vols);
    json_int_t vms = (json_int_t)running;
    json_object_update_new(
        o, json_pack("{s:o, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
                     " s:I}",
                     /* a JSON document in a string until 2.28, the object after */
                     "cpu_info", nova_mv(rq, 28) ? json_object() : json_string("{}"),
                     "current_workload", 0, "disk_available_least", (json_int_t)(avail / GiB),
                     "free_disk_gb", (json_int_t)(avail / GiB), "free_ram_mb", (json_int_t)0,
                     "local_gb", (json_int_t)(total / GiB), "local_gb_used", (json_int_t)used_gb,
                     "memory_mb", ram_mb, "memory_mb_used", ram_mb, "running_vms", vms, "vcpus",
                     vcpus, "vcpus_used", vcpus));
    return o;
}

/* The hosts whose name contains MATCH (all when NULL), probed together. */
static json_t *hypervisors_matching(struct api_request *rq, const char *match, bool detail)
{
    const struct api_config *cfg = rq->ctx->cfg;
    json_t *arr = json_array();
    bool *want = calloc(cfg->n_hosts + 1, sizeof *want), *ups = calloc(cfg->n_hosts + 1, 1);
    int *versions = calloc(cfg->n_hosts + 1, sizeof *versions);
    bool probed = want && ups && versions;
    for (size_t i = 0; probed && i < cfg->n_hosts; i++)
        want[i] = !match || strstr(cfg->hosts[i].name, match);
    if (probed)
        host_probe_all(cfg, want, ups, versions);
    for (size_t i = 0; i < cfg->n_hosts; i++)
        if (!match || strstr(cfg->hosts[i].name, match))
            json_array_append_new(arr, hypervisor_view(rq, i, detail, probed ? ups : NULL,
                                                       probed ? versions : NULL));
    free(want);
    free(ups);
    free(versions);
    return arr;
}

static int hypervisors_list(struct api_request *rq, bool detail)
{
    const char *match = api_query(rq, "hypervisor_hostname_pattern");
    json_t *arr = hypervisors_matching(rq, match, detail);
    if (match && json_array_size(arr) == 0) {
        json_decref(arr);
        return api_err(&rq->err, 404, "No hypervisor matching '%.64s' could be found.", match);
    }
    return api_reply(rq, 200, json_pack("{s:o}", "hypervisors", arr));
}

int nova_hypervisors_index(struct api_request *rq)
{
    return hypervisors_list(rq, false);
}

/* GET /os-hypervisors/{pattern}/search (2.1 to 2.52; 2.53 replaced it with
 * ?hypervisor_hostname_pattern=): how novaclient and the openstack client
 * find a hypervisor by name. */
int nova_hypervisors_search(struct api_request *rq)
{
    json_t *arr = hypervisors_matching(rq, api_param(rq, "pattern"), false);
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return api_err(&rq->err, 404, "No hypervisor matching '%.64s' could be found.",
                       api_param(rq, "pattern"));
    }
    return api_reply(rq, 200, json_pack("{s:o}", "hypervisors", arr));
}
int nova_hypervisors_detail(struct api_request *rq)
{
    return hypervisors_list(rq, true);
}

int nova_hypervisors_show(struct api_request *rq)
{
    long i = hypervisor_index(rq, api_param(rq, "hypervisor_id"));
    if (i >= 0)
        return api_reply(
            rq, 200,
            json_pack("{s:o}", "hypervisor", hypervisor_view(rq, (size_t)i, true, NULL, NULL)));
    return api_err(&rq->err, 404, "Hypervisor with ID %.64s could not be found.",
                   api_param(rq, "hypervisor_id"));
}

/* GET /os-hypervisors/statistics (to 2.87): the detail views' figures
 * summed over every host, and their count. */
int nova_hypervisors_statistics(struct api_request *rq)
{
    static const char *const keys[] = { "current_workload", "disk_available_least",
                                        "free_disk_gb",     "free_ram_mb",
                                        "local_gb",         "local_gb_used",
                                        "memory_mb",        "memory_mb_used",
                                        "running_vms",      "vcpus",
                                        "vcpus_used",       NULL };
    json_t *arr = hypervisors_matching(rq, NULL, true);
    json_t *st = json_pack("{s:I}", "count", (json_int_t)json_array_size(arr));
    for (size_t k = 0; keys[k]; k++) {
        json_int_t sum = 0;
        size_t i;
        json_t *h;
        json_array_foreach(arr, i, h)
            sum += json_integer_value(json_object_get(h, keys[k]));
        json_object_set_new(st, keys[k], json_integer(sum));
    }
    json_decref(arr);
    return api_reply(rq, 200, json_pack("{s:o}", "hypervisor_statistics", st));
}

/* GET /os-hypervisors/{pattern}/servers (to 2.52): the hypervisors whose
 * name contains the pattern, each with the servers on it (name, uuid),
 * the key left out when there are none, as Nova. */
int nova_hypervisors_servers(struct api_request *rq)
{
    const char *pattern = api_param(rq, "pattern");
    json_t *arr = hypervisors_matching(rq, pattern, false);
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return api_err(&rq->err, 404, "No hypervisor matching '%.64s' could be found.", pattern);
    }
    struct registry *r = rq->ctx->reg;
    struct reg_server *servers = NULL;
    size_t n = 0;
    if (r->ops->server_list(r, NULL, &servers, &n) < 0) {
        json_decref(arr);
        return reg_fail(&rq->err, r);
    }
    size_t i;
    json_t *h;
    json_array_foreach(arr, i, h) {
        const char *name = json_string_value(json_object_get(h, "hypervisor_hostname"));
        json_t *list = json_array();
        for (size_t j = 0; j < n; j++)
            if (!nova_server_deleted(&servers[j]) && strcmp(servers[j].host, name) == 0)
                json_array_append_new(
                    list, json_pack("{s:s, s:s}", "name", servers[j].name, "uuid", servers[j].id));
        if (json_array_size(list))
            json_object_set_new(h, "servers", list);
        else
            json_decref(list);
    }
    free(servers);
    return api_reply(rq, 200, json_pack("{s:o}", "hypervisors", arr));
}

/* GET /os-hypervisors/{id}/uptime (to 2.87): uptime(1)'s line for the
 * host, from a volswapd (x-volswap-query-uptime: how long it has run,
 * the host's clock and load). Nova answers 501 when the virt driver
 * cannot tell, which is the case of QEMU and libvirt hosts (no command
 * tells it), and 400 when the host's compute service is unavailable. An
 * unknown id is 404. */
int nova_hypervisors_uptime(struct api_request *rq)
{
    long i = hypervisor_index(rq, api_param(rq, "hypervisor_id"));
    if (i < 0)
        return api_err(&rq->err, 404, "Hypervisor with ID %.64s could not be found.",
                       api_param(rq, "hypervisor_id"));
    const struct cfg_host *h = &rq->ctx->cfg->hosts[i];
    char line[128];
    int rc = host_uptime(h, line, sizeof line);
    if (rc > 0)
        return api_err(&rq->err, 501, "Virt driver does not implement uptime function.");
    if (rc < 0)
        return api_err(&rq->err, 400, "Compute service of %s is unavailable at this time.",
                       h->name);
    json_t *o = hypervisor_view(rq, (size_t)i, false, NULL, NULL);
    json_object_set_new(o, "uptime", json_string(line));
    return api_reply(rq, 200, json_pack("{s:o}", "hypervisor", o));
}

/* GET /os-aggregates (admin): volswap groups its hosts in no aggregate. */
int nova_aggregates_index(struct api_request *rq)
{
    return api_reply(rq, 200, json_pack("{s:[]}", "aggregates"));
}
