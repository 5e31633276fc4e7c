/* mirror-run: runs one volswap mirror in-process, for bench/mirror (and for
 * tests that need a mirror before the QMP monitor offers one). It opens the
 * source and target files as `file` nodes, optionally exports the source
 * over NBD on a unix socket (so fio or nbdsh can write to it during the
 * mirror, and keep writing across the pivot), starts blockdev-mirror when
 * the go-file appears (or at once), completes a given time after READY,
 * and prints one line per milestone on stdout:
 *
 *   ready <seconds since start>
 *   completed <seconds from block-job-complete to BLOCK_JOB_COMPLETED>
 *   pivoted <node the export now serves>
 *
 * Usage: mirror-run SRC TGT [--export SOCK] [--go FILE] [--stop FILE]
 *        [--copy-mode background|write-blocking] [--complete-after MS]
 *        [--cancel] [--existing] [--speed BYTES]
 * Without --stop it exits after the job ends; with it, it keeps serving
 * until the stop-file appears. */
#include "../src/jobs/jobs.h"
#include "../src/nbd/nbd.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct vs_loop *loop;
static const char *go_file, *stop_file, *copy_mode;
static long complete_after_ms = 0;
static bool cancel_instead, existing = true;
static int64_t speed;
static uint64_t t_start, t_ready, t_complete;
static bool started, ready, ended, failed;
static struct vs_timer poll_timer, complete_timer;

static double secs(uint64_t ns) { return (double)ns / 1e9; }

static void sink(const char *name, void *data, uint64_t ns)
{
    json_t *d = data;

    (void)ns;
    if (strcmp(name, "BLOCK_JOB_READY") == 0) {
        t_ready = vs_now_ns();
        ready = true;
        printf("ready %.3f\n", secs(t_ready - t_start));
        fflush(stdout);
        vs_timer_arm(loop, &complete_timer, (uint64_t)complete_after_ms * 1000000);
    } else if (strcmp(name, "BLOCK_JOB_COMPLETED") == 0 ||
               strcmp(name, "BLOCK_JOB_CANCELLED") == 0) {
        json_t *e = json_object_get(d, "error");
        if (e) {
            printf("error %s\n", json_string_value(e));
            failed = true;
        }
        if (t_complete)
            printf("completed %.6f\n", secs(vs_now_ns() - t_complete));
        printf("%s\n", strcmp(name, "BLOCK_JOB_COMPLETED") == 0 ? "done" : "cancelled");
        fflush(stdout);
        ended = true;
    }
    json_decref(d);
}

static void start_mirror(void)
{
    struct vs_error err = { 0 };
    struct mirror_args a = {
        .job_id = "bench", .device = "src", .target = "tgt", .sync = "full",
        .copy_mode = copy_mode, .speed = speed,
    };

    started = true;
    t_start = vs_now_ns();
    if (jobs_blockdev_mirror(loop, &a, &err) < 0) {
        fprintf(stderr, "mirror-run: %s\n", err.msg);
        exit(1);
    }
}

static void complete_fired(struct vs_timer *t)
{
    struct vs_error err = { 0 };

    (void)t;
    t_complete = vs_now_ns();
    if ((cancel_instead ? jobs_block_job_cancel("bench", false, &err)
                        : jobs_block_job_complete("bench", &err)) < 0) {
        fprintf(stderr, "mirror-run: %s\n", err.msg);
        exit(1);
    }
}

static void poll_fired(struct vs_timer *t)
{
    if (!started && (!go_file || access(go_file, F_OK) == 0))
        start_mirror();
    if (ended && stop_file && access(stop_file, F_OK) == 0)
        vs_loop_stop(loop);
    else if (ended && !stop_file)
        vs_loop_stop(loop);
    else
        vs_timer_arm(loop, t, 5000000);
}

static struct block_node *open_file(const char *name, const char *path)
{
    struct vs_error err = { 0 };
    struct block_node_opts o = {
        .driver = "file", .node_name = name, .filename = path, .unmap = true,
    };
    struct block_node *n = block_node_open(loop, &o, &err);

    if (!n) {
        fprintf(stderr, "mirror-run: %s\n", err.msg);
        exit(1);
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *export_sock = NULL;
    struct vs_error err = { 0 };

    if (argc < 3) {
        fprintf(stderr, "usage: mirror-run SRC TGT [options]\n");
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--export") == 0 && v) export_sock = v, i++;
        else if (strcmp(o, "--go") == 0 && v) go_file = v, i++;
        else if (strcmp(o, "--stop") == 0 && v) stop_file = v, i++;
        else if (strcmp(o, "--copy-mode") == 0 && v) copy_mode = v, i++;
        else if (strcmp(o, "--complete-after") == 0 && v) complete_after_ms = atol(v), i++;
        else if (strcmp(o, "--speed") == 0 && v) speed = atoll(v), i++;
        else if (strcmp(o, "--cancel") == 0) cancel_instead = true;
        else if (strcmp(o, "--existing") == 0) existing = true;
        else {
            fprintf(stderr, "mirror-run: unknown option %s\n", o);
            return 2;
        }
    }
    loop = vs_loop_new(1024, 2);
    vs_event_set_sink(sink);
    open_file("src", argv[1]);
    open_file("tgt", argv[2]);
    if (export_sock) {
        struct nbd_server_addr addr = { .type = NBD_ADDR_UNIX, .path = (char *)export_sock };
        struct nbd_export_opts eo = { .id = "e0", .node_name = "src", .name = "src",
                                      .writable = true };
        if (!nbd_export_add(&eo, &err) || nbd_server_start(loop, &addr, 0, &err) < 0) {
            fprintf(stderr, "mirror-run: %s\n", err.msg);
            return 1;
        }
    }
    poll_timer.fn = poll_fired;
    complete_timer.fn = complete_fired;
    vs_timer_arm(loop, &poll_timer, 0);
    vs_loop_run(loop);
    if (export_sock) {
        struct nbd_export *e = nbd_export_find_id("e0");
        printf("pivoted %s\n", e ? e->blk.node->name : "?");
        nbd_server_stop();
        for (int i = 0; i < 100; i++)
            vs_loop_run_once(loop, 1000000);
        nbd_export_del_all();
    }
    block_node_close_all();
    vs_loop_free(loop);
    return failed ? 1 : 0;
}
