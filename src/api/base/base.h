/* The base of volswap-api, below every other layer: the error object every
 * control-path call fills (-1 or NULL and a struct api_error, which the HTTP
 * layer turns into exactly one fault reply), Nova/Cinder fault bodies, UUIDs,
 * timestamps, and the bounded parser of untrusted JSON documents checked
 * against a declarative schema. Nothing here knows HTTP, the registry or the
 * hosts. */
#ifndef VOLSWAP_API_BASE_H
#define VOLSWAP_API_BASE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ---- error.c ---- */
struct api_error {
    int status;    /* HTTP status to answer with */
    char msg[512]; /* the fault's "message" */
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

/* Monotonic clock, milliseconds. */
int64_t api_now_ms(void);

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
    BT_STRING_OR_ARRAY
};
struct body_field {
    const char *name;
    enum body_type type;
    bool required;
    size_t max_len;     /* strings: max length; ints: unused */
    long long min, max; /* ints: bounds */
};
struct body_schema {
    const char *root;                /* the one top-level key, e.g. "volume" */
    const struct body_field *fields; /* terminated by a NULL name */
    /* FIELDS NULL: the root's value is itself of this type (a metadata map) */
    enum body_type root_type;
};
/* Parses BODY (LEN bytes): size and depth caps, JSON syntax, one top-level
 * object holding exactly SCHEMA->root, then each field checked against the
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
#endif
