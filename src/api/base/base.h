/* The base of volswap-api, below every other layer: the error object every
 * control-path call fills (-1 or NULL and a struct api_error, which the HTTP
 * layer turns into exactly one fault reply), Nova/Cinder fault bodies, UUIDs,
 * timestamps, and the bounded parser of untrusted JSON documents checked
 * against a declarative schema. Nothing here knows HTTP, the registry or the
 * hosts. */
#ifndef VOLSWAP_API_BASE_H
#define VOLSWAP_API_BASE_H

#include "common.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ---- error.c ---- */
struct api_error {
    int status;    /* HTTP status to answer with */
    char msg[512]; /* the fault's "message" */
    /* MSG names a credential of the caller's (Keystone's "Could not find
     * token: ID"): it is the caller's to read, never the log's */
    bool msg_secret;
};
__attribute__((format(printf, 3, 4))) int api_err(struct api_error *e, int status, const char *fmt,
                                                  ...);
/* Nova/Cinder fault name for a status ("itemNotFound", "badRequest"...). */
const char *api_fault_name(int status);
json_t *api_fault_body(int status, const char *msg);
void api_uuid(char out[37]);
/* A UUID derived from SEED (SHA-256): the same seed, the same UUID. */
void api_uuid_of(const char *seed, char out[37]);
void api_random_hex(char *out, size_t nbytes);
/* "2026-11-26T14:08:11Z" (Z) and "2026-11-26T14:08:11.000000" (micro) */
void api_time_z(time_t t, char out[32]);
void api_time_micro(time_t t, char out[32]);
bool api_is_uuid(const char *s);

/* Monotonic clock, milliseconds (src/common's clock). */
static inline int64_t api_now_ms(void)
{
    return vs_now_ms();
}

/* ---- keys.c: Nova's key pairs ---- */
/* The longest public key (an OpenSSH line or a PEM certificate) taken. */
#define API_PUBLIC_KEY_MAX 4096
/* Checks public KEY of TYPE ("ssh" or "x509") and writes its fingerprint
 * (MD5 of the key blob for ssh, SHA-1 of the certificate for x509, as
 * "aa:bb:..."); -1 and a 400 in E when it is not one. */
int api_public_key_check(const char *type, const char *key, char *fp, size_t fplen,
                         struct api_error *e);
/* A new RSA key pair as Nova makes one: the OpenSSH public key line in PUB,
 * the private key in PEM in *PRIV (free it), the fingerprint in FP. */
int api_keypair_generate(char *pub, size_t publen, char **priv, char *fp, size_t fplen,
                         struct api_error *e);

/* An X.509 pair as Nova makes one for type x509: an RSA key and a
 * self-signed certificate naming USER and PROJECT (CERT, PEM), the key in
 * *PRIV (free it), the certificate's fingerprint in FP. */
int api_keypair_generate_x509(const char *user, const char *project, char *cert, size_t certlen,
                              char **priv, char *fp, size_t fplen, struct api_error *e);

/* UTF-8 lengths and repair are src/common's (vs_utf8_len, vs_utf8_repair):
 * Nova's and Cinder's length limits count characters. */

/* ---- regex.c ---- */
/* A linear-time regular expression (a subset of Python's re, code points
 * of UTF-8) for filters from tenants: a search costs at most
 * (characters + 1) x API_REGEX_MAX_PROG steps. Patterns longer than
 * API_REGEX_MAX_PATTERN bytes, repeats above API_REGEX_MAX_REPEAT, nesting
 * deeper than API_REGEX_MAX_DEPTH, programs larger than API_REGEX_MAX_PROG,
 * backreferences and lookarounds are refused (NULL, E is a 400). */
#define API_REGEX_MAX_PATTERN 255
#define API_REGEX_MAX_REPEAT  1000
#define API_REGEX_MAX_DEPTH   32
#define API_REGEX_MAX_PROG    1000
struct api_regex;
struct api_regex *api_regex_compile(const char *pattern, struct api_error *e);
/* Whether the pattern matches anywhere in SUBJECT (re.search). */
bool api_regex_search(const struct api_regex *re, const char *subject);
void api_regex_free(struct api_regex *re);

/* Bytes that hold a name of 255 characters in UTF-8, with its NUL. */
#define API_NAME_BYTES (255 * 4 + 1)

/* Holds MUTEX until the end of the enclosing scope (every return unlocks):
 *     API_LOCK_SCOPE(&accept_lock); */
static inline pthread_mutex_t *api_lock(pthread_mutex_t *m)
{
    pthread_mutex_lock(m);
    return m;
}
static inline void api_unlock_scope(pthread_mutex_t **m)
{
    pthread_mutex_unlock(*m);
}
#define API_LOCK_NAME_(line) api_scope_lock_##line
#define API_LOCK_NAME(line)  API_LOCK_NAME_(line)
#define API_LOCK_SCOPE(m)                                                                         \
    __attribute__((cleanup(api_unlock_scope), unused)) pthread_mutex_t *API_LOCK_NAME(__LINE__) = \
        api_lock(m)

/* A JSON value released when the enclosing scope is left (every return
 * drops its reference; NULL is fine):
 *     API_JSON_SCOPED json_t *b = json_loads(...); */
static inline void api_json_release(json_t **j)
{
    json_decref(*j);
}
#define API_JSON_SCOPED __attribute__((cleanup(api_json_release)))

/* ---- json-body.c ---- */
/* Caps on untrusted request bodies. */
#define API_MAX_BODY  (1u << 20)
#define API_MAX_DEPTH 32
/* BT_META_NOVA / BT_META_CINDER: a metadata map, {KEY: VALUE}, whose keys
 * are 1-255 of [A-Za-z0-9-_:. ] (Cinder also allows '/') and whose values
 * are strings of at most 255 characters, as Nova's and Cinder's schemas;
 * BT_META_CINDER_OR_NULL also takes null (Cinder's volume create). */
enum body_type {
    BT_STRING,
    BT_INT,
    BT_BOOL,
    BT_OBJECT,
    BT_STRING_OR_NULL,
    BT_BOOL_OR_STRING,
    BT_META_NOVA,
    BT_META_CINDER,
    BT_META_CINDER_OR_NULL,
    BT_ARRAY,
    BT_STRING_OR_ARRAY,
    BT_OBJECT_OR_NULL
};
struct body_field {
    const char *name;
    enum body_type type;
    bool required;
    size_t max_len;     /* strings: max length in characters; ints: unused */
    long long min, max; /* ints: bounds; BT_STRING: min is the least length
                         * in characters (Nova's server name: 1) */
};
struct body_schema {
    const char *root;                /* the one top-level key, e.g. "volume" */
    const struct body_field *fields; /* terminated by a NULL name */
    /* FIELDS NULL: the root's value is itself of this type (a metadata map) */
    enum body_type root_type;
    /* a second top-level key the document may hold beside the root, whose
     * value must be an object (Nova's "os:scheduler_hints"), or NULL */
    const char *sibling;
};
/* Parses BODY (LEN bytes): size and depth caps, JSON syntax, one top-level
 * object holding exactly SCHEMA->root (and SCHEMA->sibling), then each field checked against the
 * schema (unknown fields and wrong types are 400). Returns the inner object
 * (new reference to the whole document in *DOC). */
json_t *body_parse(const char *body, size_t len, const struct body_schema *schema, json_t **doc,
                   struct api_error *e);
/* The spellings of true that Nova and Cinder accept in query strings and
 * boolean-or-string fields ("1", "true", "yes", "t", "on", "y", any case). */
bool api_truthy(const char *s);
/* A boolean, or a string api_truthy takes. */
bool body_bool(json_t *v);
/* Depth of nested arrays/objects in TEXT, stopping early past LIMIT. */
int body_json_depth(const char *text, size_t len, int limit);

/* ---- json-out.c: a JSON writer straight into a buffer ---- */

/* Compact JSON text, written as it is produced (no document in between):
 * the same bytes vs_json_dump writes for a jansson document of that shape.
 * Misuse (a value where a key belongs, a close without its open, nesting
 * past JW_MAX_DEPTH) and strings that are not valid UTF-8 mark the writer
 * failed; jw_finish then answers NULL. */
#define JW_MAX_DEPTH 32
struct jw {
    struct vs_buf b;
    uint32_t has_items; /* bit d-1: the container at depth d has an item */
    int depth;
    bool after_key; /* a key was written, its value not yet */
    bool failed;
};
/* An empty writer; SIZE_HINT bytes reserved up front (0: none). */
void jw_init(struct jw *w, size_t size_hint);
void jw_object_open(struct jw *w);
void jw_object_close(struct jw *w);
void jw_array_open(struct jw *w);
void jw_array_close(struct jw *w);
/* A key of the object open (its value comes next). */
void jw_key(struct jw *w, const char *key);
void jw_string(struct jw *w, const char *s);
void jw_stringn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* A key and its string value. */
void jw_key_string(struct jw *w, const char *key, const char *value);
/* The text (the caller frees it; its length in *LEN), or NULL when the
 * writer failed or a container is still open. Either way W is emptied. */
char *jw_finish(struct jw *w, size_t *len);
void jw_free(struct jw *w);
#endif
