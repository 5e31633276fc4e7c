/* src/crypto: objects and the server-side TLS session on memory buffers,
 * against an in-process GnuTLS client (pre-shared key, so no certificate
 * has to be made). One scenario per invocation: test-crypto NAME. */
#include "crypto.h"
#include "../check.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/volswap-crypto-test.XXXXXX";
static char keys[sizeof(dir) + 16];

static void cleanup(void)
{
    unlink(keys);
    rmdir(dir);
}

static void make_psk_dir(void)
{
    CHECK(mkdtemp(dir) != NULL);
    snprintf(keys, sizeof(keys), "%s/keys.psk", dir);
    FILE *f = fopen(keys, "w");
    CHECK(f != NULL);
    fprintf(f, "alice:00112233445566778899aabbccddeeff\n");
    fclose(f);
    atexit(cleanup);
}

static struct vs_object *psk_server(const char *id)
{
    struct vs_error err = { 0 };
    struct vs_object_opts o = { .id = id, .kind = VS_OBJ_TLS_PSK, .endpoint = VS_TLS_SERVER,
                                .dir = dir };
    struct vs_object *obj = vs_object_add(&o, &err);
    if (!obj)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(obj != NULL);
    return obj;
}

/* ---- an in-process client, its ciphertext in plain buffers ------------- */

struct client {
    gnutls_session_t g;
    gnutls_psk_client_credentials_t creds;
    uint8_t *in;              /* from the server, not yet read by GnuTLS */
    size_t in_len, in_pos;
    uint8_t *out;             /* to the server */
    size_t out_len;
};

static ssize_t client_push(gnutls_transport_ptr_t p, const void *data, size_t n)
{
    struct client *c = p;
    c->out = realloc(c->out, c->out_len + n);
    memcpy(c->out + c->out_len, data, n);
    c->out_len += n;
    return (ssize_t)n;
}

static ssize_t client_pull(gnutls_transport_ptr_t p, void *data, size_t n)
{
    struct client *c = p;
    if (c->in_pos == c->in_len) {
        gnutls_transport_set_errno(c->g, EAGAIN);
        return -1;
    }
    n = VS_MIN(n, c->in_len - c->in_pos);
    memcpy(data, c->in + c->in_pos, n);
    c->in_pos += n;
    return (ssize_t)n;
}

static void client_init(struct client *c, const char *user, const char *hexkey)
{
    memset(c, 0, sizeof(*c));
    CHECK(gnutls_init(&c->g, GNUTLS_CLIENT | GNUTLS_NONBLOCK) == 0);
    CHECK(gnutls_priority_set_direct(c->g, "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK", NULL) == 0);
    CHECK(gnutls_psk_allocate_client_credentials(&c->creds) == 0);
    gnutls_datum_t key = { (unsigned char *)hexkey, (unsigned)strlen(hexkey) };
    CHECK(gnutls_psk_set_client_credentials(c->creds, user, &key, GNUTLS_PSK_KEY_HEX) == 0);
    CHECK(gnutls_credentials_set(c->g, GNUTLS_CRD_PSK, c->creds) == 0);
    gnutls_transport_set_ptr(c->g, c);
    gnutls_transport_set_push_function(c->g, client_push);
    gnutls_transport_set_pull_function(c->g, client_pull);
}

static void client_free(struct client *c)
{
    gnutls_deinit(c->g);
    gnutls_psk_free_client_credentials(c->creds);
    free(c->in);
    free(c->out);
}

/* Server output to the client, step bytes at a time if step > 0. */
static void server_to_client(struct vs_tls_session *s, struct client *c)
{
    size_t len;
    const uint8_t *p;
    while ((p = vs_tls_out(s, &len)) && len > 0) {
        c->in = realloc(c->in, c->in_len + len);
        memcpy(c->in + c->in_len, p, len);
        c->in_len += len;
        vs_tls_out_sent(s, len);
    }
}

/* Client output to the server, `step` bytes per receive (0: all). */
static void client_to_server(struct client *c, struct vs_tls_session *s, size_t step)
{
    size_t off = 0;
    while (off < c->out_len) {
        size_t space;
        uint8_t *dst = vs_tls_in_space(s, &space);
        size_t n = VS_MIN(c->out_len - off, step ? step : space);
        n = VS_MIN(n, space);
        CHECK(n > 0);
        memcpy(dst, c->out + off, n);
        vs_tls_in_added(s, n);
        off += n;
        if (step && !vs_tls_established(s)) {
            struct vs_error err = { 0 };
            CHECK(vs_tls_handshake(s, &err) >= 0);
        }
    }
    c->out_len = 0;
}

/* Runs both handshakes to the end; the server's result. */
static int handshake(struct client *c, struct vs_tls_session *s, size_t step,
                     struct vs_error *err)
{
    for (int round = 0; round < 20; round++) {
        int cr = gnutls_handshake(c->g);
        CHECK(cr == 0 || cr == GNUTLS_E_AGAIN);
        client_to_server(c, s, step);
        int sr = vs_tls_handshake(s, err);
        server_to_client(s, c);
        if (sr != 0 && cr == 0)
            return sr;
        if (sr < 0)
            return sr;
    }
    return 0;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 131 + seed);
}

/* The client's ciphertext arrives one byte per receive, through the
 * handshake and 256 KiB of data: every partial record is kept, and what
 * the server decrypts (in reads of odd sizes) is what was sent; the
 * server's reply arrives whole at the client. */
static void t_psk_session_one_byte_at_a_time(void)
{
    make_psk_dir();
    struct vs_object *creds = psk_server("psk0");
    struct vs_error err = { 0 };
    struct vs_tls_session *s = vs_tls_session_new(creds, NULL, &err);
    CHECK(s != NULL);
    struct client c;
    client_init(&c, "alice", "00112233445566778899aabbccddeeff");
    CHECK_EQ(handshake(&c, s, 1, &err), 1);
    CHECK(vs_tls_established(s));
    CHECK_STR(vs_tls_peer_identity(s), "alice");

    size_t n = 256 * 1024;
    uint8_t *sent = malloc(n), *got = malloc(n);
    fill(sent, n, 7);
    size_t have = 0;
    for (size_t off = 0; off < n;) {
        ssize_t w = gnutls_record_send(c.g, sent + off, VS_MIN(n - off, (size_t)50000));
        CHECK(w > 0);
        off += (size_t)w;
        client_to_server(&c, s, 1);
        ssize_t r = 0;
        while (have < n && (r = vs_tls_read(s, got + have, VS_MIN((size_t)777, n - have))) > 0)
            have += (size_t)r;
        CHECK(have == n || r == -EAGAIN);
    }
    CHECK_EQ(have, n);
    CHECK(memcmp(sent, got, n) == 0);
    CHECK_EQ(vs_tls_read(s, got, 1), -EAGAIN);

    fill(sent, n, 9);
    vs_tls_cork(s);
    for (size_t off = 0; off < n; off += 4096)
        CHECK_EQ(vs_tls_write(s, sent + off, 4096), 0);
    CHECK_EQ(vs_tls_uncork(s), 0);
    server_to_client(s, &c);
    have = 0;
    while (have < n) {
        ssize_t r = gnutls_record_recv(c.g, got + have, n - have);
        CHECK(r > 0);
        have += (size_t)r;
    }
    CHECK(memcmp(sent, got, n) == 0);
    free(sent);
    free(got);
    client_free(&c);
    vs_tls_session_free(s);
    CHECK_EQ(vs_object_del("psk0", &err), 0);
}

/* What vs_tls_out handed out is a flight: output the session makes
 * meanwhile (more records) lands elsewhere, the flight's bytes stay as they
 * were until reported sent, and the next flight carries the new output. */
static void t_flight_memory_stable_while_output_grows(void)
{
    make_psk_dir();
    struct vs_object *creds = psk_server("psk0");
    struct vs_error err = { 0 };
    struct vs_tls_session *s = vs_tls_session_new(creds, NULL, &err);
    struct client c;
    client_init(&c, "alice", "00112233445566778899aabbccddeeff");
    CHECK_EQ(handshake(&c, s, 0, &err), 1);

    uint8_t data[8192];
    fill(data, sizeof(data), 3);
    CHECK_EQ(vs_tls_write(s, data, sizeof(data)), 0);
    size_t len1;
    const uint8_t *p1 = vs_tls_out(s, &len1);
    CHECK(len1 > sizeof(data));
    uint8_t *copy = malloc(len1);
    memcpy(copy, p1, len1);
    /* A partial send, then much more output: the flight must not move. */
    vs_tls_out_sent(s, 100);
    for (int i = 0; i < 64; i++)
        CHECK_EQ(vs_tls_write(s, data, sizeof(data)), 0);
    CHECK_EQ(vs_tls_out_in_flight(s), len1 - 100);
    size_t rest;
    const uint8_t *p2 = vs_tls_out(s, &rest);
    CHECK(p2 == p1 + 100);
    CHECK_EQ(rest, len1 - 100);
    CHECK(memcmp(p1, copy, len1) == 0);
    vs_tls_out_sent(s, rest);
    CHECK_EQ(vs_tls_out_in_flight(s), 0);
    size_t len3;
    vs_tls_out(s, &len3);
    CHECK(len3 > 64 * sizeof(data));
    free(copy);
    client_free(&c);
    vs_tls_session_free(s);
    vs_object_del("psk0", &err);
}

/* authz-simple names one identity: another PSK user is refused after the
 * handshake, with QEMU's message; a missing authz object refuses all. */
static void t_authz_refuses_other_identity(void)
{
    make_psk_dir();
    FILE *f = fopen(keys, "a");
    fprintf(f, "bob:ffeeddccbbaa99887766554433221100\n");
    fclose(f);
    struct vs_object *creds = psk_server("psk0");
    struct vs_error err = { 0 };
    struct vs_object_opts a = { .id = "az", .kind = VS_OBJ_AUTHZ_SIMPLE, .identity = "bob" };
    CHECK(vs_object_add(&a, &err) != NULL);

    struct vs_tls_session *s = vs_tls_session_new(creds, "az", &err);
    struct client c;
    client_init(&c, "alice", "00112233445566778899aabbccddeeff");
    CHECK_EQ(handshake(&c, s, 0, &err), -1);
    CHECK_STR(err.msg, "TLS PSK authz check for alice is denied");
    client_free(&c);
    vs_tls_session_free(s);

    memset(&err, 0, sizeof(err));
    s = vs_tls_session_new(creds, "az", &err);
    client_init(&c, "bob", "ffeeddccbbaa99887766554433221100");
    CHECK_EQ(handshake(&c, s, 0, &err), 1);
    client_free(&c);
    vs_tls_session_free(s);

    memset(&err, 0, sizeof(err));
    s = vs_tls_session_new(creds, "nosuch", &err);
    client_init(&c, "bob", "ffeeddccbbaa99887766554433221100");
    CHECK_EQ(handshake(&c, s, 0, &err), -1);
    CHECK_STR(err.msg, "Cannot find QAuthZ object ID nosuch");
    client_free(&c);
    vs_tls_session_free(s);
    vs_object_del("az", &err);
    vs_object_del("psk0", &err);
}

/* object-del takes the object out of the namespace at once; whoever holds
 * a reference (a running server, a session) keeps using it, and the last
 * reference frees it (ASan would report a leak or a use after free). */
static void t_object_del_keeps_referenced_object(void)
{
    make_psk_dir();
    struct vs_object *creds = psk_server("psk0");
    struct vs_error err = { 0 };
    vs_object_ref(creds);
    CHECK_EQ(vs_object_del("psk0", &err), 0);
    CHECK(vs_object_find("psk0") == NULL);
    CHECK_STR(creds->id, "psk0");
    struct vs_tls_session *s = vs_tls_session_new(creds, NULL, &err);
    CHECK(s != NULL);
    vs_object_unref(creds);
    struct client c;
    client_init(&c, "alice", "00112233445566778899aabbccddeeff");
    CHECK_EQ(handshake(&c, s, 0, &err), 1);
    client_free(&c);
    vs_tls_session_free(s);
    CHECK_EQ(vs_object_del("psk0", &err), -1);
    CHECK_STR(err.msg, "object 'psk0' not found");
}

/* The lookups the NBD server and nbd nodes make, with QEMU's errors. */
static void t_creds_lookup_errors(void)
{
    make_psk_dir();
    struct vs_error err = { 0 };
    psk_server("psk0");
    struct vs_object_opts a = { .id = "az", .kind = VS_OBJ_AUTHZ_SIMPLE, .identity = "x" };
    CHECK(vs_object_add(&a, &err) != NULL);
    CHECK(vs_tls_creds_lookup("psk0", VS_TLS_SERVER, &err) != NULL);
    CHECK(vs_tls_creds_lookup("nope", VS_TLS_SERVER, &err) == NULL);
    CHECK_STR(err.msg, "No TLS credentials with id 'nope'");
    memset(&err, 0, sizeof(err));
    CHECK(vs_tls_creds_lookup("az", VS_TLS_SERVER, &err) == NULL);
    CHECK_STR(err.msg, "Object with id 'az' is not TLS credentials");
    memset(&err, 0, sizeof(err));
    CHECK(vs_tls_creds_lookup("psk0", VS_TLS_CLIENT, &err) == NULL);
    CHECK_STR(err.msg, "Expected TLS credentials for a client endpoint");
    memset(&err, 0, sizeof(err));
    CHECK(vs_object_add(&a, &err) == NULL);
    CHECK_STR(err.msg, "attempt to add duplicate property 'az' to object (type 'container')");
    vs_object_del("az", &err);
    vs_object_del("psk0", &err);
}

/* Missing files are found when the object is added, named as QEMU names
 * them; a client's PSK username must be in the file. */
static void t_missing_files_refused_at_add(void)
{
    make_psk_dir();
    struct vs_error err = { 0 };
    struct vs_object_opts x = { .id = "x", .kind = VS_OBJ_TLS_X509, .endpoint = VS_TLS_SERVER,
                                .dir = dir };
    CHECK(vs_object_add(&x, &err) == NULL);
    char want[512];
    snprintf(want, sizeof(want), "Unable to access credentials %s/ca-cert.pem: "
             "No such file or directory", dir);
    CHECK_STR(err.msg, want);
    memset(&err, 0, sizeof(err));
    struct vs_object_opts p = { .id = "p", .kind = VS_OBJ_TLS_PSK, .endpoint = VS_TLS_CLIENT,
                                .dir = dir, .username = "bob" };
    CHECK(vs_object_add(&p, &err) == NULL);
    snprintf(want, sizeof(want), "Username bob not found in PSK file %s", keys);
    CHECK_STR(err.msg, want);
    memset(&err, 0, sizeof(err));
    struct vs_object_opts nodir = { .id = "n", .kind = VS_OBJ_TLS_PSK };
    CHECK(vs_object_add(&nodir, &err) == NULL);
    CHECK_STR(err.msg, "Missing 'dir' property value");
    CHECK(vs_object_next(NULL) == NULL);
}

static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
    { "psk-session-one-byte-at-a-time", t_psk_session_one_byte_at_a_time },
    { "flight-memory-stable-while-output-grows", t_flight_memory_stable_while_output_grows },
    { "authz-refuses-other-identity", t_authz_refuses_other_identity },
    { "object-del-keeps-referenced-object", t_object_del_keeps_referenced_object },
    { "creds-lookup-errors", t_creds_lookup_errors },
    { "missing-files-refused-at-add", t_missing_files_refused_at_add },
};

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    for (size_t i = 0; i < VS_ARRAY_SIZE(tests); i++) {
        if (strcmp(argv[1], tests[i].name) == 0) {
            tests[i].fn();
            return 0;
        }
    }
    fprintf(stderr, "unknown test %s\n", argv[1]);
    return 2;
}
