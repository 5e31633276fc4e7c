/* volswap-api: the control plane (see docs/api.md). Loads the JSON config,
 * opens and migrates the registry, records the configured hosts, and serves
 * Keystone/Nova/Cinder over HTTP until SIGINT or SIGTERM.
 *   volswap-api --fernet-rotate DIR   (Fernet key repository: setup, rotation)
 *   volswap-api --config FILE [--port-file FILE] [--log-format text|json] [--verbose]
 *   volswap-api --hash-password        (password on stdin, hash on stdout)
 *   volswap-api --print-routes SERVICE (docs/api.md's endpoint table)
 *   volswap-api --config FILE --static-file FILE   (bench baseline)
 * With "port": 0 in the config the kernel picks a free port; --port-file
 * receives it (written atomically) once the service accepts connections,
 * which is how the tests find it. */
#include "api.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

/* --fernet-rotate DIR: keystone-manage fernet_rotate (fernet_setup when
 * DIR has no keys yet), keeping at most three keys (staged, primary and
 * one secondary, Keystone's default max_active_keys). */
static int fernet_rotate_cmd(const char *dir)
{
    char report[256];
    struct api_error e = { 0 };
    if (fernet_rotate(dir, 3, report, sizeof report, &e) < 0) {
        fprintf(stderr, "volswap-api: %s\n", e.msg);
        return 1;
    }
    printf("%s: %s\n", dir, report);
    return 0;
}

/* --print-routes SERVICE: the endpoint table of docs/api.md for SERVICE. */
static int print_routes(const char *service)
{
    static const struct {
        const char *name;
        enum api_service svc;
    } services[] = {
        { "identity", SVC_IDENTITY },
        { "compute", SVC_COMPUTE },
        { "volume", SVC_VOLUME },
        { "image", SVC_IMAGE },
    };
    for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
        if (strcmp(service, services[i].name) == 0) {
            api_routes_markdown(stdout, api_all_tables, services[i].svc);
            return fflush(stdout) == 0 ? 0 : 1;
        }
    vs_error("--print-routes takes identity, compute, volume or image");
    return 2;
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: volswap-api --config FILE [--port-file FILE] [--log-format text|json] [--verbose]\n"
        "       volswap-api --hash-password < password\n"
        "       volswap-api --print-routes identity|compute|volume|image\n"
        "       volswap-api --fernet-rotate DIR   (Fernet key repository)\n"
        "       volswap-api --config FILE --static-file FILE   (benchmark baseline)\n");
}

static int hash_password(void)
{
    char pw[1024];
    if (!fgets(pw, sizeof pw, stdin)) {
        vs_error("no password on stdin");
        return 1;
    }
    pw[strcspn(pw, "\r\n")] = '\0';
    char out[200];
    if (auth_hash_password(pw, out, sizeof out) < 0) {
        vs_error("hashing failed");
        return 1;
    }
    printf("%s\n", out);
    return 0;
}

static int write_port_file(const char *path, int port)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

/* What volswap-api creates (the registry and its -wal and -shm files, the
 * port file) is its own: umask 077 before any of it, and files an older
 * version or another umask left wider are narrowed to 0600. */
static void own_files(const char *database)
{
    umask(077);
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char path[1100];
        struct stat st;
        snprintf(path, sizeof path, "%s%s", database, suffixes[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) &&
            chmod(path, 0600) < 0)
            vs_warn("cannot make %s private: %s", path, strerror(errno));
    }
}

/* The config holds password hashes and admin tokens, the TLS key is a key:
 * readable by others is worth a word at start (not a refusal, since the
 * operator may mean it, e.g. a group of administrators). */
static void warn_if_readable(const char *what, const char *path)
{
    struct stat st;
    if (path[0] && stat(path, &st) == 0 && (st.st_mode & 007))
        vs_warn("%s %s is accessible to every user (mode %03o); 0600 or 0640 is expected", what,
                path, (unsigned)(st.st_mode & 0777));
}

/* Checks what each host needs before the API answers: every pool usable
 * (a missing directory is a start-up error, not a 500 later), and a word
 * when a host's NBD exports are reachable over TCP without TLS. */
static int check_hosts(const struct api_config *cfg)
{
    for (size_t i = 0; i < cfg->n_hosts; i++) {
        const struct cfg_host *h = &cfg->hosts[i];
        for (size_t p = 0; p < h->n_pools; p++) {
            struct api_error e = { 0 };
            if (pool_check(&h->pools[p], &e) < 0) {
                vs_error("host %s: %s", h->name, e.msg);
                return -1;
            }
        }
        if (!h->nbd_socket[0] && !h->nbd_tls_creds[0])
            vs_warn("host %s serves NBD on TCP %s:%d without TLS: its exports are reachable by "
                    "anyone who can reach that address, unauthenticated (set nbd.tls_creds)",
                    h->name, h->nbd_host, h->nbd_port);
    }
    return 0;
}

/* Records the configured hosts so servers and volumes can reference them. */
static int sync_hosts(struct registry *r, const struct api_config *cfg)
{
    for (size_t i = 0; i < cfg->n_hosts; i++) {
        struct reg_host h;
        memset(&h, 0, sizeof h);
        const struct cfg_host *c = &cfg->hosts[i];
        snprintf(h.name, sizeof h.name, "%s", c->name);
        snprintf(h.driver, sizeof h.driver, "%s", c->driver);
        snprintf(h.qmp, sizeof h.qmp, "%s", c->qmp);
        if (c->nbd_socket[0])
            snprintf(h.nbd, sizeof h.nbd, "unix:%s", c->nbd_socket);
        else
            snprintf(h.nbd, sizeof h.nbd, "inet:%s:%d", c->nbd_host, c->nbd_port);
        if (r->ops->host_put(r, &h) < 0) {
            vs_error("%s", r->ops->last_error(r));
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "port-file", required_argument, NULL, 'p' },
        { "static-file", required_argument, NULL, 's' },
        { "hash-password", no_argument, NULL, 'H' },
        { "print-routes", required_argument, NULL, 'R' },
        { "fernet-rotate", required_argument, NULL, 'F' },
        { "log-format", required_argument, NULL, 'L' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config = NULL, *port_file = NULL, *static_file = NULL;
    bool verbose = false;
    int c;
    vs_log_program = "volswap-api";
    while ((c = getopt_long(argc, argv, "c:p:s:HR:F:L:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'p': port_file = optarg; break;
        case 's': static_file = optarg; break;
        case 'H': return hash_password();
        case 'R': return print_routes(optarg);
        case 'F': return fernet_rotate_cmd(optarg);
        case 'L':
            if (!vs_log_set_format(optarg)) {
                vs_error("--log-format: 'text' or 'json', not '%s'", optarg);
                return 2;
            }
            break;
        case 'v': verbose = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!config || optind != argc) {
        usage(stderr);
        return 2;
    }
    struct api_config cfg;
    struct api_error e = { 0 };
    if (config_load(config, &cfg, &e) < 0) {
        vs_error("%s", e.msg);
        return 1;
    }
    warn_if_readable("config", config);
    warn_if_readable("TLS key", cfg.tls_key);
    if (check_hosts(&cfg) < 0) {
        config_free(&cfg);
        return 1;
    }
    own_files(cfg.database);
    char errbuf[512];
    struct registry *reg = registry_open(cfg.database, errbuf, sizeof errbuf);
    if (!reg) {
        vs_error("%s", errbuf);
        config_free(&cfg);
        return 1;
    }
    int rc = 1;
    struct api_ctx ctx = { .cfg = &cfg, .reg = reg, .auth = auth_store_new(&cfg, reg) };
    struct api_server *srv = NULL;
    if (!ctx.auth || sync_hosts(reg, &cfg) < 0)
        goto out;
    /* the signals are waited for with sigwait; block them before any thread */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* unfinished swaps are settled before the API answers */
    if (swap_service_start(&ctx, &e) < 0) {
        vs_error("%s", e.msg);
        goto out;
    }
    /* and so is the image data a stop cut short: uploads are queued
     * again, copies between images and volumes start again */
    if (glance_uploads_recover(&ctx) < 0 || cinder_image_copies_resume(&ctx) < 0) {
        vs_error("image data cut short by a stop: registry: %s", reg->ops->last_error(reg));
        goto out;
    }
    int port = cfg.port;
    srv = api_server_start(&ctx, api_mounts, &port, static_file, verbose, &e);
    if (!srv) {
        vs_error("%s", e.msg);
        goto out;
    }
    if (cfg.public_url[0])
        snprintf(ctx.base_url, sizeof ctx.base_url, "%s", cfg.public_url);
    else if (strchr(cfg.listen_address, ':'))
        snprintf(ctx.base_url, sizeof ctx.base_url, "%s://[%s]:%d",
                 cfg.tls_cert[0] ? "https" : "http", cfg.listen_address, port);
    else
        snprintf(ctx.base_url, sizeof ctx.base_url, "%s://%s:%d",
                 cfg.tls_cert[0] ? "https" : "http", cfg.listen_address, port);
    size_t bl = strlen(ctx.base_url);
    while (bl && ctx.base_url[bl - 1] == '/')
        ctx.base_url[--bl] = '\0';
    if (port_file && write_port_file(port_file, port) < 0) {
        vs_error("cannot write %s", port_file);
        goto out;
    }
    vs_log_fields(VS_LOG_INFO, VS_LOG_FIELDS(VS_LOG_STR("url", ctx.base_url)), "listening on %s",
                  ctx.base_url);
    /* Under systemd (Type=notify): the registry is open, unfinished swaps
     * are settled and the HTTP server accepts. A no-op without
     * NOTIFY_SOCKET. */
    sd_notifyf(0, "READY=1\nMAINPID=%d\nSTATUS=listening on %s", (int)getpid(), ctx.base_url);
    int sig = 0;
    sigwait(&set, &sig);
    sd_notify(0, "STOPPING=1");
    vs_info("signal %d, stopping", sig);
    rc = 0;
out:
    api_server_stop(srv);
    swap_service_stop();
    auth_store_free(ctx.auth);
    reg->ops->close(reg);
    config_free(&cfg);
    return rc;
}
