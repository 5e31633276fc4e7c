/* The volswap CLI's HTTP client (libcurl). Configuration comes from the
 * same OS_* environment variables the OpenStack tools read:
 *   password:    OS_AUTH_URL OS_USERNAME OS_PASSWORD OS_PROJECT_NAME (or
 *                OS_PROJECT_ID) OS_USER_DOMAIN_NAME OS_PROJECT_DOMAIN_NAME
 *   admin token: OS_AUTH_TYPE=admin_token OS_TOKEN OS_ENDPOINT (the compute
 *                endpoint, e.g. http://host:8774/v2.1)
 *   HTTPS:       OS_CACERT (or --os-cacert) names the CA bundle to verify
 *                the API's certificate with; the system's CAs otherwise
 * The compute and volumev3 endpoints come from the token's catalog (or, for
 * an admin token, from OS_ENDPOINT and the token's project). Replies are
 * capped in size like the server caps requests. */
#include "cli.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_REPLY (16u << 20)

struct buf {
    char *data;
    size_t len;
    bool overflow;
    char token[300];
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct buf *b = ud;
    size_t len = size * n;
    if (b->len + len > MAX_REPLY) {
        b->overflow = true;
        return 0;
    }
    char *nd = realloc(b->data, b->len + len + 1);
    if (!nd)
        return 0;
    b->data = nd;
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct buf *b = ud;
    size_t len = size * n;
    static const char name[] = "x-subject-token:";
    if (len > sizeof name && strncasecmp(p, name, sizeof name - 1) == 0) {
        size_t vlen = len - (sizeof name - 1);
        const char *v = p + sizeof name - 1;
        while (vlen && (*v == ' '))
            v++, vlen--;
        while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
            vlen--;
        if (vlen < sizeof b->token) {
            memcpy(b->token, v, vlen);
            b->token[vlen] = '\0';
        }
    }
    return len;
}

static int do_request(struct cli *c, const char *method, const char *url, const char *extra_header,
                      json_t *body, json_t **reply, char *token_out)
{
    *reply = NULL;
    CURL *h = curl_easy_init();
    if (!h) {
        fprintf(stderr, "ERROR: cannot initialise libcurl\n");
        return -1;
    }
    struct buf b = { 0 };
    struct curl_slist *hdrs = NULL;
    char line[512];
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (c->token[0]) {
        snprintf(line, sizeof line, "X-Auth-Token: %s", c->token);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (extra_header)
        hdrs = curl_slist_append(hdrs, extra_header);
    char *text = NULL;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    /* HTTPS is verified, against the system's CAs or the one named */
    if (c->cacert)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "volswap/" VOLSWAP_VERSION);
    if (c->debug)
        fprintf(stderr, "REQ: %s %s %s\n", method, url, text ? text : "");
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    free(text);
    curl_easy_cleanup(h);
    if (cc != CURLE_OK) {
        fprintf(stderr, "ERROR: %s %s: %s\n", method, url,
                b.overflow ? "reply too large" : curl_easy_strerror(cc));
        free(b.data);
        return -1;
    }
    if (c->debug)
        fprintf(stderr, "RESP: %ld %s\n", status, b.data ? b.data : "");
    if (token_out)
        snprintf(token_out, 300, "%s", b.token);
    if (b.len) {
        json_error_t jerr;
        *reply = json_loadb(b.data, b.len, 0, &jerr);
        if (!*reply && status < 400) {
            fprintf(stderr, "ERROR: %s %s: reply is not JSON: %s\n", method, url, jerr.text);
            free(b.data);
            return -1;
        }
    }
    free(b.data);
    return (int)status;
}

int cli_request(struct cli *c, const char *method, const char *url, const char *extra_header,
                json_t *body, json_t **reply)
{
    return do_request(c, method, url, extra_header, body, reply, NULL);
}

int cli_api_error(int status, json_t *reply)
{
    const char *fault = NULL, *msg = NULL;
    const char *k;
    json_t *v;
    if (json_is_object(reply)) {
        json_object_foreach(reply, k, v) {
            if (json_is_object(v) && json_string_value(json_object_get(v, "message"))) {
                fault = k;
                msg = json_string_value(json_object_get(v, "message"));
                break;
            }
        }
    }
    fprintf(stderr, "ERROR (%s): %s (HTTP %d)\n", fault ? fault : "HTTP",
            msg ? msg : "no error message", status);
    return 1;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static void strip_slash(char *s)
{
    size_t n = strlen(s);
    while (n && s[n - 1] == '/')
        s[--n] = '\0';
}

/* Finds the public URL of TYPE in a Keystone catalog. */
static const char *catalog_url(json_t *catalog, const char *type)
{
    size_t i, j;
    json_t *svc, *ep;
    json_array_foreach(catalog, i, svc) {
        if (strcmp(json_string_value(json_object_get(svc, "type")) ?: "", type) != 0)
            continue;
        json_array_foreach(json_object_get(svc, "endpoints"), j, ep) {
            if (strcmp(json_string_value(json_object_get(ep, "interface")) ?: "", "public") == 0)
                return json_string_value(json_object_get(ep, "url"));
        }
    }
    return NULL;
}

int cli_auth(struct cli *c)
{
    const char *type = env("OS_AUTH_TYPE");
    if ((type && (strcmp(type, "admin_token") == 0 || strcmp(type, "token_endpoint") == 0)) ||
        (!type && env("OS_TOKEN") && !env("OS_PASSWORD"))) {
        const char *tok = env("OS_TOKEN"), *ep = env("OS_ENDPOINT") ?: env("OS_URL");
        if (!tok || !ep) {
            fprintf(stderr, "ERROR: admin_token authentication needs OS_TOKEN and OS_ENDPOINT\n");
            return -1;
        }
        snprintf(c->token, sizeof c->token, "%s", tok);
        snprintf(c->compute_url, sizeof c->compute_url, "%s", ep);
        strip_slash(c->compute_url);
        /* the service root: OS_ENDPOINT may be the compute endpoint (.../v2.1) */
        char base[512];
        snprintf(base, sizeof base, "%s", c->compute_url);
        char *v = strstr(base, "/v2.1");
        if (v && v[5] == '\0')
            *v = '\0';
        else
            snprintf(c->compute_url, sizeof c->compute_url, "%.500s/v2.1", base);
        /* the token's own project names the volume endpoint */
        char url[600], hdr[400];
        snprintf(url, sizeof url, "%s/v3/auth/tokens", base);
        snprintf(hdr, sizeof hdr, "X-Subject-Token: %s", tok);
        json_t *reply = NULL;
        int st = cli_request(c, "GET", url, hdr, NULL, &reply);
        if (st < 0)
            return -1;
        if (st != 200) {
            cli_api_error(st, reply);
            json_decref(reply);
            return -1;
        }
        const char *pid =
            env("OS_PROJECT_ID")
                ?: json_string_value(json_object_get(
                       json_object_get(json_object_get(reply, "token"), "project"), "id"));
        snprintf(c->project_id, sizeof c->project_id, "%s", pid ? pid : "");
        snprintf(c->volume_url, sizeof c->volume_url, "%s/v3/%s", base, c->project_id);
        json_decref(reply);
        return 0;
    }
    const char *auth_url = env("OS_AUTH_URL"), *user = env("OS_USERNAME"), *pw = env("OS_PASSWORD");
    if (!auth_url || !user || !pw) {
        fprintf(stderr, "ERROR: set OS_AUTH_URL, OS_USERNAME and OS_PASSWORD (or "
                        "OS_AUTH_TYPE=admin_token, OS_TOKEN and OS_ENDPOINT)\n");
        return -1;
    }
    snprintf(c->auth_url, sizeof c->auth_url, "%s", auth_url);
    strip_slash(c->auth_url);
    json_t *scope = NULL;
    const char *pname = env("OS_PROJECT_NAME") ?: env("OS_TENANT_NAME");
    const char *pid = env("OS_PROJECT_ID") ?: env("OS_TENANT_ID");
    const char *pdom = env("OS_PROJECT_DOMAIN_NAME") ?: "Default";
    if (pid)
        scope = json_pack("{s:{s:s}}", "project", "id", pid);
    else if (pname)
        scope = json_pack("{s:{s:s, s:{s:s}}}", "project", "name", pname, "domain", "name", pdom);
    json_t *body = json_pack("{s:{s:{s:[s], s:{s:{s:s, s:s, s:{s:s}}}}}}", "auth", "identity",
                             "methods", "password", "password", "user", "name", user, "password",
                             pw, "domain", "name", env("OS_USER_DOMAIN_NAME") ?: "Default");
    if (scope)
        json_object_set_new(json_object_get(body, "auth"), "scope", scope);
    char url[600];
    /* OS_AUTH_URL may or may not carry the /v3 suffix */
    size_t al = strlen(c->auth_url);
    if (al >= 3 && strcmp(c->auth_url + al - 3, "/v3") == 0)
        snprintf(url, sizeof url, "%s/auth/tokens", c->auth_url);
    else
        snprintf(url, sizeof url, "%s/v3/auth/tokens", c->auth_url);
    json_t *reply = NULL;
    char token[300] = "";
    int st = do_request(c, "POST", url, NULL, body, &reply, token);
    json_decref(body);
    if (st < 0)
        return -1;
    if (st != 201) {
        cli_api_error(st, reply);
        json_decref(reply);
        return -1;
    }
    json_t *tok = json_object_get(reply, "token");
    json_t *catalog = json_object_get(tok, "catalog");
    const char *compute = catalog_url(catalog, "compute");
    const char *volume = catalog_url(catalog, "volumev3");
    const char *proj = json_string_value(json_object_get(json_object_get(tok, "project"), "id"));
    if (!token[0] || !compute || !volume) {
        fprintf(stderr, "ERROR: the token has no compute/volumev3 endpoints (is it "
                        "project-scoped? set OS_PROJECT_NAME)\n");
        json_decref(reply);
        return -1;
    }
    snprintf(c->token, sizeof c->token, "%s", token);
    snprintf(c->compute_url, sizeof c->compute_url, "%s", compute);
    snprintf(c->volume_url, sizeof c->volume_url, "%s", volume);
    snprintf(c->project_id, sizeof c->project_id, "%s", proj ? proj : "");
    strip_slash(c->compute_url);
    strip_slash(c->volume_url);
    json_decref(reply);
    return 0;
}

static json_t *service_call(struct cli *c, const char *base, const char *hdr, const char *method,
                            const char *path, json_t *body, int want, int *rc)
{
    char url[2048];
    snprintf(url, sizeof url, "%s%s", base, path);
    json_t *reply = NULL;
    int st = cli_request(c, method, url, hdr, body, &reply);
    if (st < 0) {
        *rc = 1;
        return NULL;
    }
    if (st != want) {
        *rc = st >= 400 ? cli_api_error(st, reply)
                        : (fprintf(stderr,
                                   "ERROR: unexpected HTTP %d "
                                   "from %s %s\n",
                                   st, method, url),
                           1);
        json_decref(reply);
        return NULL;
    }
    *rc = 0;
    return reply ? reply : json_object();
}

json_t *cli_compute(struct cli *c, const char *method, const char *path, json_t *body, int want,
                    int *rc)
{
    char hdr[80];
    snprintf(hdr, sizeof hdr, "OpenStack-API-Version: compute %s",
             c->compute_version ? c->compute_version : "2.89");
    return service_call(c, c->compute_url, hdr, method, path, body, want, rc);
}

json_t *cli_volume(struct cli *c, const char *method, const char *path, json_t *body, int want,
                   int *rc)
{
    return service_call(c, c->volume_url, "OpenStack-API-Version: volume 3.42", method, path, body,
                        want, rc);
}
