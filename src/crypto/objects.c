/* The objects of object-add: TLS credentials (x509 certificates or a
 * pre-shared key file, in the directory layout QEMU reads) and
 * authz-simple, in one namespace of ids.
 *
 * Credentials for a server endpoint are loaded into GnuTLS when they are
 * added, so a missing or unreadable file is the object-add's error. Client
 * endpoints are used by the nbd block driver through libnbd, which reads
 * the same directory itself; here they are only checked for the files
 * libnbd will need. */
#include "crypto.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct vs_list objects = VS_LIST_INIT(objects);

const char *vs_object_kind_name(enum vs_object_kind kind)
{
    switch (kind) {
    case VS_OBJ_TLS_X509: return "tls-creds-x509";
    case VS_OBJ_TLS_PSK: return "tls-creds-psk";
    case VS_OBJ_AUTHZ_SIMPLE: return "authz-simple";
    }
    return "?";
}

/* Atomic: a TLS session holds a reference on the loop of its connection,
 * which may not be the loop that made the object (and the last one to
 * let go frees it; nothing else of the object changes after it is made). */
struct vs_object *vs_object_ref(struct vs_object *o)
{
    __atomic_fetch_add(&o->refs, 1, __ATOMIC_RELAXED);
    return o;
}

static void free_object(struct vs_object *o);

void vs_object_unref(struct vs_object *o)
{
    if (o && __atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free_object(o);
}

struct vs_object *vs_object_next(struct vs_object *prev)
{
    struct vs_list *l = prev ? prev->link.next : objects.next;
    return l == &objects ? NULL : vs_list_entry(l, struct vs_object, link);
}

struct vs_object *vs_object_find(const char *id)
{
    for (struct vs_object *o = vs_object_next(NULL); o; o = vs_object_next(o))
        if (strcmp(o->id, id) == 0)
            return o;
    return NULL;
}

/* QEMU's file names inside a credentials directory. */
#define X509_CA_CERT     "ca-cert.pem"
#define X509_CA_CRL      "ca-crl.pem"
#define X509_SERVER_CERT "server-cert.pem"
#define X509_SERVER_KEY  "server-key.pem"
#define X509_CLIENT_CERT "client-cert.pem"
#define X509_CLIENT_KEY  "client-key.pem"
#define X509_DH_PARAMS   "dh-params.pem"
#define PSK_KEYS         "keys.psk"

/* dir/name when the file is there. A required file that is missing is
 * QEMU's "Unable to access credentials"; an optional one is just absent
 * (NULL, no error). */
static char *creds_path(const struct vs_object *o, const char *name, bool required,
                        struct vs_error *err)
{
    char *path = vs_strdup_printf("%s/%s", o->dir, name);
    if (access(path, R_OK) == 0)
        return path;
    if (required || errno != ENOENT)
        vs_error_set(err, VS_ERR_GENERIC, "Unable to access credentials %s: %s", path,
                     strerror(errno));
    free(path);
    return NULL;
}

static int gnutls_failed(struct vs_error *err, const char *what, const char *path, int r)
{
    vs_error_set(err, VS_ERR_GENERIC, "Cannot load %s %s: %s", what, path,
                 gnutls_strerror(r));
    return -1;
}

/* Basic constraints and key usage of one certificate, checked as QEMU
 * checks them: a CA must be one and may sign certificates; the server's
 * own must not be a CA, and a critical key usage must allow digital
 * signatures and key encipherment. */
static int check_cert_use(gnutls_x509_crt_t crt, const char *path, bool is_ca,
                          struct vs_error *err)
{
    unsigned critical = 0;
    int ca = gnutls_x509_crt_get_basic_constraints(crt, &critical, NULL, NULL);
    if (is_ca && ca <= 0) {
        vs_error_set(err, VS_ERR_GENERIC, "The certificate %s basic constraints do not show a CA",
                     path);
        return -1;
    }
    if (!is_ca && ca > 0) {
        vs_error_set(err, VS_ERR_GENERIC, "The certificate %s basic constraints show a CA, "
                     "but we need one for a server", path);
        return -1;
    }
    unsigned usage = 0;
    critical = 0;
    if (gnutls_x509_crt_get_key_usage(crt, &usage, &critical) < 0 || !critical)
        return 0; /* absent or advisory */
    if (is_ca && !(usage & GNUTLS_KEY_KEY_CERT_SIGN)) {
        vs_error_set(err, VS_ERR_GENERIC, "Certificate %s usage does not permit certificate signing",
                     path);
        return -1;
    }
    if (!is_ca && !(usage & GNUTLS_KEY_DIGITAL_SIGNATURE)) {
        vs_error_set(err, VS_ERR_GENERIC, "Certificate %s usage does not permit digital signature",
                     path);
        return -1;
    }
    if (!is_ca && !(usage & GNUTLS_KEY_KEY_ENCIPHERMENT)) {
        vs_error_set(err, VS_ERR_GENERIC, "Certificate %s usage does not permit key encipherment",
                     path);
        return -1;
    }
    return 0;
}

/* QEMU's sanity-check of a server's credentials, so that a wrong file is
 * found at object-add rather than by every client, in QEMU's order: both
 * files import, the server's certificate and the CAs have the right
 * constraints and usage, and the certificate chains to a CA. */
static int sanity_check(const char *cert_path, const char *ca_path, struct vs_error *err)
{
    gnutls_datum_t cert_data = { 0 }, ca_data = { 0 };
    gnutls_x509_crt_t cert = NULL, *cas = NULL;
    unsigned ncas = 0, status = 0;
    int ret = -1, r;
    if ((r = gnutls_load_file(cert_path, &cert_data)) < 0 ||
        (r = gnutls_x509_crt_init(&cert)) < 0 ||
        (r = gnutls_x509_crt_import(cert, &cert_data, GNUTLS_X509_FMT_PEM)) < 0) {
        vs_error_set(err, VS_ERR_GENERIC, "Unable to import server certificate %s: %s",
                     cert_path, gnutls_strerror(r));
        goto out;
    }
    if ((r = gnutls_load_file(ca_path, &ca_data)) < 0 ||
        (r = gnutls_x509_crt_list_import2(&cas, &ncas, &ca_data, GNUTLS_X509_FMT_PEM, 0)) < 0) {
        vs_error_set(err, VS_ERR_GENERIC, "Unable to import CA certificate list %s: %s",
                     ca_path, gnutls_strerror(r));
        goto out;
    }
    if (check_cert_use(cert, cert_path, false, err) < 0)
        goto out;
    for (unsigned i = 0; i < ncas; i++)
        if (check_cert_use(cas[i], ca_path, true, err) < 0)
            goto out;
    r = gnutls_x509_crt_list_verify(&cert, 1, cas, ncas, NULL, 0, 0, &status);
    if (r < 0 || status) {
        const char *why = r < 0 ? gnutls_strerror(r) : vs_tls_cert_problem(status);
        vs_error_set(err, VS_ERR_GENERIC, "Our own certificate %s failed validation against %s: %s",
                     cert_path, ca_path, why);
        goto out;
    }
    ret = 0;
out:
    if (cert)
        gnutls_x509_crt_deinit(cert);
    for (unsigned i = 0; i < ncas; i++)
        gnutls_x509_crt_deinit(cas[i]);
    gnutls_free(cas);
    gnutls_free(cert_data.data);
    gnutls_free(ca_data.data);
    return ret;
}

/* dh-params.pem (PKCS#3) into o->gnutls_dh. */
static int load_dh_params(struct vs_object *o, const char *path, struct vs_error *err)
{
    gnutls_dh_params_t params;
    gnutls_datum_t data = { 0 };
    int r = gnutls_dh_params_init(&params);
    if (r < 0)
        return gnutls_failed(err, "DH parameters", path, r);
    if ((r = gnutls_load_file(path, &data)) < 0 ||
        (r = gnutls_dh_params_import_pkcs3(params, &data, GNUTLS_X509_FMT_PEM)) < 0) {
        gnutls_free(data.data);
        gnutls_dh_params_deinit(params);
        return gnutls_failed(err, "DH parameters", path, r);
    }
    gnutls_free(data.data);
    o->gnutls_dh = params;
    return 0;
}

static int load_x509(struct vs_object *o, struct vs_error *err)
{
    bool server = o->endpoint == VS_TLS_SERVER;
    char *ca = NULL, *crl = NULL, *cert = NULL, *key = NULL, *dh = NULL;
    int ret = -1;
    /* Every file is looked up first, so the error names the first one
     * missing, in QEMU's order. */
    struct vs_error e = { 0 };
    ca = creds_path(o, X509_CA_CERT, true, &e);
    if (ca && !e.set)
        crl = creds_path(o, X509_CA_CRL, false, &e);
    if (!e.set)
        cert = creds_path(o, server ? X509_SERVER_CERT : X509_CLIENT_CERT, server, &e);
    if (!e.set)
        key = creds_path(o, server ? X509_SERVER_KEY : X509_CLIENT_KEY, server, &e);
    if (!e.set && server)
        dh = creds_path(o, X509_DH_PARAMS, false, &e);
    if (e.set) {
        if (err)
            *err = e;
        goto out;
    }
    if (!server) {
        /* libnbd loads them; a client certificate without its key (or the
         * other way round) would fail there with a vaguer message. */
        if (!cert != !key) {
            vs_error_set(err, VS_ERR_GENERIC, "Unable to access credentials %s/%s: %s",
                         o->dir, cert ? X509_CLIENT_KEY : X509_CLIENT_CERT, strerror(ENOENT));
            goto out;
        }
        ret = 0;
        goto out;
    }
    if (o->sanity_check && sanity_check(cert, ca, err) < 0)
        goto out;
    gnutls_certificate_credentials_t c;
    int r = gnutls_certificate_allocate_credentials(&c);
    if (r < 0) {
        gnutls_failed(err, "credentials", o->dir, r);
        goto out;
    }
    if ((r = gnutls_certificate_set_x509_trust_file(c, ca, GNUTLS_X509_FMT_PEM)) < 0) {
        gnutls_failed(err, "CA certificate", ca, r);
        goto fail;
    }
    if (crl && (r = gnutls_certificate_set_x509_crl_file(c, crl, GNUTLS_X509_FMT_PEM)) < 0) {
        gnutls_failed(err, "CA revocation list", crl, r);
        goto fail;
    }
    if ((r = gnutls_certificate_set_x509_key_file(c, cert, key, GNUTLS_X509_FMT_PEM)) < 0) {
        vs_error_set(err, VS_ERR_GENERIC, "Cannot load certificate '%s' & key '%s': %s", cert, key,
                     gnutls_strerror(r));
        goto fail;
    }
    if (dh) {
        if (load_dh_params(o, dh, err) < 0)
            goto fail;
        /* The credentials point at the parameters: the object frees them
         * after the credentials (free_object). */
        gnutls_certificate_set_dh_params(c, o->gnutls_dh);
    } else {
        /* No DH file: GnuTLS's well-known groups (RFC 7919), not a
         * parameter generation that takes seconds. */
        gnutls_certificate_set_known_dh_params(c, GNUTLS_SEC_PARAM_MEDIUM);
    }
    o->gnutls_creds = c;
    ret = 0;
    goto out;
fail:
    gnutls_certificate_free_credentials(c);
out:
    free(ca);
    free(crl);
    free(cert);
    free(key);
    free(dh);
    return ret;
}

/* Finds USER's line in a keys.psk file ("user:hexkey" per line). */
static bool psk_has_user(const char *path, const char *user)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[1024];
    size_t ul = strlen(user);
    bool found = false;
    while (!found && fgets(line, sizeof(line), f))
        found = strncmp(line, user, ul) == 0 && line[ul] == ':';
    fclose(f);
    return found;
}

static int load_psk(struct vs_object *o, struct vs_error *err)
{
    char *path = creds_path(o, PSK_KEYS, true, err);
    if (!path)
        return -1;
    int ret = -1;
    if (o->endpoint == VS_TLS_CLIENT) {
        const char *user = o->username ? o->username : "qemu";
        if (!psk_has_user(path, user))
            vs_error_set(err, VS_ERR_GENERIC, "Username %s not found in PSK file %s", user, path);
        else
            ret = 0;
        free(path);
        return ret;
    }
    gnutls_psk_server_credentials_t c;
    int r = gnutls_psk_allocate_server_credentials(&c);
    if (r < 0) {
        gnutls_failed(err, "credentials", o->dir, r);
    } else if ((r = gnutls_psk_set_server_credentials_file(c, path)) < 0) {
        gnutls_failed(err, "pre-shared key file", path, r);
        gnutls_psk_free_server_credentials(c);
    } else {
        gnutls_psk_set_server_known_dh_params(c, GNUTLS_SEC_PARAM_MEDIUM);
        o->gnutls_creds = c;
        ret = 0;
    }
    free(path);
    return ret;
}

static void free_object(struct vs_object *o)
{
    if (o->gnutls_creds) {
        if (o->kind == VS_OBJ_TLS_X509)
            gnutls_certificate_free_credentials(o->gnutls_creds);
        else
            gnutls_psk_free_server_credentials(o->gnutls_creds);
    }
    if (o->gnutls_dh)
        gnutls_dh_params_deinit(o->gnutls_dh);
    free(o->id);
    free(o->dir);
    free(o->username);
    free(o->priority);
    free(o->identity);
    free(o);
}

/* QEMU's object ids: a letter first, then letters, digits, '-', '.', '_'. */
bool vs_object_id_valid(const char *id)
{
    if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z')))
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_'))
            return false;
    return true;
}

struct vs_object *vs_object_add(const struct vs_object_opts *opts, struct vs_error *err)
{
    if (!vs_object_id_valid(opts->id)) {
        vs_error_set(err, VS_ERR_GENERIC, "Parameter 'id' expects an identifier");
        return NULL;
    }
    if (vs_object_find(opts->id)) {
        vs_error_set(err, VS_ERR_GENERIC, "attempt to add duplicate property '%s' to object "
                     "(type 'container')", opts->id);
        return NULL;
    }
    struct vs_object *o = vs_zalloc(sizeof(*o));
    o->id = vs_strdup(opts->id);
    o->kind = opts->kind;
    o->endpoint = opts->endpoint;
    o->verify_peer = opts->verify_peer;
    o->sanity_check = opts->sanity_check;
    o->dir = opts->dir ? vs_strdup(opts->dir) : NULL;
    o->username = opts->username ? vs_strdup(opts->username) : NULL;
    o->priority = opts->priority ? vs_strdup(opts->priority) : NULL;
    o->identity = opts->identity ? vs_strdup(opts->identity) : NULL;
    int r = 0;
    if (o->kind != VS_OBJ_AUTHZ_SIMPLE && !o->dir) {
        vs_error_set(err, VS_ERR_GENERIC, "Missing 'dir' property value");
        r = -1;
    } else if (o->kind == VS_OBJ_TLS_X509) {
        r = load_x509(o, err);
    } else if (o->kind == VS_OBJ_TLS_PSK) {
        r = load_psk(o, err);
    } else if (!o->identity) {
        vs_error_set(err, VS_ERR_GENERIC, "Parameter 'identity' is missing");
        r = -1;
    }
    if (r < 0) {
        free_object(o);
        return NULL;
    }
    o->refs = 1;
    vs_list_append(&objects, &o->link);
    return o;
}

int vs_object_del(const char *id, struct vs_error *err)
{
    struct vs_object *o = vs_object_find(id);
    if (!o) {
        vs_error_set(err, VS_ERR_GENERIC, "object '%s' not found", id);
        return -1;
    }
    vs_list_remove(&o->link);
    vs_object_unref(o);
    return 0;
}

void vs_object_del_all(void)
{
    struct vs_object *o;
    while ((o = vs_object_next(NULL))) {
        vs_list_remove(&o->link);
        vs_object_unref(o);
    }
}

struct vs_object *vs_tls_creds_lookup(const char *id, enum vs_tls_endpoint endpoint,
                                      struct vs_error *err)
{
    struct vs_object *o = vs_object_find(id);
    if (!o) {
        vs_error_set(err, VS_ERR_GENERIC, "No TLS credentials with id '%s'", id);
        return NULL;
    }
    if (o->kind != VS_OBJ_TLS_X509 && o->kind != VS_OBJ_TLS_PSK) {
        vs_error_set(err, VS_ERR_GENERIC, "Object with id '%s' is not TLS credentials", id);
        return NULL;
    }
    if (o->endpoint != endpoint) {
        vs_error_set(err, VS_ERR_GENERIC, "Expected TLS credentials for a %s endpoint",
                     endpoint == VS_TLS_SERVER ? "server" : "client");
        return NULL;
    }
    return o;
}
