/* Small process-wide utilities: the control-path error object, allocation
 * that never returns NULL, and clocks. Logging is log.c. */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void vs_error_set(struct vs_error *err, enum vs_errclass cls, const char *fmt, ...)
{
    if (!err || err->set)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    err->cls = cls;
    err->set = true;
}

void vs_error_set_errno(struct vs_error *err, int errnum, const char *fmt, ...)
{
    if (!err || err->set)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(err->msg))
        snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum < 0 ? -errnum : errnum));
    err->cls = VS_ERR_GENERIC;
    err->set = true;
}

const char *vs_errclass_name(enum vs_errclass cls)
{
    switch (cls) {
    case VS_ERR_COMMAND_NOT_FOUND: return "CommandNotFound";
    case VS_ERR_DEVICE_NOT_FOUND: return "DeviceNotFound";
    case VS_ERR_DEVICE_NOT_ACTIVE: return "DeviceNotActive";
    case VS_ERR_GENERIC: break;
    }
    return "GenericError";
}

static void *check_alloc(void *p)
{
    if (!p) {
        fputs("volswap: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *vs_malloc(size_t n) { return check_alloc(malloc(n ? n : 1)); }
void *vs_zalloc(size_t n) { return check_alloc(calloc(1, n ? n : 1)); }
void *vs_realloc(void *p, size_t n) { return check_alloc(realloc(p, n ? n : 1)); }
char *vs_strdup(const char *s) { return check_alloc(strdup(s)); }

char *vs_strdup_printf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        check_alloc(NULL);
    return s;
}

uint64_t vs_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t vs_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
