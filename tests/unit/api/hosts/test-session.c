/* The shared QMP session per host (src/api/hosts/session.c) against a
 * scripted fake monitor: events of a watched job wait in the mailbox for their worker
 * while another worker pumps, events of unwatched jobs are dropped, a
 * command's reply is matched while events arrive, a peer that goes away
 * or sends garbage marks the session dead (every later call fails fast,
 * no hang), and sessions are shared per host and refcounted. */
#include "hosts/hosts.h"

#include <pthread.h>
#include "../fake-qmp.h"

static char sock_path[108];
static int listen_fd = -1;
typedef void (*script_fn)(int fd);
static script_fn script;
static pthread_t server;

static void event(int fd, const char *name, const char *job)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
             "\"event\": \"%s\", \"data\": {\"device\": \"%s\", \"type\": \"mirror\", "
             "\"len\": 10, \"offset\": 10, \"speed\": 0}}\r\n",
             name, job);
    say(fd, buf);
}

static void *server_thread(void *arg)
{
    int fd = accept(listen_fd, NULL, NULL);
    if (fd >= 0) {
        say(fd, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, "
                "\"capabilities\": []}}\r\n");
        reply_ok(fd, "{}");
        script(fd);
        close(fd);
    }
    return NULL;
}

static struct cfg_host host;

static void start(script_fn fn)
{
    listen_fd = fake_qmp_listen(sock_path, "swap-host");
    script = fn;
    memset(&host, 0, sizeof host);
    snprintf(host.name, sizeof host.name, "host1");
    snprintf(host.qmp, sizeof host.qmp, "%s", sock_path);
    CHECK(pthread_create(&server, NULL, server_thread, NULL) == 0);
}

static void stop(void)
{
    pthread_join(server, NULL);
    close(listen_fd);
    unlink(sock_path);
}

static void script_two_jobs(int fd)
{
    /* events of job B and an unwatched job arrive before job A's; then a
   * command whose reply comes after more events */
    event(fd, "BLOCK_JOB_READY", "jobB");
    event(fd, "BLOCK_JOB_READY", "stranger");
    event(fd, "BLOCK_JOB_READY", "jobA");
    char id[64], buf[256];
    read_id(fd, id, sizeof id);
    event(fd, "BLOCK_JOB_COMPLETED", "jobA");
    snprintf(buf, sizeof buf, "{\"return\": [], \"id\": \"%s\"}\r\n", id);
    say(fd, buf);
    /* wait for the client to go away */
    char c;
    while (read(fd, &c, 1) == 1) {
    }
}

static const char *name_of(json_t *ev)
{
    return json_string_value(json_object_get(ev, "event"));
}

static void dispatch(void)
{
    start(script_two_jobs);
    struct api_error e = { 0 };
    struct host_session *s = host_session_get(&host, &e);
    CHECK(s);
    struct host_session *s2 = host_session_get(&host, &e);
    CHECK(s2 == s); /* one session per host */
    host_session_put(s2);
    host_session_watch(s, "jobA", true);
    host_session_watch(s, "jobB", true);
    struct qmp_error qe;
    json_t *ev = host_session_next_event(s, "jobA", 2000, &qe);
    CHECK(ev && !strcmp(name_of(ev), "BLOCK_JOB_READY"));
    json_decref(ev);
    json_t *ret = NULL;
    CHECK(host_session_execute(s, "query-jobs", NULL, &ret, 2000, &qe) == 0);
    CHECK(json_is_array(ret));
    json_decref(ret);
    /* A's COMPLETED came during the command; B's READY was filed for B */
    ev = host_session_next_event(s, "jobA", 2000, &qe);
    CHECK(ev && !strcmp(name_of(ev), "BLOCK_JOB_COMPLETED"));
    json_decref(ev);
    ev = host_session_next_event(s, "jobB", 2000, &qe);
    CHECK(ev && !strcmp(name_of(ev), "BLOCK_JOB_READY"));
    json_decref(ev);
    /* nothing for the stranger, nothing more for B: a timeout, not death */
    ev = host_session_next_event(s, "jobB", 50, &qe);
    CHECK(!ev);
    CHECK_STR(qe.cls, "Timeout");
    CHECK(!host_session_dead(s));
    host_session_watch(s, "jobA", false);
    host_session_watch(s, "jobB", false);
    host_session_put(s);
    stop();
}

static void script_dies(int fd)
{
    event(fd, "BLOCK_JOB_READY", "other");
}

static void peer_dies(void)
{
    start(script_dies);
    struct api_error e = { 0 };
    struct host_session *s = host_session_get(&host, &e);
    CHECK(s);
    host_session_watch(s, "jobA", true);
    struct qmp_error qe;
    json_t *ev = host_session_next_event(s, "jobA", 5000, &qe);
    CHECK(!ev);
    CHECK(strcmp(qe.cls, "Timeout") != 0);
    CHECK(host_session_dead(s));
    CHECK(host_session_execute(s, "query-jobs", NULL, NULL, 1000, &qe) < 0);
    CHECK_STR(qe.cls, "ConnectionError");
    stop();
    /* a dead session is not handed out again: a new connection is tried
   * (and fails, the monitor is gone) */
    CHECK(host_session_get(&host, &e) == NULL);
    host_session_put(s);
}

static void script_garbage(int fd)
{
    say(fd, "this is not json\r\n");
    char c;
    while (read(fd, &c, 1) == 1) {
    }
}

static void garbage(void)
{
    start(script_garbage);
    struct api_error e = { 0 };
    struct host_session *s = host_session_get(&host, &e);
    CHECK(s);
    struct qmp_error qe;
    json_t *ev = host_session_next_event(s, "jobA", 2000, &qe);
    CHECK(!ev);
    CHECK(host_session_dead(s));
    host_session_put(s);
    stop();
}

static void no_host(void)
{
    memset(&host, 0, sizeof host);
    snprintf(host.name, sizeof host.name, "host1");
    snprintf(host.qmp, sizeof host.qmp, "/nonexistent/qmp.sock");
    struct api_error e = { 0 };
    CHECK(host_session_get(&host, &e) == NULL);
    CHECK_CONTAINS(e.msg, "not reachable");
}

int main(int argc, char **argv)
{
    static const struct unit_case cases[] = {
        { "dispatch", dispatch }, { "peer-dies", peer_dies },
        { "garbage", garbage },   { "no-host", no_host },
        { NULL, NULL },
    };
    return unit_main(argc, argv, cases);
}
