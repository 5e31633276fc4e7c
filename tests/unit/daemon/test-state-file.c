/* Unit tests of src/daemon/state-file.c's writer: saves that overlap (one
 * on the worker pool, one on the loop) leave the newest snapshot on disk
 * whatever order they finish in, and no temporary file behind. One
 * scenario per invocation ("test-state-file NAME"). */
#include "../../../src/daemon/daemon.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"

static char dir[] = "/tmp/volswap-unit-state-XXXXXX";

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    static char buf[256];
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

static int entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

/* The newer snapshot (gen 8) lands first; the older one (gen 7), finishing
 * later, must not replace it. Then a newer one still does. */
static void older_save_never_replaces_newer(void)
{
    char path[128];
    struct vs_error err = { 0 };
    snprintf(path, sizeof(path), "%s/state.json", dir);
    struct state_text older = { .text = "{\"gen\": 7}", .gen = 7 };
    struct state_text newer = { .text = "{\"gen\": 8}", .gen = 8 };
    struct state_text newest = { .text = "{\"gen\": 9}", .gen = 9 };
    CHECK(state_file_write(path, &newer, &err) == 0);
    CHECK(state_file_write(path, &older, &err) == 0);
    CHECK_STR(read_all(path), "{\"gen\": 8}\n");
    CHECK(entries() == 1);                     /* the older temporary file went */
    CHECK(state_file_write(path, &newest, &err) == 0);
    CHECK_STR(read_all(path), "{\"gen\": 9}\n");
    CHECK(entries() == 1);
}

/* A directory that cannot take the temporary file: an error naming it,
 * and the state on disk as it was. */
static void failed_write_keeps_old_state(void)
{
    char path[128], bad[160];
    struct vs_error err = { 0 };
    snprintf(path, sizeof(path), "%s/state.json", dir);
    snprintf(bad, sizeof(bad), "%s/missing/state.json", dir);
    struct state_text t = { .text = "{\"gen\": 20}", .gen = 20 };
    CHECK(state_file_write(path, &t, &err) == 0);
    struct state_text u = { .text = "{\"gen\": 21}", .gen = 21 };
    CHECK(state_file_write(bad, &u, &err) < 0);
    CHECK_CONTAINS(err.msg, "cannot create");
    CHECK_STR(read_all(path), "{\"gen\": 20}\n");
}

int main(int argc, char **argv)
{
    static const struct { const char *name; void (*fn)(void); } tests[] = {
        { "older-save-never-replaces-newer", older_save_never_replaces_newer },
        { "failed-write-keeps-old-state", failed_write_keeps_old_state },
    };
    if (argc != 2)
        return 1;
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (strcmp(argv[1], tests[i].name) != 0)
            continue;
        CHECK(mkdtemp(dir));
        tests[i].fn();
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            return 1;
        return 0;
    }
    fprintf(stderr, "no test named %s\n", argv[1]);
    return 1;
}
