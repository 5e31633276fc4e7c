/* The router's own promises, through the in-process harness: what it
 * checks before a handler runs and in which order, the named parameters
 * it hands over, and the headers of every answer. */
#include "../harness.h"

static struct th t;

static int call(struct th_reply *r, const char *method, const char *token, const char *headers,
                const char *body, const char *path)
{
    return th_call(&t, r, method, token, headers, body, "%s", path);
}

/* An unknown path is 404, a known path with another method 405. */
static void unknown_path_and_method(void)
{
    struct th_reply r;
    call(&r, "GET", t.alice, NULL, NULL, "/v2.1/nothing-here");
    CHECK_STATUS(&r, 404);
    CHECK_CONTAINS(th_body(&r), "itemNotFound");
    th_reply_free(&r);
    call(&r, "PATCH", t.alice, NULL, NULL, "/v2.1/servers");
    CHECK_STATUS(&r, 405);
    CHECK_CONTAINS(th_body(&r), "The method PATCH is not allowed");
    th_reply_free(&r);
}

/* No token is 401 with keystonemiddleware's body and WWW-Authenticate,
 * before the policy or the body are looked at. */
static void token_first(void)
{
    struct th_reply r;
    call(&r, "POST", NULL, NULL, "not json", "/v2.1/servers");
    CHECK_STATUS(&r, 401);
    CHECK_STR(th_header(&r, "WWW-Authenticate"), "Keystone uri=\"http://api.test/v3\"");
    CHECK_CONTAINS(th_body(&r), "\"title\":\"Unauthorized\"");
    th_reply_free(&r);
}

/* A policy checked at the door refuses before the body is parsed. */
static void policy_before_body(void)
{
    struct th_reply r;
    call(&r, "POST", t.reader, NULL, "not json", "/v2.1/servers");
    CHECK_STATUS(&r, 403);
    th_reply_free(&r);
    call(&r, "POST", t.alice, NULL, "not json", "/v2.1/servers");
    CHECK_STATUS(&r, 400);
    th_reply_free(&r);
}

/* The route's schema refuses an unknown field with Nova's message, so the
 * handler never sees it. */
static void body_checked_at_door(void)
{
    struct th_reply r;
    call(&r, "POST", t.alice, NULL, "{\"server\": {\"name\": \"a\", \"flavour\": \"x\"}}",
         "/v2.1/servers");
    CHECK_STATUS(&r, 400);
    CHECK_CONTAINS(th_body(&r), "Additional properties are not allowed ('flavour' was unexpected)");
    th_reply_free(&r);
}

/* Every Nova answer echoes the microversion in both headers; a Cinder one
 * in OpenStack-API-Version; each carries its request id. */
static void microversion_headers(void)
{
    struct th_reply r;
    call(&r, "GET", t.alice, "OpenStack-API-Version: compute 2.79", NULL, "/v2.1/flavors");
    CHECK_STATUS(&r, 200);
    CHECK_STR(th_header(&r, "OpenStack-API-Version"), "compute 2.79");
    CHECK_STR(th_header(&r, "X-OpenStack-Nova-API-Version"), "2.79");
    CHECK_CONTAINS(th_header(&r, "x-compute-request-id"), "req-");
    th_reply_free(&r);
    char path[100];
    snprintf(path, sizeof path, "/v3/%s/types", t.demo);
    call(&r, "GET", t.alice, "OpenStack-API-Version: volume latest", NULL, path);
    CHECK_STATUS(&r, 200);
    CHECK_STR(th_header(&r, "OpenStack-API-Version"), "volume 3.70");
    CHECK_CONTAINS(th_header(&r, "x-openstack-request-id"), "req-");
    th_reply_free(&r);
}

/* A route's microversion range: outside it the path does not exist. */
static void route_range(void)
{
    struct th_reply r;
    call(&r, "GET", t.admin, "X-OpenStack-Nova-API-Version: 2.52", NULL,
         "/v2.1/os-hypervisors/host/search");
    CHECK_STATUS(&r, 200);
    th_reply_free(&r);
    call(&r, "GET", t.admin, "X-OpenStack-Nova-API-Version: 2.53", NULL,
         "/v2.1/os-hypervisors/host/search");
    CHECK_STATUS(&r, 404);
    th_reply_free(&r);
}

/* Named parameters reach the handler whole, one segment each; a trailing
 * slash is ignored and an empty segment matches nothing. */
static void named_parameters(void)
{
    char s[37], path[200];
    th_server(&t, t.alice, s);
    struct th_reply r;
    snprintf(path, sizeof path, "/v2.1/servers/%s/", s);
    call(&r, "GET", t.alice, NULL, NULL, path);
    CHECK_STATUS(&r, 200);
    CHECK_CONTAINS(th_body(&r), s);
    th_reply_free(&r);
    call(&r, "GET", t.alice, NULL, NULL, "/v2.1/servers//metadata");
    CHECK_STATUS(&r, 404);
    th_reply_free(&r);
}

/* The shapes of path the router sees before any table: trailing and
 * doubled slashes, a prefix mount and a name that only starts like one,
 * more segments than any route, a parameter too long for its room. Each
 * routes (or not) by its segments alone. */
static void path_shapes(void)
{
    static const struct {
        const char *method, *path;
        int status;
    } cases[] = {
        { "GET", "/v2.1//", 200 },
        { "GET", "/compute/v2.1/", 200 },
        { "GET", "/computex/v2.1", 404 },
        { "GET", "/v2.1/servers//x", 404 },
        { "GET", "/v2.1/servers/x/os-volume_attachments/y/z", 404 },
        { "GET", "/v2.1/servers/x/action", 405 },
        { "GET", "/v2.1/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q", 404 },
        { "GET", "servers", 404 },
    };
    struct th_reply r;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        call(&r, cases[i].method, t.alice, NULL, NULL, cases[i].path);
        CHECK_STATUS(&r, cases[i].status);
        th_reply_free(&r);
    }
    char s[37], path[600];
    th_server(&t, t.alice, s);
    snprintf(path, sizeof path, "/compute/v2.1/servers/%s//", s);
    call(&r, "GET", t.alice, NULL, NULL, path);
    CHECK_STATUS(&r, 200);
    CHECK_CONTAINS(th_body(&r), s);
    th_reply_free(&r);
    /* a parameter of 255 bytes is taken (no such server), one of 256 is not */
    char big[300];
    memset(big, 'a', 256);
    big[256] = '\0';
    snprintf(path, sizeof path, "/v2.1/servers/%s", big);
    call(&r, "GET", t.alice, NULL, NULL, path);
    CHECK_STATUS(&r, 404);
    CHECK_CONTAINS(th_body(&r), "The resource could not be found.");
    th_reply_free(&r);
    big[255] = '\0';
    snprintf(path, sizeof path, "/v2.1/servers/%s", big);
    call(&r, "GET", t.alice, NULL, NULL, path);
    CHECK_STATUS(&r, 404);
    CHECK_CONTAINS(th_body(&r), "could not be found");
    CHECK(t.last_route && strcmp(t.last_route->pattern, "/v2.1/servers/{server_id}") == 0);
    th_reply_free(&r);
}

/* A 201 with X-Subject-Token and the catalog, the Location of a created
 * server: the headers a handler sets go out. */
static void handler_headers(void)
{
    struct th_reply r;
    call(&r, "POST", t.alice, NULL, "{\"server\": {\"name\": \"a\"}}", "/v2.1/servers");
    CHECK_STATUS(&r, 202);
    CHECK_CONTAINS(th_header(&r, "Location"), "http://api.test/v2.1/servers/");
    th_reply_free(&r);
}

static const struct unit_case cases[] = {
    { "unknown-path-and-method", unknown_path_and_method },
    { "token-first", token_first },
    { "policy-before-body", policy_before_body },
    { "body-checked-at-door", body_checked_at_door },
    { "microversion-headers", microversion_headers },
    { "route-range", route_range },
    { "named-parameters", named_parameters },
    { "handler-headers", handler_headers },
    { "path-shapes", path_shapes },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    th_setup(&t, false, false);
    int rc = unit_main(argc, argv, cases);
    th_teardown(&t);
    return rc;
}
