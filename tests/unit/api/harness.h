/* In-process harness for volswap-api's handlers: a service context on a
 * temporary directory (config, SQLite registry, a directory pool), tokens
 * for a few users, and a call that runs one request (method, path with
 * query, headers, body) through the router exactly as the HTTP server
 * would, without libmicrohttpd or a socket. With a host, a fake host daemon
 * answers QMP on a unix socket: every command succeeds, queries answer
 * empty, a mirror becomes READY at once and completes when asked, an
 * export's delete is confirmed by its event. */
#ifndef VOLSWAP_TEST_API_HARNESS_H
#define VOLSWAP_TEST_API_HARNESS_H

#include "api.h"
#include "unit.h"

#include <pthread.h>

struct th {
    char dir[64];
    struct api_config cfg;
    struct registry *reg;
    struct api_ctx ctx;
    char demo[33], other[33]; /* project ids */
    /* tokens: admin (admin token, project demo), alice (member of demo),
     * reader (reader of demo), bob (member of other) */
    char admin[80], alice[80], reader[80], bob[80];
    /* the fake host daemon */
    char qmp_path[108];
    int host_fd;
    pthread_t host_thread;
    bool with_host, with_swaps;
    const struct api_route *last_route; /* what the last th_call matched */
};

struct th_reply {
    int status;
    json_t *json; /* the body parsed, or NULL */
    struct api_response resp;
};

/* WITH_HOST: host1's monitor is the fake daemon (else nothing listens and
 * the host is down); WITH_SWAPS: the swap service runs too. */
void th_setup(struct th *t, bool with_host, bool with_swaps);
void th_teardown(struct th *t);

/* Runs METHOD PATH (a printf format; "?a=b&c=d" becomes query arguments)
 * with TOKEN (NULL: none), HEADERS ("Name: value" lines, NULL: none) and
 * BODY (NULL: none). Returns the status; R holds the answer until
 * th_reply_free. */
int th_call(struct th *t, struct th_reply *r, const char *method, const char *token,
            const char *headers, const char *body, const char *path, ...)
    __attribute__((format(printf, 7, 8)));
void th_reply_free(struct th_reply *r);
/* A header of the answer, or NULL. */
const char *th_header(const struct th_reply *r, const char *name);
/* The answer's body text ("" for none). */
const char *th_body(const struct th_reply *r);

/* Shortcuts that check their own success: a server of TOKEN's project on
 * host1, a 1 GiB volume in PROJECT (pool1), an attachment. Fill ID. */
void th_server(struct th *t, const char *token, char id[37]);
void th_volume(struct th *t, const char *token, const char *project, char id[37]);
void th_attach(struct th *t, const char *token, const char *server, const char *volume);

/* CHECK that R's status is STATUS, showing the body when not. */
#define CHECK_STATUS(r, st)                                                            \
    do {                                                                               \
        if ((r)->status != (st)) {                                                     \
            fprintf(stderr, "%s:%d: status %d, expected %d: %s\n", __FILE__, __LINE__, \
                    (r)->status, (st), th_body(r));                                    \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

#endif

/* ---- table-driven route cases ---- */

/* What a case finds before its request: nothing; a server S, volumes V and
 * W of alice's (S and V with the metadata item a=1) and her key pair kp1; V attached to S; or
 * a swap of S from V to W finished. */
/* TH_GLANCE: TH_BASIC, image I shared with the other project (pending),
 * and the admin's public metadata definition namespace ns1 holding the
 * object o1, the property p1, the tag t1 and an association with
 * OS::Glance::Image, and its private protected namespace ns2. */
enum th_prep { TH_NONE, TH_BASIC, TH_ATTACHED, TH_SWAPPED, TH_GLANCE };

/* One request and its expected answer. WHO: "admin", "alice", "reader",
 * "bob", "bad" (an unknown token) or NULL (none). PATH and BODY may name
 * {S} {V} {W} (ids), {P} {O} (the demo and other projects), {A} (V's
 * attachment id), {R} (the request id of S's create action), {X} (the
 * swap's id, with TH_SWAPPED), {T} (alice's token), {U} (alice's user id), {I} and {J} (alice's
 * images: I queued with the property p=1 and the tag t, J active, its data "hello"); a BODY of "{BIG}" is one byte more than the HTTP server
 * takes. */
struct th_case {
    const char *name;
    enum th_prep prep;
    const char *method, *who, *path, *headers, *body;
    int status;
    const char *contains; /* in the body, or NULL */
};

/* Runs the case named NAME in CASES (all of them without a name); exit
 * status as unit_main's. */
int th_main(int argc, char **argv, const struct th_case *cases);
/* Runs case C in a service of its own; returns the route its request
 * matched (NULL: none). */
const struct api_route *th_run(const struct th_case *c);

/* The tables of tests/unit/api/rest (one per service). */
extern const struct th_case compute_cases[], volume_cases[], identity_cases[], image_cases[];

/* Each test program's main: TH_MAIN(compute) runs compute_cases. The
 * coverage test links every table and defines TH_NO_MAIN. */
#ifdef TH_NO_MAIN
#define TH_MAIN(svc)
#else
#define TH_MAIN(svc)                             \
    int main(int argc, char **argv)              \
    {                                            \
        return th_main(argc, argv, svc##_cases); \
    }
#endif
