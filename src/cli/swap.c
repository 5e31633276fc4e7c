/* volswap volume-update and volume-migrate: start a swap (Nova's PUT on the
 * attachment) or a Cinder os-migrate_volume, and with --wait follow it on
 * volswap-api's swap-progress endpoint until it is over, drawing a progress
 * bar -- percent, copy rate, ETA -- and, at the end, how long the consumer
 * was held at the pivot. Exit status 1 when the swap rolled back. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void human_bytes(double b, char *out, size_t len)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(out, len, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* One line of progress: [#####.....]  42.0%  1.2 GiB/2.0 GiB  850 MiB/s  ETA 1s  mirroring
 * (and " write-blocking" once the mirror was switched) */
static void draw(json_t *p, bool tty)
{
    double pct = json_number_value(json_object_get(p, "percent"));
    json_int_t done = json_integer_value(json_object_get(p, "bytes_done"));
    json_int_t total = json_integer_value(json_object_get(p, "bytes_total"));
    json_int_t rate = json_integer_value(json_object_get(p, "rate_bytes_per_sec"));
    json_t *eta = json_object_get(p, "eta_seconds");
    const char *phase = json_string_value(json_object_get(p, "phase"));
    const char *mode = json_string_value(json_object_get(p, "copy_mode"));
    bool blocking = mode && strcmp(mode, "write-blocking") == 0;
    char bar[31], d[32], t[32], r[32], e[32] = "ETA --";
    int fill = (int)(pct / 100.0 * 30 + 0.5);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    human_bytes((double)done, d, sizeof d);
    human_bytes((double)total, t, sizeof t);
    human_bytes((double)rate, r, sizeof r);
    if (json_is_number(eta))
        snprintf(e, sizeof e, "ETA %.1fs", json_number_value(eta));
    /* "write-blocking" once the worker switched an outpaced mirror. */
    fprintf(stderr, "%s[%s] %5.1f%%  %s/%s  %s/s  %s  %-11s%s%s", tty ? "\r" : "", bar, pct, d, t,
            r, e, phase ? phase : "?", blocking ? " write-blocking" : "", tty ? "" : "\n");
    fflush(stderr);
}

/* Follows the swap of VOLUME on SERVER_ID until it is over. */
static int follow(struct cli *c, const char *server_id, const char *volume)
{
    char path[600];
    snprintf(path, sizeof path, "/servers/%s/os-volume_attachments/%s/swap-progress", server_id,
             volume);
    bool tty = isatty(STDERR_FILENO);
    int last_decile = -1;
    for (;;) {
        int rc;
        json_t *r = cli_compute(c, "GET", path, NULL, 200, &rc);
        if (!r)
            return rc;
        json_t *p = json_object_get(r, "swap_progress");
        const char *state = json_string_value(json_object_get(p, "state"));
        int decile = (int)(json_number_value(json_object_get(p, "percent")) / 10);
        bool over = state && strcmp(state, "running") != 0;
        /* on a pipe, one line per tenth and the last */
        if (tty || decile != last_decile || over)
            draw(p, tty);
        last_decile = decile;
        if (!over) {
            json_decref(r);
            sleep_ms(200);
            continue;
        }
        if (tty)
            fputc('\n', stderr);
        int ret = 0;
        if (c->json)
            cli_print_json(p);
        if (!strcmp(state, "completed")) {
            char b[32];
            human_bytes((double)json_integer_value(json_object_get(p, "bytes_total")), b, sizeof b);
            if (!c->json)
                printf("Swap completed: %s copied in %.3f s (mirror %.3f s), pivot %lld ms "
                       "(the consumer is held for at most that).\n",
                       b, (double)json_integer_value(json_object_get(p, "total_ms")) / 1000.0,
                       (double)json_integer_value(json_object_get(p, "mirror_ms")) / 1000.0,
                       (long long)json_integer_value(json_object_get(p, "pivot_pause_ms")));
        } else {
            const char *err = json_string_value(json_object_get(p, "error"));
            fprintf(stderr, "ERROR: swap %s: %s\n", state, err ? err : "(no detail)");
            ret = 1;
        }
        json_decref(r);
        return ret;
    }
}

static bool has_flag(int *argc, char **argv, const char *flag)
{
    for (int i = 1; i < *argc; i++)
        if (strcmp(argv[i], flag) == 0) {
            memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i) * sizeof *argv);
            (*argc)--;
            return true;
        }
    return false;
}

int cmd_volume_update(struct cli *c, int argc, char **argv)
{
    bool wait = has_flag(&argc, argv, "--wait");
    if (argc != 4)
        return cli_usage_error(argv[0]);
    char sub[600], sid[64];
    snprintf(sub, sizeof sub, "/os-volume_attachments/%s", argv[2]);
    json_t *body = json_pack("{s:{s:s}}", "volumeAttachment", "volumeId", argv[3]);
    int rc;
    json_t *r = cli_server_request(c, argv[1], "PUT", sub, body, 202, sid, &rc);
    json_decref(body);
    if (!r)
        return rc;
    json_decref(r);
    if (!wait)
        return 0;
    return follow(c, sid, argv[2]);
}

int cmd_volume_migrate(struct cli *c, int argc, char **argv)
{
    bool wait = has_flag(&argc, argv, "--wait");
    if (argc != 3)
        return cli_usage_error(argv[0]);
    int rc;
    json_t *v = cli_volume_request(c, argv[1], "GET", "", NULL, 200, &rc);
    if (!v)
        return rc;
    const char *sid = json_string_value(json_object_get(
        json_array_get(json_object_get(json_object_get(v, "volume"), "attachments"), 0),
        "server_id"));
    char server[64] = "";
    if (sid)
        snprintf(server, sizeof server, "%s", sid);
    json_decref(v);
    json_t *body = json_pack("{s:{s:s}}", "os-migrate_volume", "host", argv[2]);
    json_t *r = cli_volume_request(c, argv[1], "POST", "/action", body, 202, &rc);
    json_decref(body);
    if (!r)
        return rc;
    json_decref(r);
    if (!wait || !server[0])
        return 0;
    return follow(c, server, argv[1]);
}
