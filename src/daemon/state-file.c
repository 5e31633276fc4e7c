/* volswapd's state file: the monitor's snapshot (a list of QMP commands,
 * see src/monitor/state.c) written so that a crash at any moment leaves
 * either the old file or the new one — write a temporary file, fsync it,
 * rename it over the old one, fsync the directory — and read back at
 * start. A file that is not exactly what we write is refused with its
 * position and reason: restoring half of a damaged state would serve the
 * wrong volume, which is worse than not starting. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A state file is a few KiB; anything much larger is not ours. */
#define STATE_MAX_BYTES (64u << 20)

int state_file_load(const char *path, json_t **out, struct vs_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0; /* first start */
        vs_error_set_errno(err, errno, "cannot open state file '%s'", path);
        return -1;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < 0 || (uint64_t)size > STATE_MAX_BYTES) {
        vs_error_set(err, VS_ERR_GENERIC, "state file '%s' is damaged: %s", path,
                     size < 0 ? "cannot read its size" : "larger than 64 MiB");
        close(fd);
        return -1;
    }
    char *buf = vs_malloc((size_t)size + 1);
    ssize_t got = pread(fd, buf, (size_t)size, 0);
    close(fd);
    if (got != size) {
        vs_error_set(err, VS_ERR_GENERIC, "cannot read state file '%s'", path);
        free(buf);
        return -1;
    }
    int ret = state_file_parse(path, buf, (size_t)size, out, err);
    free(buf);
    return ret;
}

int state_file_parse(const char *path, const char *buf, size_t len, json_t **out,
                     struct vs_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    *out = NULL;
    if (!doc) {
        vs_error_set(err, VS_ERR_GENERIC, "state file '%s' is damaged: line %d column %d: %s",
                     path, jerr.line, jerr.column, jerr.text);
        return -1;
    }
    *out = doc;
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Saves may overlap (one on the worker pool for a QMP command, one on the
 * loop at a pivot): each writes its own temporary file, and the renames
 * are serialised so that a snapshot never replaces a newer one. */
static pthread_mutex_t rename_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t gen_next = 1;     /* loop thread only */
static uint64_t gen_on_disk;      /* under rename_lock */

struct state_text *state_file_snapshot(struct vs_error *err)
{
    json_t *snap = qmp_state_snapshot();
    char *text = json_dumps(snap, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(snap);
    if (!text) {
        vs_error_set(err, VS_ERR_GENERIC, "cannot encode the state");
        return NULL;
    }
    struct state_text *t = vs_zalloc(sizeof(*t));
    t->text = text;
    t->gen = gen_next++;
    return t;
}

void state_text_free(struct state_text *t)
{
    if (!t)
        return;
    free(t->text);
    free(t);
}

int state_file_write(const char *path, const struct state_text *t, struct vs_error *err)
{
    char *tmp = vs_strdup_printf("%s.tmp.%" PRIu64, path, t->gen);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int ret = -1;
    if (fd < 0) {
        vs_error_set_errno(err, errno, "cannot create '%s'", tmp);
        goto out;
    }
    if (write_all(fd, t->text, strlen(t->text)) < 0 || write_all(fd, "\n", 1) < 0 ||
        fsync(fd) < 0) {
        vs_error_set_errno(err, errno, "cannot write '%s'", tmp);
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    pthread_mutex_lock(&rename_lock);
    if (t->gen < gen_on_disk) {
        /* A newer snapshot is already in place; this one says less. */
        pthread_mutex_unlock(&rename_lock);
        unlink(tmp);
        ret = 0;
        goto out;
    }
    if (rename(tmp, path) < 0) {
        pthread_mutex_unlock(&rename_lock);
        vs_error_set_errno(err, errno, "cannot rename '%s' to '%s'", tmp, path);
        unlink(tmp);
        goto out;
    }
    gen_on_disk = t->gen;
    pthread_mutex_unlock(&rename_lock);
    /* The rename is durable only once the directory is. */
    char *dircopy = vs_strdup(path);
    int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dircopy);
    if (dfd < 0 || fsync(dfd) < 0) {
        vs_error_set_errno(err, errno, "cannot sync the directory of '%s'", path);
        if (dfd >= 0)
            close(dfd);
        goto out;
    }
    close(dfd);
    ret = 0;
out:
    free(tmp);
    return ret;
}

int state_file_save(const char *path, struct vs_error *err)
{
    struct state_text *t = state_file_snapshot(err);
    if (!t)
        return -1;
    int ret = state_file_write(path, t, err);
    state_text_free(t);
    return ret;
}
