/* The QMP client library (qmp-client.c) against a scripted fake monitor on
 * a unix socket: the handshake, replies matched by id with events queued in
 * between, error replies, and every way a peer can misbehave (closing,
 * garbage, an endless line, silence) giving a clean error, not a hang. */
#include "qmp-client.h"
#include "../api/fake-qmp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char sock_path[108];
static int listen_fd = -1;
typedef void (*script_fn)(int fd);
static script_fn script;

static const char greeting[] =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, "
    "\"capabilities\": [\"oob\"]}}\r\n";

static void *server_thread(void *arg)
{
    int fd = accept(listen_fd, NULL, NULL);
    if (fd >= 0) {
        script(fd);
        close(fd);
    }
    return NULL;
}

static pthread_t start(script_fn fn)
{
    listen_fd = fake_qmp_listen(sock_path, "volswap-qmp-unit");
    script = fn;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, server_thread, NULL) == 0);
    return t;
}

static void stop(pthread_t t)
{
    pthread_join(t, NULL);
    close(listen_fd);
    unlink(sock_path);
}

static void script_normal(int fd)
{
    say(fd, greeting);
    reply_ok(fd, "{}");
    char id[64], buf[512];
    read_id(fd, id, sizeof id);
    /* an event arrives before the reply: it must be queued, not lost */
    say(fd, "{\"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"id\": \"j1\", \"status\": "
            "\"running\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n");
    say(fd, "{\"event\": \"BLOCK_JOB_READY\", \"data\": {\"device\": \"j1\"}, "
            "\"timestamp\": {\"seconds\": 1, \"microseconds\": 3}}\r\n");
    snprintf(buf, sizeof buf, "{\"return\": [{\"id\": \"e1\"}], \"id\": \"%s\"}\r\n", id);
    say(fd, buf);
    read_id(fd, id, sizeof id);
    snprintf(buf, sizeof buf,
             "{\"error\": {\"class\": \"GenericError\", \"desc\": \"boom\"}, "
             "\"id\": \"%s\"}\r\n",
             id);
    say(fd, buf);
}

static void normal(void)
{
    pthread_t t = start(script_normal);
    struct qmp_error err;
    struct qmp_client *c = qmp_connect(sock_path, 5000, &err);
    CHECK(c);
    CHECK(json_is_object(json_object_get(qmp_greeting(c), "version")));
    json_t *ret = NULL;
    CHECK(qmp_execute(c, "query-block-exports", NULL, &ret, 5000, &err) == 0);
    CHECK(json_array_size(ret) == 1);
    json_decref(ret);
    /* waiting for READY skips (and keeps) the earlier event */
    json_t *ev = qmp_wait_event(c, "BLOCK_JOB_READY", "device", "j1", 1000, &err);
    CHECK(ev);
    json_decref(ev);
    ev = qmp_next_event(c, 1000, &err);
    CHECK_STR(json_string_value(json_object_get(ev, "event")), "JOB_STATUS_CHANGE");
    json_decref(ev);
    json_t *args = json_pack("{s:s}", "id", "x");
    CHECK(qmp_execute(c, "block-export-del", args, NULL, 5000, &err) < 0);
    json_decref(args);
    CHECK_STR(err.cls, "GenericError");
    CHECK_STR(err.desc, "boom");
    qmp_close(c);
    stop(t);
}

static void script_close(int fd)
{
    say(fd, greeting);
}

static void peer_closes(void)
{
    pthread_t t = start(script_close);
    struct qmp_error err;
    CHECK(!qmp_connect(sock_path, 5000, &err));
    CHECK_STR(err.cls, "ConnectionError");
    stop(t);
}

static void script_garbage(int fd)
{
    say(fd, "this is not json\n");
}

static void garbage(void)
{
    pthread_t t = start(script_garbage);
    struct qmp_error err;
    CHECK(!qmp_connect(sock_path, 5000, &err));
    CHECK_STR(err.cls, "ProtocolError");
    stop(t);
}

static void script_no_greeting(int fd)
{
    say(fd, "{\"hello\": 1}\n");
}

static void not_qmp(void)
{
    pthread_t t = start(script_no_greeting);
    struct qmp_error err;
    CHECK(!qmp_connect(sock_path, 5000, &err));
    CHECK_CONTAINS(err.desc, "greeting");
    stop(t);
}

static void script_endless(int fd)
{
    char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    say(fd, "{\"QMP\": \"");
    for (size_t sent = 0; sent < QMP_MAX_LINE + sizeof chunk; sent += sizeof chunk)
        if (send(fd, chunk, sizeof chunk, MSG_NOSIGNAL) < 0)
            break;
}

static void endless_line(void)
{
    pthread_t t = start(script_endless);
    struct qmp_error err;
    CHECK(!qmp_connect(sock_path, 10000, &err));
    CHECK_STR(err.cls, "ProtocolError");
    CHECK_CONTAINS(err.desc, "longer than");
    stop(t);
}

static void script_silent(int fd)
{
    say(fd, greeting);
    reply_ok(fd, "{}");
    char id[64];
    read_id(fd, id, sizeof id); /* and never answer */
    read_id(fd, id, sizeof id); /* returns when the client closes */
}

static void silence_times_out(void)
{
    pthread_t t = start(script_silent);
    struct qmp_error err;
    struct qmp_client *c = qmp_connect(sock_path, 5000, &err);
    CHECK(c);
    CHECK(qmp_execute(c, "query-status", NULL, NULL, 200, &err) < 0);
    CHECK_STR(err.cls, "Timeout");
    CHECK(!qmp_next_event(c, 100, &err));
    CHECK_STR(err.cls, "Timeout");
    qmp_close(c);
    stop(t);
}

static void no_socket(void)
{
    struct qmp_error err;
    CHECK(!qmp_connect("/nonexistent/qmp.sock", 1000, &err));
    CHECK_STR(err.cls, "ConnectionError");
    char longpath[300];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    CHECK(!qmp_connect(longpath, 1000, &err));
}

/* Addresses the client cannot use fail at once, with a message naming
 * them: TLS on a unix socket, a tcp: address without a port, a port
 * nobody listens on (with TLS too). */
static void bad_addresses(void)
{
    struct qmp_error err;
    struct qmp_tls tls = { .dir = "/nonexistent" };
    CHECK(!qmp_connect_tls("/tmp/x.sock", &tls, 1000, &err));
    CHECK_STR(err.cls, "ConnectionError");
    CHECK(strstr(err.desc, "tcp:HOST:PORT") != NULL);
    CHECK(!qmp_connect("tcp:127.0.0.1", 1000, &err));
    CHECK(strstr(err.desc, "expected tcp:HOST:PORT") != NULL);
    CHECK(!qmp_connect("tcp:127.0.0.1:", 1000, &err));
    CHECK_STR(err.cls, "ConnectionError");
    /* a listening socket that is closed again: its port refuses */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
    char addr[64];
    snprintf(addr, sizeof addr, "tcp:127.0.0.1:%u", ntohs(sa.sin_port));
    close(fd);
    CHECK(!qmp_connect(addr, 1000, &err));
    CHECK_STR(err.cls, "ConnectionError");
    CHECK(!qmp_connect_tls(addr, &tls, 1000, &err));
    CHECK_STR(err.cls, "ConnectionError");
}

static const struct unit_case cases[] = {
    { "normal", normal },
    { "peer-closes", peer_closes },
    { "garbage", garbage },
    { "not-qmp", not_qmp },
    { "endless-line", endless_line },
    { "silence-times-out", silence_times_out },
    { "no-socket", no_socket },
    { "bad-addresses", bad_addresses },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    return unit_main(argc, argv, cases);
}
