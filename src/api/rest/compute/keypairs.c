/* Nova's os-keypairs: each user's key pairs, created from a public key the
 * user imports or generated (an RSA pair, or for type x509 an RSA key and
 * its self-signed certificate, whose private half is answered once and
 * never kept), listed, shown and deleted; a user holds at most the
 * project's key_pairs quota (quotas.c) of them. volswap's servers are
 * registered consumers with no guest to put a key in; a server created
 * with key_name records and shows the name, as Nova's view does. Bodies by
 * microversion: type from 2.2 (201 and 204 from then on), another user's
 * pairs for an admin from 2.10, paging from 2.35, no generation from
 * 2.92. */
#include "compute.h"

#include <stdlib.h>
#include <string.h>

/* Nova's key pair names: 1 to 255 of letters, digits, '.', '_', '-' and
 * spaces, not starting or ending with a space; '@' too from 2.92. */
static bool keypair_name_ok(const char *n, bool at_ok)
{
    size_t len = strlen(n);
    if (len == 0 || len > 255 || n[0] == ' ' || n[len - 1] == ' ')
        return false;
    for (const char *p = n; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == ' ' || (at_ok && c == '@')))
            return false;
    }
    return true;
}

/* The user whose pairs the request is about: the caller's, or for an admin
 * from 2.10 the one ?user_id= (or the body's user_id) names. */
static int target_user(struct api_request *rq, const char *asked, char out[33])
{
    if (asked && strcmp(asked, rq->auth.user_id) != 0) {
        if (!nova_mv(rq, 10))
            return api_err(&rq->err, 400, "Invalid input for query parameters user_id.");
        if (!auth_has_role(&rq->auth, "admin"))
            return api_err(&rq->err, 403,
                           "Policy doesn't allow os_compute_api:os-keypairs to be performed.");
    }
    snprintf(out, 33, "%s", asked ? asked : rq->auth.user_id);
    return 0;
}

static json_t *keypair_view(struct api_request *rq, const struct reg_keypair *k, bool full)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "name", k->name, "public_key", k->public_key,
                          "fingerprint", k->fingerprint);
    if (nova_mv(rq, 2))
        json_object_set_new(o, "type", json_string(k->type));
    if (full) {
        char created[40];
        snprintf(created, sizeof created, "%.19s.000000", k->created_at);
        json_object_set_new(o, "user_id", json_string(k->user_id));
        json_object_set_new(o, "deleted", json_false());
        json_object_set_new(o, "created_at", json_string(created));
        json_object_set_new(o, "updated_at", json_null());
        json_object_set_new(o, "deleted_at", json_null());
        json_object_set_new(o, "id", json_integer(k->id));
    }
    return o;
}

static const char *keypair_name_of(const void *k)
{
    return ((const struct reg_keypair *)k)->name;
}

int nova_keypairs_index(struct api_request *rq)
{
    char user[33];
    if (target_user(rq, api_query(rq, "user_id"), user) < 0)
        return -1;
    long limit = -1;
    const char *l = api_query(rq, "limit"), *marker = api_query(rq, "marker");
    if (nova_mv(rq, 35) && l) {
        char *end;
        limit = strtol(l, &end, 10);
        if (!*l || *end || limit < 0)
            return api_err(&rq->err, 400,
                           "Invalid input for query parameters limit. Value: %.32s. '%.32s' "
                           "does not match '^[0-9]*$'",
                           l, l);
    }
    struct registry *r = rq->ctx->reg;
    struct reg_keypair *ks = NULL;
    size_t n = 0;
    if (r->ops->keypair_list(r, user, &ks, &n) < 0)
        return reg_fail(&rq->err, r);
    size_t first = 0;
    if (nova_mv(rq, 35) && marker) {
        size_t i = 0;
        while (i < n && strcmp(keypair_name_of(&ks[i]), marker) != 0)
            i++;
        if (i == n) {
            free(ks);
            return api_err(&rq->err, 400, "marker [%.64s] not found", marker);
        }
        first = i + 1;
    }
    json_t *arr = json_array();
    size_t count = 0;
    for (size_t i = first; i < n && (limit < 0 || (long)count < limit); i++, count++)
        json_array_append_new(arr, json_pack("{s:o}", "keypair", keypair_view(rq, &ks[i], false)));
    json_t *out = json_pack("{s:o}", "keypairs", arr);
    if (limit > 0 && (long)count == limit && first + count < n) {
        /* a name holds letters, digits, ".-_@" and spaces: only the
         * spaces need escaping in the URL */
        char mk[800] = "";
        size_t o = 0;
        for (const char *p = ks[first + count - 1].name; *p && o + 4 < sizeof mk; p++)
            o += (size_t)snprintf(mk + o, sizeof mk - o, *p == ' ' ? "%%20" : "%c", *p);
        char href[1400];
        snprintf(href, sizeof href, "%s/v2.1/os-keypairs?limit=%ld&marker=%s%s%s",
                 rq->ctx->base_url, limit, mk, api_query(rq, "user_id") ? "&user_id=" : "",
                 api_query(rq, "user_id") ? user : "");
        json_object_set_new(out, "keypairs_links",
                            json_pack("[{s:s, s:s}]", "rel", "next", "href", href));
    }
    free(ks);
    return api_reply(rq, 200, out);
}

/* Nova counts key pairs per user against the project's key_pairs quota:
 * 403 when USER already holds that many. */
static int keypair_quota_check(struct api_request *rq, const char *user)
{
    struct quota_limits l;
    if (quota_load(rq, rq->auth.project_id, &l) < 0)
        return -1;
    if (l.key_pairs < 0)
        return 0;
    struct registry *r = rq->ctx->reg;
    struct reg_keypair *ks = NULL;
    size_t n = 0;
    if (r->ops->keypair_list(r, user, &ks, &n) < 0)
        return reg_fail(&rq->err, r);
    free(ks);
    if ((json_int_t)n >= l.key_pairs)
        return api_err(&rq->err, 403, "Quota exceeded, too many key pairs.");
    return 0;
}

int nova_keypairs_create(struct api_request *rq)
{
    json_t *b = rq->body_obj; /* schema_keypair_create, checked by the router */
    const char *name = json_string_value(json_object_get(b, "name"));
    const char *pub = json_string_value(json_object_get(b, "public_key"));
    const char *type = json_string_value(json_object_get(b, "type"));
    const char *uid = json_string_value(json_object_get(b, "user_id"));
    if (type && !nova_mv(rq, 2))
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute keypair. Additional properties are not "
                       "allowed ('type' was unexpected)");
    if (uid && !nova_mv(rq, 10))
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute keypair. Additional properties are not "
                       "allowed ('user_id' was unexpected)");
    if (!type)
        type = "ssh";
    if (strcmp(type, "ssh") != 0 && strcmp(type, "x509") != 0)
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute type. Value: %.16s. '%.16s' is not one "
                       "of ['ssh', 'x509']",
                       type, type);
    if (!keypair_name_ok(name, nova_mv(rq, 92)))
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute name. Value: %.64s. '%.64s' does not "
                       "match the key pair name pattern",
                       name, name);
    if (!pub && nova_mv(rq, 92))
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute keypair. 'public_key' is a required "
                       "property");
    struct reg_keypair k;
    memset(&k, 0, sizeof k);
    if (target_user(rq, uid, k.user_id) < 0)
        return -1;
    snprintf(k.name, sizeof k.name, "%s", name);
    snprintf(k.type, sizeof k.type, "%s", type);
    char *priv = NULL;
    if (pub) {
        if (api_public_key_check(type, pub, k.fingerprint, sizeof k.fingerprint, &rq->err) < 0)
            return -1;
        snprintf(k.public_key, sizeof k.public_key, "%s", pub);
    } else if (strcmp(type, "x509") == 0) {
        if (api_keypair_generate_x509(k.user_id, rq->auth.project_id, k.public_key,
                                      sizeof k.public_key, &priv, k.fingerprint,
                                      sizeof k.fingerprint, &rq->err) < 0)
            return -1;
    } else if (api_keypair_generate(k.public_key, sizeof k.public_key, &priv, k.fingerprint,
                                    sizeof k.fingerprint, &rq->err) < 0) {
        return -1;
    }
    api_time_micro(time(NULL), k.created_at);
    struct registry *r = rq->ctx->reg;
    if (keypair_quota_check(rq, k.user_id) < 0) {
        free(priv);
        return -1;
    }
    if (r->ops->keypair_insert(r, &k) < 0) {
        free(priv);
        if (r->ops->last_error_kind(r) == REG_ERR_CONSTRAINT)
            return api_err(&rq->err, 409, "Key pair '%.255s' already exists.", k.name);
        return reg_fail(&rq->err, r);
    }
    json_t *view = keypair_view(rq, &k, false);
    json_object_set_new(view, "user_id", json_string(k.user_id));
    if (priv)
        json_object_set_new(view, "private_key", json_string(priv));
    free(priv);
    return api_reply(rq, nova_mv(rq, 2) ? 201 : 200, json_pack("{s:o}", "keypair", view));
}

static int load_keypair(struct api_request *rq, struct reg_keypair *k)
{
    char user[33];
    if (target_user(rq, api_query(rq, "user_id"), user) < 0)
        return -1;
    struct registry *r = rq->ctx->reg;
    int rc = r->ops->keypair_get(r, user, api_param(rq, "keypair_name"), k);
    if (rc < 0)
        return reg_fail(&rq->err, r);
    if (rc == 1)
        return api_err(&rq->err, 404, "Keypair %.255s not found for user %s",
                       api_param(rq, "keypair_name"), user);
    return 0;
}

int nova_keypairs_show(struct api_request *rq)
{
    struct reg_keypair k;
    if (load_keypair(rq, &k) < 0)
        return -1;
    return api_reply(rq, 200, json_pack("{s:o}", "keypair", keypair_view(rq, &k, true)));
}

int nova_keypairs_delete(struct api_request *rq)
{
    struct reg_keypair k;
    if (load_keypair(rq, &k) < 0)
        return -1;
    struct registry *r = rq->ctx->reg;
    int rc = r->ops->keypair_delete(r, k.user_id, k.name);
    if (rc < 0)
        return reg_fail(&rq->err, r);
    if (rc == 1)
        return api_err(&rq->err, 404, "Keypair %.255s not found for user %s", k.name, k.user_id);
    return api_reply(rq, nova_mv(rq, 2) ? 204 : 202, NULL);
}
