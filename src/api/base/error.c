/* Small shared helpers of volswap-api: the error object every control-path
 * call fills, Nova/Cinder fault bodies ({"itemNotFound": {"code": 404,
 * "message": ...}}), UUIDs and the two timestamp formats the OpenStack APIs
 * use. Randomness comes from GnuTLS's CSPRNG since tokens and ids are
 * security-relevant. */
#include "base.h"

#include <ctype.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int api_err(struct api_error *e, int status, const char *fmt, ...)
{
    if (e) {
        e->status = status;
        e->msg_secret = false;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        /* "%.64s" of a name, or the buffer's end, may cut a character */
        vs_utf8_repair(e->msg);
    }
    return -1;
}

/* The names Nova's wsgi.Fault gives each status; anything else is a
 * computeFault, as in Nova. */
const char *api_fault_name(int status)
{
    switch (status) {
    case 400: return "badRequest";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "itemNotFound";
    case 405: return "badMethod";
    case 409: return "conflictingRequest";
    case 413: return "overLimit";
    case 415: return "badMediaType";
    case 429: return "overLimit";
    case 501: return "notImplemented";
    case 503: return "serviceUnavailable";
    default: return "computeFault";
    }
}

json_t *api_fault_body(int status, const char *msg)
{
    return json_pack("{s:{s:i, s:s}}", api_fault_name(status), "code", status, "message", msg);
}

void api_random_hex(char *out, size_t nbytes)
{
    unsigned char raw[64];
    if (nbytes > sizeof raw)
        nbytes = sizeof raw;
    if (gnutls_rnd(GNUTLS_RND_RANDOM, raw, nbytes) != 0) {
        /* GnuTLS failing its RNG is not recoverable for a token service */
        vs_error("gnutls_rnd failed");
        abort();
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * nbytes] = '\0';
}

void api_uuid(char out[37])
{
    char hex[33];
    api_random_hex(hex, 16);
    hex[12] = '4';                 /* version 4 */
    hex[16] = "89ab"[hex[16] % 4]; /* RFC 4122 variant */
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

void api_uuid_of(const char *seed, char out[37])
{
    unsigned char d[32];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, seed, strlen(seed), d) != 0)
        memset(d, 0, sizeof d);
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    hex[12] = '5'; /* name-based, as version 5 */
    hex[16] = "89ab"[hex[16] % 4];
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

bool api_is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

void api_time_z(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void api_time_micro(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000000", &tm);
}
