/* A server-side TLS session on memory buffers (see crypto.h for why).
 *
 * Input: ciphertext is received into `in`; GnuTLS's pull function takes
 * from it and reports EAGAIN when it is empty, so a handshake step or a
 * record read returns GNUTLS_E_AGAIN instead of blocking.
 *
 * Output: GnuTLS's push function appends to `out`. The owner sends from a
 * second buffer, `flight`: vs_tls_out() moves what `out` holds into
 * `flight` only once the previous flight has gone. GnuTLS may push at any
 * time — a handshake step, a TLS 1.3 key update answered during a read —
 * and must never move memory a send in the kernel still points into. */
#include "crypto.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdlib.h>
#include <string.h>

#define TLS_IN_SIZE (256u * 1024)

struct buf {
    uint8_t *p;
    size_t pos, len, cap;
};

struct vs_tls_session {
    gnutls_session_t g;
    struct vs_object *creds;
    char *authz_id;
    uint8_t *in;
    size_t in_pos, in_len;
    struct buf out, flight;
    bool established;
    char *peer;
};

static void buf_append(struct buf *b, const void *p, size_t n)
{
    if (b->pos == b->len)
        b->pos = b->len = 0;
    if (b->len + n > b->cap) {
        if (b->pos > 0) {
            memmove(b->p, b->p + b->pos, b->len - b->pos);
            b->len -= b->pos;
            b->pos = 0;
        }
        size_t cap = b->cap ? b->cap : 64 * 1024;
        while (cap < b->len + n)
            cap *= 2;
        if (cap != b->cap) {
            b->p = vs_realloc(b->p, cap);
            b->cap = cap;
        }
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static ssize_t push(gnutls_transport_ptr_t ptr, const void *data, size_t n)
{
    struct vs_tls_session *s = ptr;
    buf_append(&s->out, data, n);
    return (ssize_t)n;
}

static ssize_t pull(gnutls_transport_ptr_t ptr, void *data, size_t n)
{
    struct vs_tls_session *s = ptr;
    size_t avail = s->in_len - s->in_pos;
    if (avail == 0) {
        gnutls_transport_set_errno(s->g, EAGAIN);
        return -1;
    }
    n = VS_MIN(n, avail);
    memcpy(data, s->in + s->in_pos, n);
    s->in_pos += n;
    if (s->in_pos == s->in_len)
        s->in_pos = s->in_len = 0;
    return (ssize_t)n;
}

/* QEMU's default priorities: GnuTLS's NORMAL, plus the PSK key exchanges
 * when the credentials are a pre-shared key. */
#define PRIORITY_DEFAULT "NORMAL"
#define PRIORITY_PSK_EXTRA ":+ECDHE-PSK:+DHE-PSK:+PSK"

struct vs_tls_session *vs_tls_session_new(struct vs_object *creds, const char *authz_id,
                                          struct vs_error *err)
{
    struct vs_tls_session *s = vs_zalloc(sizeof(*s));
    int r = gnutls_init(&s->g, GNUTLS_SERVER | GNUTLS_NONBLOCK);
    if (r < 0) {
        vs_error_set(err, VS_ERR_GENERIC, "Cannot initialize TLS session: %s", gnutls_strerror(r));
        free(s);
        return NULL;
    }
    char *prio = vs_strdup_printf("%s%s", creds->priority ? creds->priority : PRIORITY_DEFAULT,
                                  creds->kind == VS_OBJ_TLS_PSK ? PRIORITY_PSK_EXTRA : "");
    const char *errpos = NULL;
    r = gnutls_priority_set_direct(s->g, prio, &errpos);
    if (r >= 0) {
        if (creds->kind == VS_OBJ_TLS_X509) {
            r = gnutls_credentials_set(s->g, GNUTLS_CRD_CERTIFICATE, creds->gnutls_creds);
            if (r >= 0 && creds->verify_peer)
                gnutls_certificate_server_set_request(s->g, GNUTLS_CERT_REQUEST);
        } else {
            r = gnutls_credentials_set(s->g, GNUTLS_CRD_PSK, creds->gnutls_creds);
        }
    }
    if (r < 0) {
        vs_error_set(err, VS_ERR_GENERIC, "Cannot set TLS session priority '%s' or credentials: %s",
                     prio, gnutls_strerror(r));
        free(prio);
        gnutls_deinit(s->g);
        free(s);
        return NULL;
    }
    free(prio);
    gnutls_transport_set_ptr(s->g, s);
    gnutls_transport_set_push_function(s->g, push);
    gnutls_transport_set_pull_function(s->g, pull);
    s->in = vs_malloc(TLS_IN_SIZE);
    s->creds = vs_object_ref(creds);
    s->authz_id = authz_id ? vs_strdup(authz_id) : NULL;
    return s;
}

void vs_tls_session_free(struct vs_tls_session *s)
{
    if (!s)
        return;
    gnutls_deinit(s->g);
    vs_object_unref(s->creds);
    free(s->authz_id);
    free(s->in);
    free(s->out.p);
    free(s->flight.p);
    free(s->peer);
    free(s);
}

uint8_t *vs_tls_in_space(struct vs_tls_session *s, size_t *len)
{
    if (s->in_pos > 0) {
        memmove(s->in, s->in + s->in_pos, s->in_len - s->in_pos);
        s->in_len -= s->in_pos;
        s->in_pos = 0;
    }
    *len = TLS_IN_SIZE - s->in_len;
    return s->in + s->in_len;
}

void vs_tls_in_added(struct vs_tls_session *s, size_t n)
{
    s->in_len += n;
}

bool vs_tls_in_put(struct vs_tls_session *s, const void *p, size_t n)
{
    size_t space;
    uint8_t *dst = vs_tls_in_space(s, &space);
    if (n > space)
        return false;
    memcpy(dst, p, n);
    s->in_len += n;
    return true;
}

const char *vs_tls_cert_problem(unsigned status)
{
    if (status & GNUTLS_CERT_REVOKED)
        return "The certificate has been revoked";
    if (status & GNUTLS_CERT_SIGNER_NOT_FOUND)
        return "The certificate hasn't got a known issuer";
    if (status & GNUTLS_CERT_SIGNER_NOT_CA)
        return "The certificate issuer is not a CA";
    if (status & GNUTLS_CERT_INSECURE_ALGORITHM)
        return "The certificate uses an insecure algorithm";
    if (status & GNUTLS_CERT_EXPIRED)
        return "The certificate has expired";
    if (status & GNUTLS_CERT_NOT_ACTIVATED)
        return "The certificate is not yet activated";
    return "The certificate is not trusted";
}

/* The client's identity for authz: its certificate's distinguished name
 * (GnuTLS's rendering, RDNs in certificate order: "O=Org,CN=client", as
 * QEMU compares it) or its PSK username. */
static void note_peer(struct vs_tls_session *s)
{
    if (s->creds->kind == VS_OBJ_TLS_PSK) {
        const char *user = gnutls_psk_server_get_username(s->g);
        if (user)
            s->peer = vs_strdup(user);
        return;
    }
    unsigned n = 0;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers(s->g, &n);
    gnutls_x509_crt_t crt;
    if (!certs || n == 0 || gnutls_x509_crt_init(&crt) < 0)
        return;
    char dn[1024];
    size_t len = sizeof(dn);
    if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0 &&
        gnutls_x509_crt_get_dn(crt, dn, &len) == 0)
        s->peer = vs_strdup(dn);
    gnutls_x509_crt_deinit(crt);
}

/* QEMU's checks once the handshake is done. With x509 and verify-peer
 * (the default) the client must have presented a certificate that chains
 * to the CA, is in its validity period and is not revoked; then, if the
 * server names an authz object, the certificate's DN must be its
 * identity. Without verify-peer neither is checked (nor is authz, as in
 * QEMU). With a PSK the handshake itself proved the key; authz then
 * compares the username. */
static int check_peer(struct vs_tls_session *s, struct vs_error *err)
{
    note_peer(s);
    if (s->creds->kind == VS_OBJ_TLS_X509) {
        if (!s->creds->verify_peer)
            return 0;
        unsigned status = 0;
        int r = gnutls_certificate_verify_peers2(s->g, &status);
        if (r < 0) {
            vs_error_set(err, VS_ERR_GENERIC, "Verify failed: %s", gnutls_strerror(r));
            return -1;
        }
        if (status) {
            vs_error_set(err, VS_ERR_GENERIC, "%s", vs_tls_cert_problem(status));
            return -1;
        }
        if (!s->peer) {
            vs_error_set(err, VS_ERR_GENERIC, "The certificate cannot be parsed");
            return -1;
        }
    }
    if (!s->authz_id)
        return 0;
    struct vs_object *authz = vs_object_find(s->authz_id);
    if (!authz) {
        vs_error_set(err, VS_ERR_GENERIC, "Cannot find QAuthZ object ID %s", s->authz_id);
        return -1;
    }
    if (authz->kind != VS_OBJ_AUTHZ_SIMPLE) {
        vs_error_set(err, VS_ERR_GENERIC, "Object '%s' is not a QAuthZ subclass", s->authz_id);
        return -1;
    }
    if (!s->peer || strcmp(s->peer, authz->identity) != 0) {
        vs_error_set(err, VS_ERR_GENERIC, "TLS %s authz check for %s is denied",
                     s->creds->kind == VS_OBJ_TLS_X509 ? "x509" : "PSK",
                     s->peer ? s->peer : "(no identity)");
        return -1;
    }
    return 0;
}

int vs_tls_handshake(struct vs_tls_session *s, struct vs_error *err)
{
    if (s->established)
        return 1;
    int r;
    do {
        r = gnutls_handshake(s->g);
    } while (r < 0 && r != GNUTLS_E_AGAIN && !gnutls_error_is_fatal(r));
    if (r == GNUTLS_E_AGAIN)
        return 0;
    if (r < 0) {
        vs_error_set(err, VS_ERR_GENERIC, "TLS handshake failed: %s", gnutls_strerror(r));
        return -1;
    }
    if (check_peer(s, err) < 0) {
        gnutls_alert_send(s->g, GNUTLS_AL_FATAL, GNUTLS_A_ACCESS_DENIED);
        return -1;
    }
    s->established = true;
    return 1;
}

bool vs_tls_established(const struct vs_tls_session *s)
{
    return s->established;
}

ssize_t vs_tls_read(struct vs_tls_session *s, void *buf, size_t n)
{
    /* Non-fatal codes (a warning alert, a renegotiation request we do not
     * honour) are skipped; a bounded number of them, so a peer sending only
     * those cannot keep us here. */
    for (int tries = 0; tries < 64; tries++) {
        ssize_t r = gnutls_record_recv(s->g, buf, n);
        if (r >= 0)
            return r;
        if (r == GNUTLS_E_AGAIN)
            return -EAGAIN;
        if (gnutls_error_is_fatal((int)r))
            return -EIO;
    }
    return -EIO;
}

int vs_tls_write(struct vs_tls_session *s, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = gnutls_record_send(s->g, p, n);
        if (r < 0) {
            if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
                continue; /* our push never fails: cannot repeat forever */
            return -EIO;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

void vs_tls_cork(struct vs_tls_session *s)
{
    gnutls_record_cork(s->g);
}

int vs_tls_uncork(struct vs_tls_session *s)
{
    int r;
    do {
        r = gnutls_record_uncork(s->g, GNUTLS_RECORD_WAIT);
    } while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
    return r < 0 ? -EIO : 0;
}

const uint8_t *vs_tls_out(struct vs_tls_session *s, size_t *len)
{
    if (s->flight.pos == s->flight.len && s->out.pos < s->out.len) {
        struct buf t = s->flight;
        s->flight = s->out;
        s->out = t;
        s->out.pos = s->out.len = 0;
    }
    *len = s->flight.len - s->flight.pos;
    return *len ? s->flight.p + s->flight.pos : NULL; /* nothing yet: p may be NULL */
}

size_t vs_tls_out_in_flight(const struct vs_tls_session *s)
{
    return s->flight.len - s->flight.pos;
}

void vs_tls_out_sent(struct vs_tls_session *s, size_t n)
{
    s->flight.pos += n;
    if (s->flight.pos == s->flight.len)
        s->flight.pos = s->flight.len = 0;
}

const char *vs_tls_peer_identity(const struct vs_tls_session *s)
{
    return s->peer;
}
