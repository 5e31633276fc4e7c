/* Fernet tokens and their key repository, as Keystone keeps them, so that
 * every volswap-api node sharing the repository accepts every other node's
 * tokens and a restart loses none.
 *
 * A token is Fernet's: version 0x80, the issue time (64-bit big-endian
 * seconds), a random 16-byte IV, the payload under AES-128-CBC (PKCS#7
 * padding) and an HMAC-SHA256 of all that, in URL-safe base64 (sent
 * without its '=' padding, as Keystone sends it). A key is 32 random bytes
 * in URL-safe base64: the first half signs, the second encrypts.
 *
 * The repository is a directory of key files named by number, as
 * keystone-manage fernet_setup and fernet_rotate lay it out: 0 is the
 * staged key (the next primary, already accepted so that nodes which
 * have not seen a rotation yet accept tokens of one that has), the highest
 * number is the primary (tokens are made with it), the others are
 * secondaries (accepted until rotated out). A token is checked against
 * every key; a bad signature, a bad padding, a wrong version or a length
 * out of bounds is the same refusal. */
#include "domain.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VERSION    0x80
#define HMAC_LEN   32
#define IV_LEN     16
#define HEADER_LEN (1 + 8 + IV_LEN)

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* URL-safe base64 of IN, padded with '=' when PAD; -1 when OUT is short. */
static int b64_encode(const unsigned char *in, size_t len, bool pad, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t n = len - i < 3 ? len - i : 3;
        if (n > 1)
            v |= (uint32_t)in[i + 1] << 8;
        if (n > 2)
            v |= in[i + 2];
        for (size_t j = 0; j < 4; j++) {
            if (o + 1 >= outlen)
                return -1;
            if (j <= n)
                out[o++] = b64[(v >> (18 - 6 * j)) & 63];
            else if (pad)
                out[o++] = '=';
        }
    }
    out[o] = '\0';
    return (int)o;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

/* Decodes URL-safe base64 (padding optional); -1 on any other character,
 * a bad length, or when OUT is short. */
static int b64_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
    while (len && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outlen)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return (int)o;
}

/* ---- the repository ---- */

static int read_key(const char *path, unsigned char key[32])
{
    char text[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return -1;
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        n--;
    text[n] = '\0';
    return b64_decode(text, (size_t)n, key, 32) == 32 ? 0 : -1;
}

/* The numbers of the key files in DIR, ascending (at most FERNET_MAX_KEYS). */
static int list_keys(const char *dir, int *idx, size_t *n, struct api_error *e)
{
    DIR *d = opendir(dir);
    *n = 0;
    if (!d)
        return api_err(e, 500, "fernet keys: cannot open %s: %s", dir, strerror(errno));
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        if (!de->d_name[0] || de->d_name[0] == '.')
            continue;
        long v = strtol(de->d_name, &end, 10);
        if (*end || v < 0 || v > 1000000000 || (de->d_name[0] == '0' && de->d_name[1]))
            continue;
        if (*n == FERNET_MAX_KEYS) {
            closedir(d);
            return api_err(e, 500, "fernet keys: more than %d keys in %s", FERNET_MAX_KEYS, dir);
        }
        idx[(*n)++] = (int)v;
    }
    closedir(d);
    for (size_t i = 1; i < *n; i++)
        for (size_t j = i; j > 0 && idx[j - 1] > idx[j]; j--) {
            int t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    return 0;
}

int fernet_keys_load(const char *dir, struct fernet_keys *k, struct api_error *e)
{
    int idx[FERNET_MAX_KEYS];
    size_t n;
    memset(k, 0, sizeof *k);
    if (list_keys(dir, idx, &n, e) < 0)
        return -1;
    /* the primary (highest number) first, then the others */
    for (size_t i = n; i-- > 0;) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%d", dir, idx[i]);
        if (read_key(path, k->key[k->n]) < 0)
            return api_err(e, 500, "fernet keys: %s is not a key (32 bytes, URL-safe base64)",
                           path);
        k->index[k->n++] = idx[i];
    }
    if (k->n == 0 || k->index[0] == 0)
        return api_err(e, 500,
                       "fernet keys: %s has no primary key (volswap-api --fernet-rotate %s makes "
                       "one)",
                       dir, dir);
    return 0;
}

static int write_new_key(const char *dir, int index, struct api_error *e)
{
    unsigned char key[32];
    char text[64], tmp[1200], path[1200];
    if (gnutls_rnd(GNUTLS_RND_KEY, key, sizeof key) != 0)
        return api_err(e, 500, "fernet keys: no random bytes");
    b64_encode(key, sizeof key, true, text, sizeof text);
    snprintf(tmp, sizeof tmp, "%s/.tmp.%d", dir, index);
    snprintf(path, sizeof path, "%s/%d", dir, index);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return api_err(e, 500, "fernet keys: cannot write %s: %s", tmp, strerror(errno));
    size_t len = strlen(text);
    bool ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        return api_err(e, 500, "fernet keys: cannot write %s: %s", path, strerror(errno));
    }
    return 0;
}

int fernet_rotate(const char *dir, int max_active, char *report, size_t reportlen,
                  struct api_error *e)
{
    int idx[FERNET_MAX_KEYS];
    size_t n;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return api_err(e, 500, "fernet keys: cannot make %s: %s", dir, strerror(errno));
    if (list_keys(dir, idx, &n, e) < 0)
        return -1;
    if (n == 0) {
        /* keystone-manage fernet_setup: a staged and a primary key */
        if (write_new_key(dir, 0, e) < 0 || write_new_key(dir, 1, e) < 0)
            return -1;
        snprintf(report, reportlen, "new repository: staged key 0, primary key 1");
        return 0;
    }
    if (idx[0] != 0) /* no staged key: make one first */
        if (write_new_key(dir, 0, e) < 0)
            return -1;
    /* the staged key becomes the primary; a new staged key takes its place */
    int primary = idx[n - 1] + 1;
    char from[1200], to[1200];
    snprintf(from, sizeof from, "%s/0", dir);
    snprintf(to, sizeof to, "%s/%d", dir, primary);
    if (rename(from, to) < 0)
        return api_err(e, 500, "fernet keys: cannot promote %s: %s", from, strerror(errno));
    if (write_new_key(dir, 0, e) < 0)
        return -1;
    /* at most MAX_ACTIVE keys: the oldest secondaries go */
    if (list_keys(dir, idx, &n, e) < 0)
        return -1;
    size_t removed = 0;
    for (size_t i = 1; n - removed > (size_t)max_active && i + 1 < n; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%d", dir, idx[i]);
        if (unlink(path) == 0)
            removed++;
    }
    snprintf(report, reportlen, "primary key %d, new staged key 0, %zu old key(s) removed", primary,
             removed);
    return 0;
}

/* ---- tokens ---- */

static int aes_cbc(bool enc, const unsigned char key[16], const unsigned char iv[IV_LEN],
                   const unsigned char *in, unsigned char *out, size_t len)
{
    gnutls_cipher_hd_t h;
    gnutls_datum_t k = { (unsigned char *)key, 16 }, v = { (unsigned char *)iv, IV_LEN };
    if (gnutls_cipher_init(&h, GNUTLS_CIPHER_AES_128_CBC, &k, &v) != 0)
        return -1;
    int rc = enc ? gnutls_cipher_encrypt2(h, in, len, out, len)
                 : gnutls_cipher_decrypt2(h, in, len, out, len);
    gnutls_cipher_deinit(h);
    return rc == 0 ? 0 : -1;
}

int fernet_encrypt(const struct fernet_keys *k, const void *msg, size_t len, time_t now, char *out,
                   size_t outlen)
{
    if (k->n == 0 || len > FERNET_MAX_PAYLOAD)
        return -1;
    unsigned char raw[HEADER_LEN + FERNET_MAX_PAYLOAD + 16 + HMAC_LEN];
    size_t padded = (len / 16 + 1) * 16;
    raw[0] = VERSION;
    for (int i = 0; i < 8; i++)
        raw[1 + i] = (unsigned char)((uint64_t)now >> (56 - 8 * i));
    if (gnutls_rnd(GNUTLS_RND_NONCE, raw + 9, IV_LEN) != 0)
        return -1;
    unsigned char plain[FERNET_MAX_PAYLOAD + 16];
    memcpy(plain, msg, len);
    memset(plain + len, (int)(padded - len), padded - len);
    if (aes_cbc(true, k->key[0] + 16, raw + 9, plain, raw + HEADER_LEN, padded) < 0)
        return -1;
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, k->key[0], 16, raw, HEADER_LEN + padded,
                         raw + HEADER_LEN + padded) != 0)
        return -1;
    return b64_encode(raw, HEADER_LEN + padded + HMAC_LEN, false, out, outlen) < 0 ? -1 : 0;
}

static bool same(const unsigned char *a, const unsigned char *b, size_t n)
{
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= a[i] ^ b[i];
    return d == 0;
}

int fernet_decrypt(const struct fernet_keys *k, const char *token, void *out, size_t *outlen,
                   time_t *issued)
{
    unsigned char raw[HEADER_LEN + FERNET_MAX_PAYLOAD + 16 + HMAC_LEN];
    size_t tlen = strnlen(token, FERNET_MAX_TOKEN + 1);
    if (tlen > FERNET_MAX_TOKEN)
        return -1;
    int n = b64_decode(token, tlen, raw, sizeof raw);
    if (n < HEADER_LEN + 16 + HMAC_LEN || raw[0] != VERSION ||
        (n - HEADER_LEN - HMAC_LEN) % 16 != 0)
        return -1;
    size_t clen = (size_t)n - HEADER_LEN - HMAC_LEN;
    for (size_t i = 0; i < k->n; i++) {
        unsigned char mac[HMAC_LEN];
        if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, k->key[i], 16, raw, HEADER_LEN + clen, mac) != 0 ||
            !same(mac, raw + HEADER_LEN + clen, HMAC_LEN))
            continue;
        unsigned char plain[FERNET_MAX_PAYLOAD + 16];
        if (aes_cbc(false, k->key[i] + 16, raw + 9, raw + HEADER_LEN, plain, clen) < 0)
            return -1;
        unsigned pad = plain[clen - 1];
        if (pad == 0 || pad > 16)
            return -1;
        for (size_t j = clen - pad; j < clen; j++)
            if (plain[j] != pad)
                return -1;
        uint64_t ts = 0;
        for (int j = 0; j < 8; j++)
            ts = ts << 8 | raw[1 + j];
        memcpy(out, plain, clen - pad);
        *outlen = clen - pad;
        *issued = (time_t)ts;
        return 0;
    }
    return -1;
}
