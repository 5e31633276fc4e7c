/* The public face of src/crypto: TLS credentials and authorization objects
 * (QEMU's tls-creds-x509, tls-creds-psk and authz-simple, added with
 * object-add or --object), and a TLS session that works on memory buffers
 * so that its owner keeps doing the socket I/O on the event loop.
 *
 * Why memory buffers: the NBD server moves bytes with io_uring and never
 * blocks. GnuTLS is given push/pull functions that only append ciphertext
 * to an output buffer and take it from an input buffer, so a session never
 * touches the socket; the connection receives ciphertext into
 * vs_tls_in_space(), sends what vs_tls_out() holds, and in between asks
 * for plaintext (vs_tls_read) or hands plaintext over (vs_tls_write). A
 * handshake or a read that needs more ciphertext says so (-EAGAIN) instead
 * of waiting for it.
 *
 * Objects live in one namespace of ids, as QEMU's /objects container.
 * They are reference counted as QEMU's are: object-del takes an object out
 * of the namespace at once, and whoever uses it (the NBD server, a TLS
 * session) keeps it alive until done, as with qemu-storage-daemon, where
 * deleting credentials a running server uses succeeds and the server goes
 * on with them. */
#ifndef VOLSWAP_CRYPTO_H
#define VOLSWAP_CRYPTO_H

#include "common.h"

#include <sys/types.h>

enum vs_tls_endpoint { VS_TLS_CLIENT, VS_TLS_SERVER };
enum vs_object_kind { VS_OBJ_TLS_X509, VS_OBJ_TLS_PSK, VS_OBJ_AUTHZ_SIMPLE };

struct vs_object {
    char *id;
    enum vs_object_kind kind;
    unsigned refs;             /* the namespace's, and each user's */
    /* TLS credentials */
    enum vs_tls_endpoint endpoint;
    char *dir;
    bool verify_peer;
    bool sanity_check;         /* x509 server: own certificate checked at add */
    char *username;            /* tls-creds-psk: the client's identity */
    char *priority;            /* GnuTLS priority string; NULL: the default */
    void *gnutls_creds;        /* loaded credentials (server endpoints) */
    void *gnutls_dh;           /* dh-params.pem, when given (x509 server) */
    /* authz-simple */
    char *identity;
    struct vs_list link;
};

/* QEMU's names for the kinds ("tls-creds-x509", ...). */
const char *vs_object_kind_name(enum vs_object_kind kind);

struct vs_object_opts {
    const char *id;
    enum vs_object_kind kind;
    enum vs_tls_endpoint endpoint;
    const char *dir;
    bool verify_peer;
    bool sanity_check;
    const char *username;
    const char *priority;
    const char *identity;
};

/* Creates the object and loads its files (a server's certificate and key,
 * the CA, the PSK file), so a broken directory is refused here and not at
 * a client's first connection. */
struct vs_object *vs_object_add(const struct vs_object_opts *o, struct vs_error *err);
int vs_object_del(const char *id, struct vs_error *err);
struct vs_object *vs_object_find(const char *id);
/* QEMU's object ids: a letter, then letters, digits, '-', '.' or '_'. */
bool vs_object_id_valid(const char *id);
struct vs_object *vs_object_ref(struct vs_object *o);
void vs_object_unref(struct vs_object *o);
struct vs_object *vs_object_next(struct vs_object *prev);
/* object-del of every object (tests, fuzzing). */
void vs_object_del_all(void);

/* The TLS credentials named `id` for the given endpoint, with QEMU's
 * errors for a missing object, an object of another type and the wrong
 * endpoint. */
struct vs_object *vs_tls_creds_lookup(const char *id, enum vs_tls_endpoint endpoint,
                                      struct vs_error *err);


/* Why a certificate failed verification, from GnuTLS's status bits, in
 * QEMU's words (object-add's sanity check and a client's certificate). */
const char *vs_tls_cert_problem(unsigned status);

/* ---- sessions (server side) -------------------------------------------- */

struct vs_tls_session;

/* authz_id: the authz object that must allow the client, looked up by id
 * when the handshake is done (as QEMU does, per connection); NULL: none. */
struct vs_tls_session *vs_tls_session_new(struct vs_object *creds, const char *authz_id,
                                          struct vs_error *err);
void vs_tls_session_free(struct vs_tls_session *s);

/* Ciphertext in: where to receive, and how much was received there. A full
 * input buffer (len 0) means the plaintext side must be read first. */
uint8_t *vs_tls_in_space(struct vs_tls_session *s, size_t *len);
void vs_tls_in_added(struct vs_tls_session *s, size_t n);
/* Ciphertext that arrived before the session existed (after STARTTLS, in
 * the plaintext buffer). Returns false if it does not fit. */
bool vs_tls_in_put(struct vs_tls_session *s, const void *p, size_t n);

/* Runs the handshake as far as the buffered input allows: 1 when it is
 * done (and the peer passed verification and authorization), 0 when it
 * needs more input, -1 with err set when it failed (an alert for the peer
 * may be waiting in the output). */
int vs_tls_handshake(struct vs_tls_session *s, struct vs_error *err);
bool vs_tls_established(const struct vs_tls_session *s);

/* Plaintext out of the buffered input: bytes (> 0), -EAGAIN when a whole
 * record has not arrived yet, 0 at the peer's close_notify, -EIO on a
 * broken or forged record. */
ssize_t vs_tls_read(struct vs_tls_session *s, void *buf, size_t n);
/* Plaintext in: encrypted onto the output. Several writes between cork
 * and uncork share records (many small replies, few records). */
int vs_tls_write(struct vs_tls_session *s, const void *buf, size_t n);
void vs_tls_cork(struct vs_tls_session *s);
int vs_tls_uncork(struct vs_tls_session *s);

/* Ciphertext out: what is waiting to be sent, and how much of it went.
 * What vs_tls_out returns is a flight: the session leaves that memory
 * alone (new output collects elsewhere) until all of it was reported sent.
 * vs_tls_out_in_flight is what is left of the current flight (0: the next
 * vs_tls_out starts a new one with everything output since). */
const uint8_t *vs_tls_out(struct vs_tls_session *s, size_t *len);
size_t vs_tls_out_in_flight(const struct vs_tls_session *s);
void vs_tls_out_sent(struct vs_tls_session *s, size_t n);

/* Human-readable peer identity once established: the client certificate's
 * distinguished name or the PSK username; NULL if none. */
const char *vs_tls_peer_identity(const struct vs_tls_session *s);

#endif
