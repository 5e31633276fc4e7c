/* Request body parsing (json-body.c): caps, syntax, schema checks. Each case
 * is one way a client can get a body wrong, and the 400/413 it must get. */
#include "rest/rest.h"
#include "../unit.h"

static json_t *parse(const char *text, const struct body_schema *s, struct api_error *e,
                     json_t **doc)
{
    memset(e, 0, sizeof *e);
    return body_parse(text, strlen(text), s, doc, e);
}

static void valid_volume(void)
{
    struct api_error e;
    json_t *doc;
    json_t *v = parse("{\"volume\": {\"size\": 2, \"name\": \"x\", \"metadata\": {}}}",
                      &schema_volume_create, &e, &doc);
    CHECK(v);
    CHECK(json_integer_value(json_object_get(v, "size")) == 2);
    json_decref(doc);
}

/* Metadata keys: 1-255 of [A-Za-z0-9-_:. ], with '/' for Cinder only;
 * values strings of at most 255; the root of a metadata body is the map. */
static void metadata_keys(void)
{
    struct api_error e;
    json_t *doc;
    json_t *m =
        parse("{\"metadata\": {\"a-b_c:d.e f\": \"v\"}}", &schema_server_metadata, &e, &doc);
    CHECK(m && json_object_size(m) == 1);
    json_decref(doc);
    CHECK(!parse("{\"metadata\": {\"a/b\": \"v\"}}", &schema_server_metadata, &e, &doc));
    CHECK(e.status == 400);
    CHECK_CONTAINS(e.msg, "('a/b' was unexpected)");
    m = parse("{\"metadata\": {\"a/b\": \"v\"}}", &schema_volume_metadata, &e, &doc);
    CHECK(m);
    json_decref(doc);
    CHECK(!parse("{\"meta\": {\"\": \"v\"}}", &schema_volume_meta_item, &e, &doc));
    CHECK(e.status == 400);
    char big[600];
    snprintf(big, sizeof big, "{\"meta\": {\"%0256d\": \"v\"}}", 0);
    CHECK(!parse(big, &schema_server_meta_item, &e, &doc));
    CHECK(e.status == 400);
    snprintf(big, sizeof big, "{\"meta\": {\"k\": \"%0256d\"}}", 0);
    CHECK(!parse(big, &schema_server_meta_item, &e, &doc));
    CHECK_CONTAINS(e.msg, "too long (max 255)");
    CHECK(!parse("{\"meta\": {\"k\": null}}", &schema_server_meta_item, &e, &doc));
    CHECK_CONTAINS(e.msg, "is not of type 'string'");
    CHECK(!parse("{\"metadata\": [\"k\"]}", &schema_volume_metadata, &e, &doc));
    CHECK(e.status == 400);
    CHECK(!parse("{\"meta\": {\"k\": \"v\"}}", &schema_volume_metadata, &e, &doc));
    CHECK_CONTAINS(e.msg, "('meta' was unexpected)");
}

static void unknown_field(void)
{
    struct api_error e;
    json_t *doc;
    CHECK(!parse("{\"volume\": {\"size\": 1, \"colour\": \"red\"}}", &schema_volume_create, &e,
                 &doc));
    CHECK(e.status == 400);
    CHECK_CONTAINS(e.msg, "Additional properties are not allowed ('colour' was unexpected)");
    CHECK(!parse("{\"volume\": {\"size\": 1}, \"extra\": 1}", &schema_volume_create, &e, &doc));
    CHECK(e.status == 400);
}

static void wrong_type(void)
{
    struct api_error e;
    json_t *doc;
    CHECK(!parse("{\"volume\": {\"size\": \"big\"}}", &schema_volume_create, &e, &doc));
    CHECK(e.status == 400);
    CHECK_CONTAINS(e.msg, "is not of type 'integer'");
    CHECK(!parse("{\"volume\": []}", &schema_volume_create, &e, &doc));
    CHECK(e.status == 400);
    CHECK(!parse("{\"volumeAttachment\": {\"volumeId\": 5}}", &schema_attachment_create, &e, &doc));
    CHECK(e.status == 400);
    CHECK(!parse("{\"volumeAttachment\": {\"volumeId\": \"a\", \"delete_on_termination\": "
                 "\"maybe\"}}",
                 &schema_attachment_create, &e, &doc));
    CHECK(e.status == 400);
}

static void missing_required(void)
{
    struct api_error e;
    json_t *doc;
    CHECK(!parse("{\"volume\": {\"name\": \"x\"}}", &schema_volume_create, &e, &doc));
    CHECK(e.status == 400);
    CHECK_CONTAINS(e.msg, "'size' is a required property");
    CHECK(!parse("{}", &schema_server_create, &e, &doc));
    CHECK_CONTAINS(e.msg, "'server' is a required property");
}

static void out_of_bounds(void)
{
    struct api_error e;
    json_t *doc;
    CHECK(!parse("{\"volume\": {\"size\": 0}}", &schema_volume_create, &e, &doc));
    CHECK_CONTAINS(e.msg, "less than the minimum");
    CHECK(!parse("{\"volume\": {\"size\": 99999999999}}", &schema_volume_create, &e, &doc));
    CHECK_CONTAINS(e.msg, "greater than the maximum");
    char name[400];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    char body[600];
    snprintf(body, sizeof body, "{\"server\": {\"name\": \"%s\"}}", name);
    CHECK(!parse(body, &schema_server_create, &e, &doc));
    CHECK_CONTAINS(e.msg, "too long");
}

static void too_deep(void)
{
    struct api_error e;
    json_t *doc;
    char body[400] = "{\"volume\": {\"size\": 1, \"metadata\": ";
    for (int i = 0; i < 40; i++)
        strcat(body, "[");
    for (int i = 0; i < 40; i++)
        strcat(body, "]");
    strcat(body, "}}");
    CHECK(!parse(body, &schema_volume_create, &e, &doc));
    CHECK(e.status == 400);
    CHECK_CONTAINS(e.msg, "nested deeper");
    /* brackets inside strings do not count */
    CHECK(body_json_depth("{\"a\": \"[[[[[[[[\"}", 16, 32) == 1);
}

static void too_large(void)
{
    struct api_error e;
    json_t *doc;
    size_t len = API_MAX_BODY + 1;
    char *big = malloc(len);
    memset(big, ' ', len);
    CHECK(!body_parse(big, len, &schema_volume_create, &doc, &e));
    CHECK(e.status == 413);
    free(big);
}

static void malformed(void)
{
    struct api_error e;
    json_t *doc;
    CHECK(!parse("{\"volume\": {\"size\": 1}", &schema_volume_create, &e, &doc));
    CHECK(e.status == 400);
    CHECK_CONTAINS(e.msg, "Malformed request body");
    CHECK(!parse("[1]", &schema_volume_create, &e, &doc));
    CHECK(e.status == 400);
    CHECK(!parse("", &schema_volume_create, &e, &doc));
    CHECK(e.status == 400);
    /* duplicate keys are ambiguous: rejected */
    CHECK(!parse("{\"volume\": {\"size\": 1, \"size\": 2}}", &schema_volume_create, &e, &doc));
    CHECK(e.status == 400);
    /* an embedded NUL would truncate the name silently */
    CHECK(!parse("{\"server\": {\"name\": \"a\\u0000b\"}}", &schema_server_create, &e, &doc));
    CHECK(e.status == 400);
}

static const struct unit_case cases[] = {
    { "valid-volume", valid_volume },
    { "metadata-keys", metadata_keys },
    { "unknown-field", unknown_field },
    { "wrong-type", wrong_type },
    { "missing-required", missing_required },
    { "out-of-bounds", out_of_bounds },
    { "too-deep", too_deep },
    { "too-large", too_large },
    { "malformed", malformed },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    return unit_main(argc, argv, cases);
}
