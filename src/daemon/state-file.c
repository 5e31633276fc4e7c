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
#include <libgen.h>
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
    json_error_t jerr;
    json_t *doc = json_loadb(buf, (size_t)size, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
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

int state_file_save(const char *path, struct vs_error *err)
{
    json_t *snap = qmp_state_snapshot();
    char *text = json_dumps(snap, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(snap);
    if (!text) {
        vs_error_set(err, VS_ERR_GENERIC, "cannot encode the state");
        return -1;
    }
    char *tmp = vs_strdup_printf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int ret = -1;
    if (fd < 0) {
        vs_error_set_errno(err, errno, "cannot create '%s'", tmp);
        goto out;
    }
    if (write_all(fd, text, strlen(text)) < 0 || write_all(fd, "\n", 1) < 0 ||
        fsync(fd) < 0) {
        vs_error_set_errno(err, errno, "cannot write '%s'", tmp);
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        vs_error_set_errno(err, errno, "cannot rename '%s' to '%s'", tmp, path);
        unlink(tmp);
        goto out;
    }
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
    free(text);
    return ret;
}
