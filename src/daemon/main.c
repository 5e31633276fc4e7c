/* volswapd: the host daemon. Parses the command line in the manner of
 * qemu-storage-daemon — options run in order, each one a monitor command
 * in disguise (--blockdev is blockdev-add, --nbd-server is
 * nbd-server-start, --export is block-export-add) — then runs the event
 * loop until SIGTERM or SIGINT, and shuts down cleanly: requests in flight
 * finish and are answered, every node is flushed, the process exits 0. */
#include "../monitor/monitor.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static struct vs_loop *loop;
static const char *pidfile;

static void usage(FILE *out)
{
    fprintf(out,
"Usage: volswapd [options]\n"
"Serves block volumes over NBD and moves them live (see README.md).\n"
"\n"
"  --blockdev [driver=]DRIVER,node-name=NAME,...\n"
"                       open a block node (blockdev-add): drivers file,\n"
"                       host_device (filename=PATH, read-only=on|off,\n"
"                       cache.direct=on|off, discard=ignore|unmap), raw (file=NODE)\n"
"  --nbd-server unix:PATH | tcp:HOST:PORT | addr.type=unix,addr.path=PATH[,max-connections=N]\n"
"                       start the NBD server (nbd-server-start)\n"
"  --export [type=]nbd,node=NODE[,id=ID][,name=NAME][,description=TEXT][,writable=on]\n"
"                       export a node over NBD (block-export-add); node-name= also works\n"
"  --pidfile PATH       write the pid once every socket is listening\n"
"  -v, --verbose        log debug messages\n"
"  -h, --help           show this help\n"
"  -V, --version        show the version\n");
}

/* A failed start-up option: one line naming it, exit status 1. */
static void VS_PRINTF(2, 3) die_opt(const char *opt, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "volswapd: %s: %s\n", opt, msg);
    if (pidfile)
        unlink(pidfile);
    exit(1);
}

static void run_option(const char *optname, const char *command, json_t *args)
{
    struct vs_error err = { 0 };
    struct qmp_ctx ctx = { .loop = loop };
    json_t *ret = qmp_dispatch(&ctx, command, args, true, &err);
    json_decref(args);
    if (!ret)
        die_opt(optname, "%s", err.msg);
    json_decref(ret);
}

static json_t *parse_keyval(const char *optname, const char *value, const char *implied)
{
    struct vs_error err = { 0 };
    json_t *obj = vs_keyval_parse(value, implied, &err);
    if (!obj)
        die_opt(optname, "%s", err.msg);
    return obj;
}

static void opt_nbd_server(const char *value)
{
    const char *opt = "--nbd-server";
    json_t *addr = json_object(), *data = json_object(), *args = json_object();
    json_object_set_new(args, "addr", addr);
    json_object_set_new(addr, "data", data);
    if (strncmp(value, "unix:", 5) == 0) {
        json_object_set_new(addr, "type", json_string("unix"));
        json_object_set_new(data, "path", json_string(value + 5));
    } else if (strncmp(value, "tcp:", 4) == 0) {
        const char *hp = value + 4;
        const char *colon = strrchr(hp, ':');
        if (!colon || colon == hp || !colon[1])
            die_opt(opt, "expected tcp:HOST:PORT, got '%s'", value);
        char *host = strndup(hp, (size_t)(colon - hp));
        /* [::1]:port */
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
            memmove(host, host + 1, strlen(host));
            host[strlen(host) - 1] = '\0';
        }
        json_object_set_new(addr, "type", json_string("inet"));
        json_object_set_new(data, "host", json_string(host));
        json_object_set_new(data, "port", json_string(colon + 1));
        free(host);
    } else {
        /* qemu-storage-daemon's flat form: addr.type=unix,addr.path=... */
        json_t *kv = parse_keyval(opt, value, NULL);
        json_t *flat = json_object_get(kv, "addr");
        if (!json_is_object(flat)) {
            json_decref(kv);
            die_opt(opt, "expected unix:PATH, tcp:HOST:PORT or addr.type=...");
        }
        const char *key;
        json_t *v;
        json_object_foreach(flat, key, v) {
            if (strcmp(key, "type") == 0)
                json_object_set(addr, "type", v);
            else
                json_object_set(data, key, v);
        }
        json_object_foreach(kv, key, v) {
            if (strcmp(key, "addr") != 0)
                json_object_set(args, key, v);
        }
        json_decref(kv);
    }
    run_option(opt, "nbd-server-start", args);
}

static void opt_export(const char *value)
{
    json_t *args = parse_keyval("--export", value, "type");
    /* The short form's node= is block-export-add's node-name; the id
     * defaults to the node's name, so one export per node needs no id. */
    json_t *node = json_object_get(args, "node");
    if (node) {
        if (json_object_get(args, "node-name"))
            die_opt("--export", "node and node-name are the same option: give one");
        json_object_set(args, "node-name", node);
        json_object_del(args, "node");
    }
    json_t *nn = json_object_get(args, "node-name");
    if (!json_object_get(args, "id") && json_is_string(nn))
        json_object_set(args, "id", nn);
    run_option("--export", "block-export-add", args);
}

static void write_pidfile(void)
{
    if (!pidfile)
        return;
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0 ||
        rename(tmp, pidfile) < 0)
        die_opt("--pidfile", "cannot write '%s': %s", pidfile, strerror(errno));
}

/* ---- shutdown -------------------------------------------------------- */

struct shutdown_state {
    struct vs_completion sig_c;
    struct signalfd_siginfo si;
    int sfd;
    bool started;
    struct vs_bh clients_closed;
    unsigned flushes;
    struct block_req *reqs;
};

static struct shutdown_state sd;

static void flush_done(struct block_req *req, int ret)
{
    if (ret < 0)
        vs_warn("flush of node '%s' failed: %s", req->node->name, strerror(-ret));
    if (--sd.flushes == 0)
        vs_loop_stop(loop);
}

static void clients_closed(struct vs_bh *bh)
{
    nbd_server_stop();
    unsigned n = 0;
    for (struct block_node *nd = block_node_next(NULL); nd; nd = block_node_next(nd))
        n++;
    if (n == 0) {
        vs_loop_stop(loop);
        return;
    }
    sd.reqs = vs_zalloc(sizeof(*sd.reqs) * n);
    sd.flushes = n;
    unsigned i = 0;
    for (struct block_node *nd = block_node_next(NULL); nd; nd = block_node_next(nd), i++) {
        sd.reqs[i].op = BLOCK_OP_FLUSH;
        sd.reqs[i].cb = flush_done;
        block_node_submit(nd, &sd.reqs[i]);
    }
}

static void signal_cb(struct vs_completion *c, int res, unsigned flags)
{
    if (res > 0 && !sd.started) {
        sd.started = true;
        vs_info("signal %u: shutting down", sd.si.ssi_signo);
        sd.clients_closed.fn = clients_closed;
        nbd_server_close_clients(loop, &sd.clients_closed);
    }
    if (!sd.started) {
        struct io_uring_sqe *sqe = vs_loop_sqe(loop, &sd.sig_c);
        io_uring_prep_read(sqe, sd.sfd, &sd.si, sizeof(sd.si), 0);
    }
}

/* Blocks the shutdown signals in this thread, and so in every thread
 * created after it (the loop's workers): they then arrive only through
 * the signalfd, never by default action on some worker. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void setup_signals(const sigset_t *set)
{
    sd.sfd = signalfd(-1, set, SFD_CLOEXEC);
    if (sd.sfd < 0) {
        fprintf(stderr, "volswapd: signalfd: %s\n", strerror(errno));
        exit(1);
    }
    sd.sig_c.cb = signal_cb;
    struct io_uring_sqe *sqe = vs_loop_sqe(loop, &sd.sig_c);
    io_uring_prep_read(sqe, sd.sfd, &sd.si, sizeof(sd.si), 0);
}

int main(int argc, char **argv)
{
    enum { OPT_BLOCKDEV = 256, OPT_NBD_SERVER, OPT_EXPORT, OPT_PIDFILE };
    static const struct option longopts[] = {
        { "blockdev", required_argument, NULL, OPT_BLOCKDEV },
        { "nbd-server", required_argument, NULL, OPT_NBD_SERVER },
        { "export", required_argument, NULL, OPT_EXPORT },
        { "pidfile", required_argument, NULL, OPT_PIDFILE },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };

    /* First pass: options that do not act (help, version, pidfile). */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "hvV", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("volswapd %s\n", VOLSWAP_VERSION);
            return 0;
        case 'v':
            vs_log_level = VS_LOG_DEBUG;
            break;
        case OPT_PIDFILE:
            pidfile = optarg;
            break;
        case '?':
            if (optopt)
                fprintf(stderr, "volswapd: option '-%c' is invalid or lacks its argument\n", optopt);
            else
                fprintf(stderr, "volswapd: option '%s' is invalid or lacks its argument\n",
                        argv[optind - 1]);
            return 1;
        default:
            break;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "volswapd: unexpected argument '%s'\n", argv[optind]);
        return 1;
    }

    sigset_t sigs;
    block_signals(&sigs);
    loop = vs_loop_new(1024, 2);
    if (!loop) {
        fprintf(stderr, "volswapd: cannot create the event loop (io_uring)\n");
        return 1;
    }
    setup_signals(&sigs);

    /* Second pass: the acting options, in the order given. */
    optind = 1;
    while ((c = getopt_long(argc, argv, "hvV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_BLOCKDEV:
            run_option("--blockdev", "blockdev-add", parse_keyval("--blockdev", optarg, "driver"));
            break;
        case OPT_NBD_SERVER:
            opt_nbd_server(optarg);
            break;
        case OPT_EXPORT:
            opt_export(optarg);
            break;
        default:
            break;
        }
    }
    write_pidfile();

    int r = vs_loop_run(loop);

    nbd_server_stop();
    nbd_export_del_all();
    block_node_close_all();
    /* Let cancelled operations (the listener's accept) complete. */
    for (int i = 0; i < 10 && vs_loop_inflight(loop) > 1; i++)
        vs_loop_run_once(loop, 10 * 1000 * 1000);
    vs_loop_free(loop);
    close(sd.sfd);
    free(sd.reqs);
    if (pidfile)
        unlink(pidfile);
    return r < 0 ? 1 : 0;
}
