/* Nova's key pair material: the check and fingerprint of a public key a
 * user imports (an OpenSSH public key line, or an X.509 certificate in
 * PEM), and the RSA key pair Nova generates when none is given. The public
 * key is untrusted input: it is bounded, decoded without trusting its
 * lengths, and every malformed one is a 400 message, never a crash. */
#include "base.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The key types Nova's ssh check (cryptography's load_ssh_public_key)
 * accepts. */
static const char *const ssh_types[] = {
    "ssh-rsa",
    "ssh-dss",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    NULL,
};

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict base64 (padding required): OUT of at most OUTMAX bytes, or -1. */
static long b64_decode(const char *in, size_t len, unsigned char *out, size_t outmax)
{
    if (len == 0 || len % 4)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char c = in[i + k];
            if (c == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad || (v[k] = b64_value((unsigned char)c)) < 0) {
                return -1;
            }
        }
        unsigned long w = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
                          (unsigned long)v[2] << 6 | (unsigned long)v[3];
        unsigned char b[3] = { (unsigned char)(w >> 16), (unsigned char)(w >> 8),
                               (unsigned char)w };
        for (int k = 0; k < 3 - pad; k++) {
            if (o >= outmax)
                return -1;
            out[o++] = b[k];
        }
    }
    return (long)o;
}

/* "aa:bb:..." of the digest ALGO of DATA. */
static void fingerprint_of(gnutls_digest_algorithm_t algo, const void *data, size_t len, char *out,
                           size_t outlen)
{
    unsigned char d[64];
    size_t n = gnutls_hash_get_len(algo);
    out[0] = '\0';
    if (n > sizeof d || gnutls_hash_fast(algo, data, len, d) < 0 || outlen < n * 3)
        return;
    for (size_t i = 0; i < n; i++)
        sprintf(out + 3 * i, i + 1 < n ? "%02x:" : "%02x", d[i]);
}

/* An OpenSSH public key line: TYPE BASE64 [COMMENT], whose decoded blob
 * starts with the same TYPE as a length-prefixed string. */
static int ssh_key_check(const char *key, char *fp, size_t fplen, struct api_error *e)
{
    const char *sp = strchr(key, ' ');
    if (!sp)
        return api_err(e, 400, "Keypair data is invalid: failed to generate fingerprint");
    size_t tlen = (size_t)(sp - key);
    bool known = false;
    for (size_t i = 0; ssh_types[i]; i++)
        known |= strlen(ssh_types[i]) == tlen && strncmp(ssh_types[i], key, tlen) == 0;
    if (!known)
        return api_err(e, 400, "Keypair data is invalid: failed to generate fingerprint");
    const char *b = sp + 1;
    size_t blen = strcspn(b, " \r\n");
    unsigned char blob[4096];
    long n = b64_decode(b, blen, blob, sizeof blob);
    if (n < 4)
        return api_err(e, 400, "Keypair data is invalid: failed to generate fingerprint");
    uint32_t inner = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 |
                     blob[3];
    if (inner != tlen || (size_t)n < 4 + (size_t)inner || memcmp(blob + 4, key, tlen) != 0)
        return api_err(e, 400, "Keypair data is invalid: failed to generate fingerprint");
    fingerprint_of(GNUTLS_DIG_MD5, blob, (size_t)n, fp, fplen);
    return 0;
}

/* An X.509 certificate in PEM: its SHA-1 fingerprint, as Nova shows it. */
static int x509_key_check(const char *key, char *fp, size_t fplen, struct api_error *e)
{
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) < 0)
        return api_err(e, 500, "out of memory");
    gnutls_datum_t d = { (unsigned char *)key, (unsigned int)strlen(key) };
    unsigned char der[8192];
    size_t derlen = sizeof der;
    int rc = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM);
    if (rc == 0)
        rc = gnutls_x509_crt_export(crt, GNUTLS_X509_FMT_DER, der, &derlen);
    gnutls_x509_crt_deinit(crt);
    if (rc < 0)
        return api_err(e, 400, "Keypair data is invalid: failed to generate fingerprint");
    fingerprint_of(GNUTLS_DIG_SHA1, der, derlen, fp, fplen);
    return 0;
}

int api_public_key_check(const char *type, const char *key, char *fp, size_t fplen,
                         struct api_error *e)
{
    if (!key || strlen(key) >= API_PUBLIC_KEY_MAX)
        return api_err(e, 400, "Keypair data is invalid: failed to generate fingerprint");
    if (strcmp(type, "x509") == 0)
        return x509_key_check(key, fp, fplen, e);
    return ssh_key_check(key, fp, fplen, e);
}

/* An mpint of SSH's wire format: length, then the big-endian magnitude
 * with a leading zero when its top bit is set. */
static size_t put_mpint(unsigned char *out, const gnutls_datum_t *v)
{
    size_t skip = 0;
    while (skip < v->size && v->data[skip] == 0)
        skip++;
    size_t n = v->size - skip;
    bool pad = n && (v->data[skip] & 0x80);
    size_t len = n + pad;
    out[0] = (unsigned char)(len >> 24);
    out[1] = (unsigned char)(len >> 16);
    out[2] = (unsigned char)(len >> 8);
    out[3] = (unsigned char)len;
    if (pad)
        out[4] = 0;
    memcpy(out + 4 + pad, v->data + skip, n);
    return 4 + len;
}

static void b64_encode(const unsigned char *in, size_t len, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned long w = (unsigned long)in[i] << 16;
        if (i + 1 < len)
            w |= (unsigned long)in[i + 1] << 8;
        if (i + 2 < len)
            w |= in[i + 2];
        out[o++] = a[(w >> 18) & 63];
        out[o++] = a[(w >> 12) & 63];
        out[o++] = i + 1 < len ? a[(w >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? a[w & 63] : '=';
    }
    out[o] = '\0';
}

/* A self-signed certificate for KEY, valid for ten years, naming the user
 * and project as Nova's x509 key pairs do; its PEM in *OUT. */
static int x509_cert_make(gnutls_x509_privkey_t key, const char *user, const char *project,
                          gnutls_datum_t *out)
{
    gnutls_x509_crt_t crt;
    int rc = gnutls_x509_crt_init(&crt);
    if (rc < 0)
        return rc;
    char dn[200];
    snprintf(dn, sizeof dn, "CN=%s-%s,O=volswap", project, user);
    unsigned char serial[8];
    gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
    serial[0] &= 0x7f;
    time_t now = time(NULL);
    if ((rc = gnutls_x509_crt_set_version(crt, 3)) == 0 &&
        (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof serial)) == 0 &&
        (rc = gnutls_x509_crt_set_dn(crt, dn, NULL)) == 0 &&
        (rc = gnutls_x509_crt_set_issuer_dn(crt, dn, NULL)) == 0 &&
        (rc = gnutls_x509_crt_set_activation_time(crt, now)) == 0 &&
        (rc = gnutls_x509_crt_set_expiration_time(crt, now + 10 * 365 * 86400)) == 0 &&
        (rc = gnutls_x509_crt_set_key(crt, key)) == 0 &&
        (rc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) == 0)
        rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, out);
    gnutls_x509_crt_deinit(crt);
    return rc;
}

int api_keypair_generate_x509(const char *user, const char *project, char *cert, size_t certlen,
                              char **priv, char *fp, size_t fplen, struct api_error *e)
{
    *priv = NULL;
    gnutls_x509_privkey_t key;
    if (gnutls_x509_privkey_init(&key) < 0)
        return api_err(e, 500, "out of memory");
    gnutls_datum_t pem = { NULL, 0 }, crt = { NULL, 0 };
    int rc = gnutls_x509_privkey_generate(key, GNUTLS_PK_RSA, 2048, 0);
    if (rc == 0)
        rc = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &pem);
    if (rc == 0)
        rc = x509_cert_make(key, user, project, &crt);
    gnutls_x509_privkey_deinit(key);
    if (rc == 0 && crt.size >= certlen)
        rc = GNUTLS_E_SHORT_MEMORY_BUFFER;
    if (rc == 0) {
        memcpy(cert, crt.data, crt.size);
        cert[crt.size] = '\0';
        *priv = strndup((const char *)pem.data, pem.size);
    }
    gnutls_free(pem.data);
    gnutls_free(crt.data);
    if (rc < 0)
        return api_err(e, 500, "Key pair generation failed: %s", gnutls_strerror(rc));
    if (!*priv)
        return api_err(e, 500, "out of memory");
    /* the fingerprint is the imported certificate's, computed the same way */
    return api_public_key_check("x509", cert, fp, fplen, e);
}

int api_keypair_generate(char *pub, size_t publen, char **priv, char *fp, size_t fplen,
                         struct api_error *e)
{
    *priv = NULL;
    gnutls_x509_privkey_t key;
    if (gnutls_x509_privkey_init(&key) < 0)
        return api_err(e, 500, "out of memory");
    gnutls_datum_t m = { NULL, 0 }, ex = { NULL, 0 }, pem = { NULL, 0 };
    int rc = gnutls_x509_privkey_generate(key, GNUTLS_PK_RSA, 2048, 0);
    if (rc == 0)
        rc = gnutls_x509_privkey_export_rsa_raw(key, &m, &ex, NULL, NULL, NULL, NULL);
    if (rc == 0)
        rc = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &pem);
    gnutls_x509_privkey_deinit(key);
    if (rc < 0 || m.size > 1024 || ex.size > 16) {
        gnutls_free(m.data);
        gnutls_free(ex.data);
        gnutls_free(pem.data);
        return api_err(e, 500, "Key pair generation failed: %s", gnutls_strerror(rc));
    }
    unsigned char blob[1100];
    size_t n = 0;
    blob[n++] = 0, blob[n++] = 0, blob[n++] = 0, blob[n++] = 7;
    memcpy(blob + n, "ssh-rsa", 7);
    n += 7;
    n += put_mpint(blob + n, &ex);
    n += put_mpint(blob + n, &m);
    char b64[1500];
    b64_encode(blob, n, b64);
    snprintf(pub, publen, "ssh-rsa %s Generated-by-Nova", b64);
    fingerprint_of(GNUTLS_DIG_MD5, blob, n, fp, fplen);
    *priv = strndup((const char *)pem.data, pem.size);
    gnutls_free(m.data);
    gnutls_free(ex.data);
    gnutls_free(pem.data);
    if (!*priv)
        return api_err(e, 500, "out of memory");
    return 0;
}
