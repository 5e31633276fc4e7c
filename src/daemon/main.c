/* volswapd: the host daemon. Parses the command line in the manner of
 * qemu-storage-daemon — options run in order, each one a monitor command
 * in disguise (--object is object-add, --blockdev is blockdev-add,
 * --nbd-server is nbd-server-start, --export is block-export-add) — after restoring the
 * state file if there is one; opens the QMP monitors; then runs the event
 * loop until SIGTERM, SIGINT or `quit`, and shuts down cleanly: monitor
 * clients get their last replies, jobs are cancelled, NBD requests in
 * flight finish and are answered, every node is flushed, the process
 * exits 0. */
#include "daemon.h"
#include "../jobs/jobs.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

static struct vs_loop *loop;
/* --loops: loops[0] is `loop` (this thread: monitors, nodes, jobs, the
 * NBD server's handshakes); the others serve NBD connections. */
static struct vs_loop **loops;
static unsigned n_loops;
static const char *pidfile;
static const char *state_path;
static const char *metrics_spec;

static void usage(FILE *out)
{
    fprintf(out,
"Usage: volswapd [options]\n"
"Serves block volumes over NBD and moves them live (see README.md).\n"
"\n"
"  --object tls-creds-x509,id=ID,dir=DIR[,endpoint=server][,verify-peer=off]\n"
"  --object tls-creds-psk,id=ID,dir=DIR[,endpoint=server][,username=NAME]\n"
"  --object authz-simple,id=ID,identity=NAME\n"
"                       TLS credentials and authz for the NBD server (object-add)\n"
"  --object iothread,id=ID\n"
"                       an event loop on a thread of its own, for exports'\n"
"                       iothread=ID (object-add)\n"
"  --blockdev [driver=]DRIVER,node-name=NAME,...\n"
"                       open a block node (blockdev-add): drivers file,\n"
"                       host_device (filename=PATH, read-only=on|off,\n"
"                       cache.direct=on|off, discard=ignore|unmap), raw (file=NODE)\n"
"  --nbd-server unix:PATH | tcp:HOST:PORT | addr.type=unix,addr.path=PATH[,max-connections=N]\n"
"               [,tls-creds=ID][,tls-authz=ID]\n"
"                       start the NBD server (nbd-server-start)\n"
"  --export [type=]nbd,node=NODE[,id=ID][,name=NAME][,description=TEXT][,writable=on]\n"
"           [,iothread=ID]\n"
"                       export a node over NBD (block-export-add); node-name= also works\n"
"  --monitor PATH       QMP monitor on a unix socket (several allowed)\n"
"  --chardev socket,path=PATH,server=on,wait=off,id=ID  --monitor chardev=ID\n"
"                       the same, in qemu-storage-daemon's form\n"
"  --chardev socket,host=HOST,port=PORT,server=on,wait=off,id=ID\n"
"            [,tls-creds=ID][,tls-authz=ID]  --monitor chardev=ID\n"
"                       QMP monitor on TCP, with TLS when tls-creds is given\n"
"  --state PATH         keep nodes, exports and the NBD server address in PATH:\n"
"                       restored at start (before the options above), saved\n"
"                       atomically after every change\n"
"  --dump-commands      print the QMP reference (markdown) and exit\n"
"  --pidfile PATH       write the pid once every socket is listening\n"
"  --metrics unix:PATH | tcp:HOST:PORT\n"
"                       serve Prometheus metrics (GET /metrics) there\n"
"  --socket-group GROUP make the unix sockets 0660 and owned by GROUP\n"
"                       (without it they are 0600, whatever the umask)\n"
"  --log-format text|json\n"
"                       log lines as text (default) or one JSON object each\n"
"  --pool-dir DIR       a directory of volume files volswap-api has this daemon\n"
"                       create, grow and delete (x-volswap-pool-*; several allowed)\n"
"  --pool-device PATH   a block device of a pool volswap-api hands out (several);\n"
"                       zeroed when handed back, before it can be claimed again\n"
"  --pool-clear zero|none\n"
"                       how a pool device handed back is cleared: zeroed\n"
"                       (default), or left as it is (thin or self-encrypting\n"
"                       devices that read zeroes when handed out again)\n"
"  --confine-to-pools   blockdev-create, drive-mirror and blockdev-add reach only\n"
"                       files directly inside a --pool-dir, and pool devices\n"
"  --loops N            event loops (threads) serving NBD clients, the first\n"
"                       also the monitors, nodes and jobs (default: one per\n"
"                       online CPU)\n"
"  -v, --verbose        log debug messages\n"
"  -h, --help           show this help\n"
"  -V, --version        show the version\n");
}

/* --loops: the first loop is this thread's; the others get threads of
 * their own, each with one worker for what blocks. */
static int start_loops(void)
{
    if (n_loops == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n_loops = cpus < 1 ? 1 : cpus > VOLSWAPD_MAX_LOOPS ? VOLSWAPD_MAX_LOOPS : (unsigned)cpus;
    }
    loops = vs_zalloc(sizeof(*loops) * n_loops);
    loops[0] = loop;
    for (unsigned i = 1; i < n_loops; i++) {
        loops[i] = vs_loop_spawn(1024, 1, i);
        if (!loops[i]) {
            fprintf(stderr, "volswapd: cannot create event loop %u (io_uring)\n", i);
            return -1;
        }
    }
    nbd_server_set_loops(loops, n_loops);
    if (n_loops > 1)
        vs_debug("%u event loops", n_loops);
    return 0;
}

/* At exit, the clients closed (nbd_server_stop): the requests of the
 * other loops' clients are finished here, their connections go, then
 * their loops. */
static void stop_loops(void)
{
    for (int i = 0; i < 300 && nbd_server_client_count() > 0; i++)
        vs_loop_run_once(loop, 10 * 1000 * 1000);
    if (nbd_server_client_count() > 0)
        vs_warn("%u NBD connections still open at exit", nbd_server_client_count());
    for (unsigned i = 1; i < n_loops; i++)
        vs_loop_join(loops[i]);
    qmp_iothreads_stop();
    nbd_server_clear_loops();
    /* What the other loops posted on their way out. */
    vs_loop_run_once(loop, 0);
    free(loops);
    loops = NULL;
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

/* What the state file restored, by kind and name ("node", "export", the
 * "nbd-server"): a restart runs the same command line as the first start
 * (a service manager knows no other), and an option naming an object the
 * state already holds is left to the state, which is what was served last:
 * after a pivot the export serves the target, whatever the command line
 * says. Options naming new objects still add them. */
static json_t *restored;     /* "node/NAME", "export/ID", "object/ID", "nbd-server" */

static void restored_add(const char *kind, const char *name)
{
    char *key = vs_strdup_printf("%s/%s", kind, name);
    json_object_set_new(restored, key, json_true());
    free(key);
}

static void note_restored(void)
{
    restored = json_object();
    for (struct block_node *n = block_node_next(NULL); n; n = block_node_next(n))
        restored_add("node", n->name);
    for (struct nbd_export *e = nbd_export_next(NULL); e; e = nbd_export_next(e))
        restored_add("export", e->id);
    for (struct vs_object *o = vs_object_next(NULL); o; o = vs_object_next(o))
        restored_add("object", o->id);
    if (nbd_server_running())
        json_object_set_new(restored, "nbd-server", json_true());
}

/* The restored object an option names, or NULL. */
static const char *restored_object(const char *command, json_t *args)
{
    if (!restored)
        return NULL;
    if (strcmp(command, "nbd-server-start") == 0)
        return json_object_get(restored, "nbd-server") ? "the NBD server" : NULL;
    bool node = strcmp(command, "blockdev-add") == 0;
    bool object = strcmp(command, "object-add") == 0;
    const char *name = json_string_value(json_object_get(args, node ? "node-name" : "id"));
    if (!name)
        return NULL;
    char *key = vs_strdup_printf("%s/%s", node ? "node" : object ? "object" : "export", name);
    bool found = json_object_get(restored, key) != NULL;
    free(key);
    return found ? name : NULL;
}

static void run_option(const char *optname, const char *command, json_t *args)
{
    struct vs_error err = { 0 };
    const char *kept = restored_object(command, args);
    if (kept) {
        vs_info("%s: '%s' kept as the state file has it", optname, kept);
        json_decref(args);
        return;
    }
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

/* ---- state file ------------------------------------------------------- */

/* Saves for QMP commands, on the worker pool. One write at a time; the
 * commands that changed the state while it ran wait for the next one,
 * which takes a fresh snapshot (one write then answers them all). */
struct save_waiter {
    vs_saved_fn *done;
    void *opaque;
    struct save_waiter *next;
};

static struct {
    struct vs_loop *loop;
    struct vs_work w;
    bool busy;
    struct save_waiter *cur, *next;   /* served by this write / the next */
    struct state_text *text;
    struct vs_error err;
    int ret;
} saver;

static void saver_start(void);

static void saver_run(struct vs_work *w)
{
    saver.ret = state_file_write(state_path, saver.text, &saver.err);
}

/* No snapshot (cannot encode): still answered through the pool, so that
 * a reply is never sent from inside the command that asked for it. */
static void saver_failed_run(struct vs_work *w)
{
    saver.ret = -1;
}

static void saver_done(struct vs_work *w)
{
    struct save_waiter *list = saver.cur;
    struct vs_error err = saver.err;
    bool failed = saver.ret < 0;

    if (failed)
        vs_error("state not saved: %s", err.msg);
    state_text_free(saver.text);
    saver.text = NULL;
    saver.cur = NULL;
    saver.busy = false;
    /* A QMP command's change is made either way: a failed save cannot undo
     * it, and refusing the command now would lie about what is served. It
     * is said loudly above; the next change tries again. The replies go
     * out. A pivot's waiter undoes its switch instead (mirror.c). The
     * waiters run before the next save takes its snapshot, so that it
     * holds what they changed. */
    while (list) {
        struct save_waiter *n = list->next;
        list->done(list->opaque, failed ? &err : NULL);
        free(list);
        list = n;
    }
    if (!saver.busy && saver.next)
        saver_start();
}

static void saver_start(void)
{
    memset(&saver.err, 0, sizeof(saver.err));
    saver.busy = true;
    saver.cur = saver.next;
    saver.next = NULL;
    saver.text = state_file_snapshot(&saver.err);
    saver.w.run = saver.text ? saver_run : saver_failed_run;
    saver.w.done = saver_done;
    vs_loop_offload(saver.loop, &saver.w);
}

static void save_state_async(vs_saved_fn *done, void *opaque)
{
    struct save_waiter *sw = vs_zalloc(sizeof(*sw));
    sw->done = done;
    sw->opaque = opaque;
    struct save_waiter **tail = &saver.next;
    while (*tail)
        tail = &(*tail)->next;
    *tail = sw;               /* replies in the order the changes came */
    if (!saver.busy)
        saver_start();
}

static void restore_state(void)
{
    struct vs_error err = { 0 };
    json_t *doc = NULL;
    if (state_file_load(state_path, &doc, &err) < 0)
        die_opt("--state", "%s", err.msg);
    if (!doc)
        return;
    struct qmp_ctx ctx = { .loop = loop };
    if (qmp_state_restore(&ctx, doc, &err) < 0) {
        json_decref(doc);
        die_opt("--state", "cannot restore '%s': %s", state_path, err.msg);
    }
    json_decref(doc);
    vs_info("state restored from '%s'", state_path);
}

/* ---- shutdown -------------------------------------------------------- */

struct shutdown_state {
    struct vs_completion sig_c;
    struct signalfd_siginfo si;
    int sfd;
    bool started;
    bool sig_armed;
    struct vs_bh start_bh;
    struct vs_bh monitors_closed;
    struct vs_bh clients_closed;
    struct vs_timer jobs_wait;
    struct vs_timer clients_wait;
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

/* Requests in flight get this long to be answered; a client that never
 * completes its request (half a WRITE payload) must not keep the daemon
 * from stopping. Closing it loses nothing acknowledged. */
#define CLIENTS_DRAIN_NS (5ull * 1000 * 1000 * 1000)

static void clients_too_slow(struct vs_timer *t)
{
    vs_warn("NBD clients still busy after 5 s: closing them");
    nbd_server_stop();
}

static void clients_closed(struct vs_bh *bh)
{
    vs_timer_cancel(loop, &sd.clients_wait);
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

/* Jobs first (a cancelled mirror leaves the source as the guest wrote
 * it), then the NBD clients once their requests in flight are answered. */
static void jobs_gone(struct vs_timer *t)
{
    /* Again each time: a cancelled job with auto-dismiss off concludes
     * later, and is dismissed by the next call. */
    jobs_cancel_all();
    if (jobs_count() > 0) {
        vs_timer_arm(loop, &sd.jobs_wait, 1000 * 1000);
        return;
    }
    sd.clients_closed.fn = clients_closed;
    sd.clients_wait.fn = clients_too_slow;
    vs_timer_arm(loop, &sd.clients_wait, CLIENTS_DRAIN_NS);
    nbd_server_close_clients(loop, &sd.clients_closed);
}

static void monitors_closed(struct vs_bh *bh)
{
    sd.jobs_wait.fn = jobs_gone;
    jobs_gone(&sd.jobs_wait);
}

static void start_shutdown(struct vs_bh *bh)
{
    if (sd.started)
        return;
    sd.started = true;
    sd_notify(0, "STOPPING=1");
    qmp_pool_wipes_stop();
    metrics_stop();
    sd.monitors_closed.fn = monitors_closed;
    qmp_server_shutdown(loop, &sd.monitors_closed);
}

static void quit_requested(void)
{
    vs_info("quit: shutting down");
    /* From a bottom half: the reply to `quit` is queued first. */
    vs_loop_defer(loop, &sd.start_bh);
}

static void signal_cb(struct vs_completion *c, int res, unsigned flags)
{
    sd.sig_armed = false;
    if (res > 0 && !sd.started) {
        vs_info("signal %u: shutting down", sd.si.ssi_signo);
        start_shutdown(&sd.start_bh);
    }
    if (!sd.started) {
        sd.sig_armed = true;
        struct io_uring_sqe *sqe = vs_loop_sqe(loop, &sd.sig_c);
        io_uring_prep_read(sqe, sd.sfd, &sd.si, sizeof(sd.si), 0);
    }
}

/* Before any thread exists: the worker pool's threads inherit the mask,
 * so a SIGTERM can only be taken from the signalfd, never by default
 * action in a worker. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void setup_signals(void)
{
    sigset_t set;
    block_signals(&set);
    sd.sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sd.sfd < 0) {
        fprintf(stderr, "volswapd: signalfd: %s\n", strerror(errno));
        exit(1);
    }
    sd.start_bh.fn = start_shutdown;
    sd.sig_c.cb = signal_cb;
    sd.sig_armed = true;
    struct io_uring_sqe *sqe = vs_loop_sqe(loop, &sd.sig_c);
    io_uring_prep_read(sqe, sd.sfd, &sd.si, sizeof(sd.si), 0);
}

int main(int argc, char **argv)
{
    enum { OPT_BLOCKDEV = 256, OPT_NBD_SERVER, OPT_EXPORT, OPT_PIDFILE, OPT_MONITOR,
           OPT_CHARDEV, OPT_STATE, OPT_DUMP_COMMANDS, OPT_OBJECT, OPT_METRICS,
           OPT_SOCKET_GROUP, OPT_LOG_FORMAT, OPT_LOOPS, OPT_POOL_DIR, OPT_POOL_DEVICE,
           OPT_POOL_CLEAR, OPT_CONFINE };
    static const struct option longopts[] = {
        { "object", required_argument, NULL, OPT_OBJECT },
        { "blockdev", required_argument, NULL, OPT_BLOCKDEV },
        { "nbd-server", required_argument, NULL, OPT_NBD_SERVER },
        { "export", required_argument, NULL, OPT_EXPORT },
        { "pidfile", required_argument, NULL, OPT_PIDFILE },
        { "monitor", required_argument, NULL, OPT_MONITOR },
        { "chardev", required_argument, NULL, OPT_CHARDEV },
        { "state", required_argument, NULL, OPT_STATE },
        { "dump-commands", no_argument, NULL, OPT_DUMP_COMMANDS },
        { "metrics", required_argument, NULL, OPT_METRICS },
        { "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
        { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
        { "loops", required_argument, NULL, OPT_LOOPS },
        { "pool-dir", required_argument, NULL, OPT_POOL_DIR },
        { "pool-device", required_argument, NULL, OPT_POOL_DEVICE },
        { "pool-clear", required_argument, NULL, OPT_POOL_CLEAR },
        { "confine-to-pools", no_argument, NULL, OPT_CONFINE },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };

    /* First pass: options that do not act (help, version, pidfile, state). */
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
        case OPT_DUMP_COMMANDS:
            qmp_write_reference(stdout);
            return 0;
        case 'v':
            vs_log_level = VS_LOG_DEBUG;
            break;
        case OPT_PIDFILE:
            pidfile = optarg;
            break;
        case OPT_STATE:
            state_path = optarg;
            break;
        case OPT_METRICS:
            metrics_spec = optarg;
            break;
        case OPT_SOCKET_GROUP: {
            struct group *g = getgrnam(optarg);
            char *end = NULL;
            long gid = g ? (long)g->gr_gid : strtol(optarg, &end, 10);
            if (!g && (!*optarg || *end || gid < 0)) {
                fprintf(stderr, "volswapd: --socket-group: no group '%s'\n", optarg);
                return 1;
            }
            vs_unix_socket_gid = gid;
            break;
        }
        case OPT_LOG_FORMAT:
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
                fprintf(stderr, "volswapd: --log-format: 'text' or 'json', not '%s'\n", optarg);
                return 1;
            }
            vs_log_json = strcmp(optarg, "json") == 0;
            break;
        case OPT_LOOPS: {
            char *end = NULL;
            errno = 0;
            unsigned long n = strtoul(optarg, &end, 10);
            if (errno || !end || *end || end == optarg || n < 1 || n > VOLSWAPD_MAX_LOOPS ||
                optarg[0] == '-') {
                fprintf(stderr, "volswapd: --loops: a number from 1 to %u, not '%s'\n",
                        VOLSWAPD_MAX_LOOPS, optarg);
                return 1;
            }
            n_loops = (unsigned)n;
            break;
        }
        case OPT_POOL_DIR:
        case OPT_POOL_DEVICE: {
            struct vs_error err = { 0 };
            int prc = c == OPT_POOL_DIR ? qmp_pool_dir_add(optarg, &err)
                                        : qmp_pool_device_add(optarg, &err);
            if (prc < 0) {
                fprintf(stderr, "volswapd: --%s: %s\n",
                        c == OPT_POOL_DIR ? "pool-dir" : "pool-device", err.msg);
                return 1;
            }
            break;
        }
        case OPT_POOL_CLEAR:
            if (strcmp(optarg, "zero") != 0 && strcmp(optarg, "none") != 0) {
                fprintf(stderr, "volswapd: --pool-clear: 'zero' or 'none', not '%s'\n", optarg);
                return 1;
            }
            qmp_pool_clear = strcmp(optarg, "none") == 0 ? QMP_POOL_CLEAR_NONE
                                                         : QMP_POOL_CLEAR_ZERO;
            break;
        case OPT_CONFINE:
            qmp_pool_confined = true;
            block_files_nofollow = true;
            break;
        case '?':
            /* optopt is a long option's value (>= 256, unprintable) when
             * that option lacks its argument: name it from argv instead. */
            if (optopt > 0 && optopt < 256)
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

    vs_log_program = "volswapd";
    sigset_t blocked;
    block_signals(&blocked);
    loop = vs_loop_new(1024, 2);
    if (!loop) {
        fprintf(stderr, "volswapd: cannot create the event loop (io_uring)\n");
        return 1;
    }
    if (start_loops() < 0)
        return 1;
    setup_signals();
    qmp_events_init();
    qmp_quit_requested = quit_requested;

    if (qmp_pool_confined && !qmp_pool_has_pools()) {
        fprintf(stderr, "volswapd: --confine-to-pools: no --pool-dir or --pool-device to "
                        "confine to\n");
        return 1;
    }
    if (qmp_pool_has_devices() && !state_path)
        vs_warn("--pool-device without --state: a wipe cut short by a crash is not resumed "
                "at the next start");
    /* The saved state first: the command line adds to it. */
    if (state_path) {
        restore_state();
        note_restored();
    }

    /* Second pass: the acting options, in the order given. */
    optind = 1;
    while ((c = getopt_long(argc, argv, "hvV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_OBJECT:
            run_option("--object", "object-add", parse_keyval("--object", optarg, "qom-type"));
            break;
        case OPT_BLOCKDEV:
            run_option("--blockdev", "blockdev-add", parse_keyval("--blockdev", optarg, "driver"));
            break;
        case OPT_NBD_SERVER:
            opt_nbd_server(optarg);
            break;
        case OPT_EXPORT:
            opt_export(optarg);
            break;
        case OPT_CHARDEV: {
            struct vs_error err = { 0 };
            if (monitors_chardev_option(optarg, &err) < 0)
                die_opt("--chardev", "%s", err.msg);
            break;
        }
        case OPT_MONITOR: {
            struct vs_error err = { 0 };
            if (monitors_monitor_option(optarg, &err) < 0)
                die_opt("--monitor", "%s", err.msg);
            break;
        }
        default:
            break;
        }
    }
    if (state_path) {
        /* A state file that cannot be written is found now, not at the
         * first change a client makes. */
        struct vs_error err = { 0 };
        if (state_file_save(state_path, &err) < 0)
            die_opt("--state", "%s", err.msg);
        saver.loop = loop;
        qmp_state_save_async = save_state_async;
        jobs_state_save_async = save_state_async;
    }
    /* Monitors last: no client can act before the command line is done. */
    {
        struct vs_error err = { 0 };
        if (monitors_listen(loop, &err) < 0)
            die_opt("--monitor", "%s", err.msg);
    }
    if (metrics_spec) {
        struct vs_error err = { 0 };
        if (metrics_listen(loop, metrics_spec, &err) < 0)
            die_opt("--metrics", "%s", err.msg);
    }
    write_pidfile();
    /* Under systemd (Type=notify): every socket listens and the state is
     * restored, so clients may come. A no-op without NOTIFY_SOCKET. */
    sd_notifyf(0, "READY=1\nMAINPID=%d\nSTATUS=serving", (int)getpid());

    int r = vs_loop_run(loop);
    metrics_stop();

    qmp_state_save_async = NULL;
    jobs_state_save_async = NULL;
    json_decref(restored);
    nbd_server_stop();
    stop_loops();
    nbd_export_del_all();
    block_node_close_all();
    /* Let cancelled operations (the listeners' accepts) complete. */
    for (int i = 0; i < 100 && vs_loop_inflight(loop) > (sd.sig_armed ? 1u : 0u); i++)
        vs_loop_run_once(loop, 10 * 1000 * 1000);
    vs_loop_free(loop);
    close(sd.sfd);
    free(sd.reqs);
    monitors_free();
    qmp_pools_free();
    if (pidfile)
        unlink(pidfile);
    return r < 0 ? 1 : 0;
}
