#include "sandbox.h"
#include "../../../src/jobs/jobs.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct vs_loop *loop;
static char dir[] = "/tmp/volswap-fuzz-qmp.XXXXXX";

/* The sandbox's directory goes at exit, with what inputs left in it (unix
 * sockets of NBD servers). */
static void remove_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    unlinkat(AT_FDCWD, "psk/keys.psk", 0);
    unlinkat(AT_FDCWD, "psk", AT_REMOVEDIR);
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            unlinkat(dirfd(d), de->d_name, 0);
    if (d)
        closedir(d);
    rmdir(dir);
}

/* The sandbox moves into its own directory with the first input, so the
 * corpus directories and files libFuzzer is given (read and written after
 * that) are made absolute first: given relative, as the fuzzers are
 * usually run, every input but the first was read from the wrong place
 * and the run ended at once ("no interesting inputs were found"). The new
 * argv lives as long as the process. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char **abs = calloc((size_t)*argc + 1, sizeof *abs);
    if (!abs)
        abort();
    for (int i = 0; i < *argc; i++) {
        char *full = NULL;
        const char *a = (*argv)[i];
        if (i > 0 && a[0] != '-' && a[0] != '/')
            full = realpath(a, NULL);
        abs[i] = full ? full : (*argv)[i];
    }
    *argv = abs;
    return 0;
}

struct vs_loop *fuzz_sandbox_setup(void)
{
    if (loop)
        return loop;
    /* nbd-server-start may create relative unix sockets: keep them here. */
    if (!mkdtemp(dir) || chdir(dir) < 0)
        abort();
    atexit(remove_dir);
    /* Server credentials inputs can name: object-add tls-creds-psk,
     * dir=psk, endpoint=server (then nbd-server-start with tls-creds). */
    FILE *f = mkdir("psk", 0700) == 0 ? fopen("psk/keys.psk", "w") : NULL;
    if (!f)
        abort();
    fputs("alice:000102030405060708090a0b0c0d0e0f\n", f);
    fclose(f);
    vs_log_level = VS_LOG_ERROR;
    loop = vs_loop_new(64, 1);
    if (!loop)
        abort();
    qmp_sandbox = true;
    qmp_events_init();
    return loop;
}

void fuzz_sandbox_teardown(void)
{
    /* Again on every turn: a cancelled job with auto-dismiss off concludes
     * later, and only then can it be dismissed. */
    for (int i = 0; i < 1000 && (jobs_count() > 0 || vs_loop_inflight(loop) > 0); i++) {
        jobs_cancel_all();
        vs_loop_run_once(loop, 1000 * 1000);
    }
    if (jobs_count() > 0)
        abort(); /* a job that cannot be cancelled */
    nbd_server_stop();
    nbd_export_del_all();
    qmp_iothreads_stop();
    vs_object_del_all();
    block_node_close_all();
    for (int i = 0; i < 100 && vs_loop_inflight(loop) > 0; i++)
        vs_loop_run_once(loop, 1000 * 1000);
    qmp_node_options(NULL); /* drops the records of the closed nodes */
}
