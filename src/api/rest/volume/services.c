/* Cinder's services: GET /os-services (a cinder-volume service per host,
 * `host@volswap`) and the admin's PUT /os-services/{enable, disable,
 * disable-log-reason} (Cinder 3.0's bodies: host, binary, and for the
 * last a disabled_reason). A disabled service takes no new volume: a
 * create that lets volswap pick a pool skips its host, one that names
 * its pool (volume_type, availability_zone) is refused with Cinder's
 * scheduler message; what the host already serves keeps working, as in
 * Cinder. The state lives in the registry (kind service, owner the
 * service's host), so every API node sees it. Freeze and thaw are not
 * offered: they belong to replication failover, which volswap has not. */
#include "volume.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SERVICE_BINARY "cinder-volume"

int cinder_service_disabled(struct registry *r, const char *host, char *reason, size_t len,
                            struct api_error *e)
{
    char owner[100];
    snprintf(owner, sizeof owner, "%s@volswap", host);
    struct reg_meta *m = NULL;
    size_t n = 0;
    if (r->ops->meta_list(r, REG_META_SERVICE, owner, &m, &n) < 0)
        return reg_fail(e, r);
    int disabled = 0;
    if (reason && len)
        reason[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(m[i].key, "disabled"))
            disabled = 1;
        else if (!strcmp(m[i].key, "disabled_reason") && reason)
            snprintf(reason, len, "%s", m[i].value);
    }
    free(m);
    return disabled;
}

int cinder_services(struct api_request *rq)
{
    const struct api_config *cfg = rq->ctx->cfg;
    json_t *arr = json_array();
    char now[32], host[100], reason[256];
    bool *ups = calloc(cfg->n_hosts + 1, sizeof *ups);
    if (ups)
        host_probe_all(cfg, NULL, ups, NULL); /* all at once: one timeout */
    for (size_t h = 0; h < cfg->n_hosts; h++) {
        bool up = ups ? ups[h] : host_probe(&cfg->hosts[h], NULL) == 0;
        struct api_error e = { 0 };
        /* a registry error shows the service enabled rather than failing the list */
        int disabled =
            cinder_service_disabled(rq->ctx->reg, cfg->hosts[h].name, reason, sizeof reason, &e);
        api_time_micro(time(NULL), now);
        snprintf(host, sizeof host, "%s@volswap", cfg->hosts[h].name);
        json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "binary", SERVICE_BINARY, "host", host,
                      "zone", cfg->hosts[h].name, "status", disabled > 0 ? "disabled" : "enabled",
                      "state", up ? "up" : "down", "updated_at", now, "disabled_reason",
                      disabled > 0 && reason[0] ? json_string(reason) : json_null()));
    }
    free(ups);
    return api_reply(rq, 200, json_pack("{s:o}", "services", arr));
}

/* PUT /os-services/{action}: ACTION enable, disable or disable-log-reason. */
int cinder_services_update(struct api_request *rq)
{
    const char *action = api_param(rq, "action");
    bool enable = !strcmp(action, "enable"), log_reason = !strcmp(action, "disable-log-reason");
    if (!enable && !log_reason && strcmp(action, "disable") != 0)
        return api_err(&rq->err, 404, "Unknown action");
    json_t *b = NULL;
    json_error_t jerr;
    if (rq->body && rq->body_len && body_json_depth(rq->body, rq->body_len, 2) <= 2)
        b = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(b)) {
        json_decref(b);
        return api_err(&rq->err, 400, "Missing required element 'host' in request body.");
    }
    const char *host = json_string_value(json_object_get(b, "host"));
    json_t *bin = json_object_get(b, "binary");
    const char *binary = bin ? json_string_value(bin) : SERVICE_BINARY;
    const char *reason = json_string_value(json_object_get(b, "disabled_reason"));
    int rc = 0;
    if (!host)
        rc = api_err(&rq->err, 400, "Missing required element 'host' in request body.");
    /* Cinder's check: a reason of 1 to 255 characters once trimmed */
    size_t rlen = reason ? strlen(reason) : 0;
    while (reason && rlen && (reason[0] == ' ' || reason[0] == '\t')) {
        reason++;
        rlen--;
    }
    while (rlen && (reason[rlen - 1] == ' ' || reason[rlen - 1] == '\t'))
        rlen--;
    if (rc == 0 && log_reason && (rlen == 0 || rlen > 255))
        rc = api_err(&rq->err, 400, "Disabled reason contains invalid characters or is too long");
    const struct cfg_host *h = NULL;
    size_t hl = host ? strlen(host) : 0;
    if (rc == 0 && hl > 8 && !strcmp(host + hl - 8, "@volswap")) {
        char name[65];
        snprintf(name, sizeof name, "%.*s", (int)(hl - 8), host);
        h = config_host(rq->ctx->cfg, name);
    }
    if (rc == 0 && (!h || !binary || strcmp(binary, SERVICE_BINARY) != 0))
        rc = api_err(&rq->err, 404, "Unknown service");
    struct registry *r = rq->ctx->reg;
    if (rc == 0) {
        REG_TXN(txn, r);
        rc = reg_begin(&txn, &rq->err);
        if (rc == 0 && r->ops->meta_delete(r, REG_META_SERVICE, host, NULL) < 0)
            rc = reg_fail(&rq->err, r);
        struct reg_meta m = { "disabled", "1" };
        if (rc == 0 && !enable && r->ops->meta_put(r, REG_META_SERVICE, host, &m) < 0)
            rc = reg_fail(&rq->err, r);
        if (rc == 0 && log_reason) {
            snprintf(m.key, sizeof m.key, "disabled_reason");
            snprintf(m.value, sizeof m.value, "%.*s", (int)rlen, reason);
            if (r->ops->meta_put(r, REG_META_SERVICE, host, &m) < 0)
                rc = reg_fail(&rq->err, r);
        }
        if (rc == 0)
            rc = reg_commit(&txn, &rq->err);
    }
    json_t *out = NULL;
    if (rc == 0)
        out = json_pack("{s:b, s:s, s:s, s:s, s:s, s:o}", "disabled", !enable, "status",
                        enable ? "enabled" : "disabled", "host", host, "service", SERVICE_BINARY,
                        "binary", SERVICE_BINARY, "disabled_reason",
                        log_reason ? json_stringn(reason, rlen) : json_null());
    json_decref(b);
    return rc < 0 ? -1 : api_reply(rq, 200, out);
}
