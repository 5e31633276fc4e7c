/* libFuzzer target for the pool commands' path boundary (pool-path.c):
 * whatever filename a QMP client sends, a path accepted is exactly a
 * configured device, or a configured directory, a slash and a plain name
 * with no slash that is not hidden, "." or ".."; and an operator's
 * --pool-dir accepted normalises to an absolute path with no empty, "."
 * or ".." component. --confine-to-pools's check (pool.c) agrees with the
 * boundary: what it lets blockdev-add open is what the boundary accepts,
 * what it lets blockdev-create make is that minus the devices. */
#include "../../../src/monitor/monitor.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const dirs[] = { "/srv/pool", "/var/lib/volswap/p2", "/srv/pool/inner" };
    static const char *const devs[] = { "/dev/vdb", "/srv/pool/dev" };
    static bool registered;
    if (!registered) {
        struct vs_error e = { 0 };
        for (size_t i = 0; i < 3; i++)
            assert(qmp_pool_dir_add(dirs[i], &e) == 0);
        for (size_t i = 0; i < 2; i++)
            assert(qmp_pool_device_add(devs[i], &e) == 0);
        qmp_pool_confined = true;
        registered = true;
    }
    if (size > QMP_POOL_PATH_MAX + 16)
        return 0;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    struct qmp_pool_path p;
    struct vs_error err = { 0 };
    int parsed = qmp_pool_path_parse(dirs, 3, devs, 2, s, &p, &err);
    struct vs_error ce = { 0 };
    assert((qmp_pool_confine_check(s, true, "blockdev-add", &ce) == 0) == (parsed == 0));
    assert((qmp_pool_confine_check(s, false, "blockdev-create", &ce) == 0) ==
           (parsed == 0 && !p.is_device));
    if (parsed == 0) {
        if (p.is_device) {
            assert(p.index < 2 && strcmp(devs[p.index], s) == 0);
        } else {
            assert(p.index < 3);
            size_t dl = strlen(dirs[p.index]);
            assert(strncmp(s, dirs[p.index], dl) == 0 && s[dl] == '/');
            assert(strcmp(s + dl + 1, p.name) == 0);
            assert(p.name[0] && p.name[0] != '.' && !strchr(p.name, '/'));
        }
    } else {
        assert(err.set && err.msg[0]);
    }
    char norm[QMP_POOL_PATH_MAX + 1];
    struct vs_error err2 = { 0 };
    if (qmp_pool_path_normalise(s, norm, sizeof norm, &err2) == 0) {
        size_t n = strlen(norm);
        assert(norm[0] == '/' && n > 1 && norm[n - 1] != '/');
        assert(!strstr(norm, "//") && !strstr(norm, "/./") && !strstr(norm, "/../"));
        assert(!(n >= 2 && strcmp(norm + n - 2, "/.") == 0));
        assert(!(n >= 3 && strcmp(norm + n - 3, "/..") == 0));
    }
    free(s);
    return 0;
}
