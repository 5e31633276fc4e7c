/* bench/api-inproc: the attachment list and show calls of bench/api run
 * in-process, without HTTP: each request goes through what the HTTP server
 * does with it (request, router, token check, handler, registry reads,
 * answer, metrics) against the unit harness's service (a temporary
 * registry, a fake host daemon), a server with three attachments. It says
 * what the API's own work costs, away from the kernel and wrk:
 *
 *   build/bench/api-inproc [ROUNDS]    microseconds a request (best of 5)
 *   valgrind --tool=callgrind --toggle-collect=inproc_list_round \
 *       build/bench/api-inproc --once 1000
 *                                      instructions: Ir / 1000 a request
 *                                      (inproc_show_round for show)
 *
 * Under tests/with-postgres (VOLSWAP_TEST_DB=postgresql) the registry is a
 * PostgreSQL database, and it also prints the CPU time the server's
 * processes spent a request (read from /proc: the children of its
 * postmaster), beside this process's. */
#include "harness.h"
#include "testdb.h"

#include <dirent.h>
#include <time.h>
#include <unistd.h>

static const char *bench_headers;

static const char *bench_lookup(void *opaque, bool header, const char *name)
{
    (void)opaque;
    if (!header)
        return NULL;
    if (!strcasecmp(name, "X-Auth-Token"))
        return bench_headers;
    if (!strcasecmp(name, "OpenStack-API-Version"))
        return "compute 2.89";
    return NULL;
}

/* One request as the HTTP server runs it (http/server.c's on_request and
 * send_reply, less libmicrohttpd). */
static int bench_request(struct th *t, const char *path)
{
    struct api_request *rq = calloc(1, sizeof *rq);
    CHECK(rq);
    api_request_init(rq, &t->ctx, "GET", path);
    rq->lookup = bench_lookup;
    api_dispatch_stream_open(api_mounts, rq);
    api_dispatch(api_mounts, rq);
    struct api_response out;
    CHECK(api_response_build(rq, &out) == 0);
    int status = out.status;
    api_metrics_observe(rq, out.status, 1e-4);
    api_response_free(&out);
    api_request_release(rq);
    free(rq);
    return status;
}

/* Separate functions so that callgrind can count each alone. */
__attribute__((noinline)) void inproc_list_round(struct th *t, const char *path, int n);
__attribute__((noinline)) void inproc_show_round(struct th *t, const char *path, int n);
void inproc_list_round(struct th *t, const char *path, int n)
{
    for (int i = 0; i < n; i++)
        CHECK(bench_request(t, path) == 200);
}
void inproc_show_round(struct th *t, const char *path, int n)
{
    for (int i = 0; i < n; i++)
        CHECK(bench_request(t, path) == 200);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* CPU time (user + system, us) of the PostgreSQL server's processes so
 * far: the postmaster's children (its pid is the first line of
 * postmaster.pid in the data directory with-postgres made). 0 when there
 * is none. */
static double pg_cpu_us(void)
{
    const char *dir = getenv("VOLSWAP_TEST_PG_DIR");
    if (!unit_db_is_postgres() || !dir)
        return 0;
    char path[512];
    snprintf(path, sizeof path, "%s/data/postmaster.pid", dir);
    FILE *f = fopen(path, "r");
    long pm = 0;
    if (!f || fscanf(f, "%ld", &pm) != 1)
        pm = 0;
    if (f)
        fclose(f);
    double ticks = 0;
    DIR *d = pm ? opendir("/proc") : NULL;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char stat[600], buf[1024];
        snprintf(stat, sizeof stat, "/proc/%s/stat", de->d_name);
        FILE *s = fopen(stat, "r");
        if (!s)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, s);
        fclose(s);
        buf[n] = '\0';
        /* fields after the command's closing parenthesis: state ppid ... */
        char *p = strrchr(buf, ')');
        long ppid = 0;
        unsigned long ut = 0, st = 0;
        if (p &&
            sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ppid, &ut, &st) ==
                3 &&
            (ppid == pm || atol(de->d_name) == pm))
            ticks += (double)(ut + st);
    }
    if (d)
        closedir(d);
    return ticks * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

static void measure(const char *name, struct th *t, const char *path, int rounds,
                    void (*round)(struct th *, const char *, int))
{
    double best = 0, best_cpu = 0, best_pg = 0;
    for (int k = 0; k < 5; k++) {
        double c0 = cpu_us(), p0 = pg_cpu_us(), t0 = now_us();
        round(t, path, rounds);
        double t1 = now_us(), c1 = cpu_us(), p1 = pg_cpu_us();
        double us = (t1 - t0) / rounds;
        if (k == 0 || us < best) {
            best = us;
            best_cpu = (c1 - c0) / rounds;
            best_pg = (p1 - p0) / rounds;
        }
    }
    if (unit_db_is_postgres())
        printf("%-18s %8.2f us a request (wall), %8.2f us CPU in this process, %8.2f us CPU in "
               "postgres\n",
               name, best, best_cpu, best_pg);
    else
        printf("%-18s %8.2f us a request (wall), %8.2f us CPU\n", name, best, best_cpu);
}

int main(int argc, char **argv)
{
    bool once = argc > 1 && !strcmp(argv[1], "--once");
    if (once) {
        argc--;
        argv++;
    }
    int rounds = argc > 1 ? atoi(argv[1]) : 2000;
    if (rounds <= 0)
        rounds = 2000;
    struct th t;
    th_setup(&t, true, false);
    char server[37], vols[3][37];
    th_server(&t, t.alice, server);
    for (int i = 0; i < 3; i++) {
        th_volume(&t, t.alice, t.demo, vols[i]);
        th_attach(&t, t.alice, server, vols[i]);
    }
    bench_headers = t.alice;
    char list[256], show[320];
    snprintf(list, sizeof list, "/v2.1/servers/%s/os-volume_attachments", server);
    snprintf(show, sizeof show, "%s/%s", list, vols[2]);
    /* the thread's reader connection and prepared statements are made
     * at its first read: not counted */
    inproc_list_round(&t, list, 0);
    CHECK(bench_request(&t, list) == 200 && bench_request(&t, show) == 200);
    if (once) {
        inproc_list_round(&t, list, rounds);
        inproc_show_round(&t, show, rounds);
    } else {
        printf("api-inproc: %d requests a round, best of 5, registry %s\n", rounds,
               t.reg->ops->name);
        measure("attachments list", &t, list, rounds, inproc_list_round);
        measure("attachment show", &t, show, rounds, inproc_show_round);
    }
    th_teardown(&t);
    return 0;
}
