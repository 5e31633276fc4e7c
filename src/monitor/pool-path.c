/* The boundary of the pool commands (pool.c): which paths volswap-api may
 * have this daemon create, grow, delete and measure. The daemon is told
 * its pool directories and devices on its command line (--pool-dir,
 * --pool-device); a path a client names is accepted only when it is a
 * plain file name directly inside one of those directories (no slash, no
 * "." or "..", no hidden name), or exactly one of those devices. The
 * directory part is compared as a string with the operator's spelling,
 * normalised once here, so no component a client sends is ever resolved
 * by the file system; pool.c then opens the name relative to the
 * directory with O_NOFOLLOW, so a symbolic link planted in a pool
 * directory is refused rather than followed. Pure functions, fuzzed by
 * tests/fuzz/qmp/fuzz-pool-path.c. */
#include "monitor.h"

#include <string.h>

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '+';
}

int qmp_pool_path_normalise(const char *in, char *out, size_t outlen, struct vs_error *err)
{
    size_t len = strnlen(in, QMP_POOL_PATH_MAX + 1);
    if (len == 0 || len > QMP_POOL_PATH_MAX || in[0] != '/') {
        vs_error_set(err, VS_ERR_GENERIC, "a pool path must be absolute and at most %d bytes",
                     QMP_POOL_PATH_MAX);
        return -1;
    }
    while (len > 1 && in[len - 1] == '/')
        len--;
    if (len == 1) {
        vs_error_set(err, VS_ERR_GENERIC, "/ cannot be a pool");
        return -1;
    }
    /* every component non-empty, not "." and not ".." */
    for (size_t i = 0; i < len;) {
        size_t j = i + 1;
        while (j < len && in[j] != '/')
            j++;
        size_t n = j - i - 1;
        const char *c = in + i + 1;
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
            vs_error_set(err, VS_ERR_GENERIC,
                         "a pool path must not have empty, '.' or '..' components");
            return -1;
        }
        i = j;
    }
    if (len + 1 > outlen) {
        vs_error_set(err, VS_ERR_GENERIC, "pool path too long");
        return -1;
    }
    memcpy(out, in, len);
    out[len] = '\0';
    return 0;
}

int qmp_pool_path_parse(const char *const *dirs, size_t n_dirs, const char *const *devices,
                        size_t n_devices, const char *filename, struct qmp_pool_path *out,
                        struct vs_error *err)
{
    memset(out, 0, sizeof *out);
    size_t len = strnlen(filename, QMP_POOL_PATH_MAX + 1);
    if (len == 0 || len > QMP_POOL_PATH_MAX || filename[0] != '/') {
        vs_error_set(err, VS_ERR_GENERIC, "'%.64s' is not an absolute path of a pool", filename);
        return -1;
    }
    for (size_t i = 0; i < n_devices; i++)
        if (strcmp(devices[i], filename) == 0) {
            out->is_device = true;
            out->index = i;
            return 0;
        }
    const char *slash = strrchr(filename, '/');
    size_t dirlen = (size_t)(slash - filename);
    const char *name = slash + 1;
    size_t namelen = len - dirlen - 1;
    size_t d = 0;
    while (d < n_dirs && !(strlen(dirs[d]) == dirlen && memcmp(dirs[d], filename, dirlen) == 0))
        d++;
    if (d == n_dirs) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "'%.256s' is not in a pool directory of this daemon (--pool-dir)", filename);
        return -1;
    }
    bool ok = namelen > 0 && namelen <= QMP_POOL_NAME_MAX && name[0] != '.';
    for (size_t i = 0; ok && i < namelen; i++)
        ok = name_char(name[i]);
    if (!ok) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "'%.256s' is not a plain file name in pool directory %.256s (letters, "
                     "digits, '-', '_', '+', '.', not first)",
                     filename, dirs[d]);
        return -1;
    }
    out->index = d;
    memcpy(out->name, name, namelen);
    out->name[namelen] = '\0';
    return 0;
}
