/* Glance's image members: the owner of a shared image names the projects
 * it shares the image with (each a member, pending until the member
 * accepts or rejects it); a member may use the image whatever its status,
 * and sees it in its lists once accepted (images.c reads the memberships
 * for that). The owner (or an administrator) adds and removes members; a
 * member sees and changes only its own membership, and only its status.
 * Only a shared image has members. */
#include "image.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Glance's image_member_quota */
#define MEMBERS_MAX 128

static const char *const member_statuses[] = { "pending", "accepted", "rejected", NULL };

bool glance_member_status_valid(const char *s)
{
    for (size_t i = 0; member_statuses[i]; i++)
        if (!strcmp(member_statuses[i], s))
            return true;
    return false;
}

json_t *glance_body(struct api_request *rq, int max_depth)
{
    if (!rq->body || !rq->body_len ||
        body_json_depth(rq->body, rq->body_len, max_depth) > max_depth) {
        api_err(&rq->err, 400, "Malformed JSON in request body.");
        return NULL;
    }
    json_error_t jerr;
    json_t *b = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(b)) {
        json_decref(b);
        api_err(&rq->err, 400, "Malformed JSON in request body.");
        return NULL;
    }
    return b;
}

static json_t *member_view(const struct reg_image_member *m)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "created_at", m->created_at, "image_id",
                     m->image_id, "member_id", m->member, "schema", "/v2/schemas/member", "status",
                     m->status, "updated_at", m->updated_at);
}

/* The image of the URL, visible to the caller and shared (403 otherwise,
 * as Glance answers for an image that cannot have members). */
static int load_shared(struct api_request *rq, struct reg_image *im)
{
    if (glance_load(rq, api_param(rq, "image_id"), im) < 0)
        return -1;
    if (strcmp(im->visibility, "shared") != 0)
        return api_err(&rq->err, 403, "Only shared images have members.");
    return 0;
}

/* Member MEMBER of IM as the caller may see it: the owner sees every
 * member, a member only itself. */
static int load_member(struct api_request *rq, const struct reg_image *im, const char *member,
                       struct reg_image_member *m)
{
    struct registry *r = rq->ctx->reg;
    if (!glance_owns(rq, im) && strcmp(member, rq->auth.project_id) != 0)
        return api_err(&rq->err, 404, "Member %.64s not found for image %s.", member, im->id);
    int rc = strlen(member) < sizeof m->member ? r->ops->member_get(r, im->id, member, m) : 1;
    if (rc < 0)
        return reg_fail(&rq->err, r);
    if (rc == 1)
        return api_err(&rq->err, 404, "Member %.64s not found for image %s.", member, im->id);
    return 0;
}

/* Writes M in the open transaction TXN, commits, and answers with M. */
static int member_write(struct api_request *rq, struct reg_txn *txn,
                        const struct reg_image_member *m)
{
    struct registry *r = rq->ctx->reg;
    if (r->ops->member_put(r, m) < 0)
        return reg_fail(&rq->err, r);
    if (reg_commit(txn, &rq->err) < 0)
        return -1;
    return api_reply(rq, 200, member_view(m));
}

/* Adds M (pending) to IM unless it is a member already or IM has all the
 * members it may have. */
static int member_add(struct api_request *rq, const struct reg_image *im,
                      struct reg_image_member *m)
{
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    struct reg_image_member *all = NULL;
    size_t n = 0;
    if (r->ops->member_list(r, im->id, NULL, &all, &n) < 0)
        return reg_fail(&rq->err, r);
    bool dup = false;
    for (size_t i = 0; i < n && !dup; i++)
        dup = !strcmp(all[i].member, m->member);
    free(all);
    if (dup)
        return api_err(&rq->err, 409,
                       "The target member %.64s is already associated with image %s.", m->member,
                       im->id);
    if (n >= MEMBERS_MAX)
        return api_err(&rq->err, 413, "Attempted: %zu, Maximum: %d image members.", n + 1,
                       MEMBERS_MAX);
    snprintf(m->image_id, sizeof m->image_id, "%s", im->id);
    snprintf(m->status, sizeof m->status, "pending");
    api_time_z(time(NULL), m->created_at);
    memcpy(m->updated_at, m->created_at, sizeof m->updated_at);
    return member_write(rq, &txn, m);
}

static int members_create(struct api_request *rq)
{
    struct reg_image im;
    if (load_shared(rq, &im) < 0)
        return -1;
    if (!glance_owns(rq, &im))
        return api_err(&rq->err, 403,
                       "You are not permitted to create image members for the "
                       "image.");
    json_t *b = glance_body(rq, 2);
    if (!b)
        return -1;
    /* other keys are ignored, as Glance does (openstacksdk sends some) */
    const char *member = json_string_value(json_object_get(b, "member"));
    struct reg_image_member m = { 0 };
    int rc = 0;
    if (!json_object_get(b, "member"))
        rc = api_err(&rq->err, 400, "Member to be added not specified");
    else if (!member || !member[0])
        rc = api_err(&rq->err, 400, "Expected a member in the form: {\"member\": \"project_id\"}");
    else if (strlen(member) >= sizeof m.member || !vs_utf8_valid(member))
        rc = api_err(&rq->err, 400, "Invalid member: at most 255 characters.");
    else
        snprintf(m.member, sizeof m.member, "%s", member);
    json_decref(b);
    return rc < 0 ? -1 : member_add(rq, &im, &m);
}

static int members_index(struct api_request *rq)
{
    struct reg_image im;
    if (load_shared(rq, &im) < 0)
        return -1;
    struct registry *r = rq->ctx->reg;
    struct reg_image_member *all = NULL;
    size_t n = 0;
    if (r->ops->member_list(r, im.id, NULL, &all, &n) < 0)
        return reg_fail(&rq->err, r);
    bool owner = glance_owns(rq, &im);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        if (owner || !strcmp(all[i].member, rq->auth.project_id))
            json_array_append_new(list, member_view(&all[i]));
    free(all);
    return api_reply(rq, 200,
                     json_pack("{s:o, s:s}", "members", list, "schema", "/v2/schemas/members"));
}

static int members_show(struct api_request *rq)
{
    struct reg_image im;
    struct reg_image_member m;
    if (load_shared(rq, &im) < 0 || load_member(rq, &im, api_param(rq, "member_id"), &m) < 0)
        return -1;
    return api_reply(rq, 200, member_view(&m));
}

static int members_update(struct api_request *rq)
{
    struct reg_image im;
    struct reg_image_member m;
    if (load_shared(rq, &im) < 0 || load_member(rq, &im, api_param(rq, "member_id"), &m) < 0)
        return -1;
    json_t *b = glance_body(rq, 2);
    if (!b)
        return -1;
    /* other keys are ignored, as Glance does (openstacksdk sends the member) */
    const char *status = json_string_value(json_object_get(b, "status"));
    int rc = 0;
    if (!status)
        rc = api_err(&rq->err, 400, "Status not specified");
    else if (!glance_member_status_valid(status))
        rc =
            api_err(&rq->err, 400, "Invalid status: %.32s (pending, accepted or rejected)", status);
    /* the member decides, not the owner (an administrator may do both) */
    else if (strcmp(m.member, rq->auth.project_id) != 0 && !auth_has_role(&rq->auth, "admin"))
        rc = api_err(&rq->err, 403,
                     "You are not permitted to modify 'status' on this image member.");
    else
        snprintf(m.status, sizeof m.status, "%s", status);
    json_decref(b);
    if (rc < 0)
        return -1;
    api_time_z(time(NULL), m.updated_at);
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    struct reg_image_member cur;
    int g = r->ops->member_get(r, m.image_id, m.member, &cur);
    if (g < 0)
        return reg_fail(&rq->err, r);
    if (g == 1)
        return api_err(&rq->err, 404, "Member %.64s not found for image %s.", m.member, im.id);
    return member_write(rq, &txn, &m);
}

static int members_delete(struct api_request *rq)
{
    struct reg_image im;
    struct reg_image_member m;
    if (load_shared(rq, &im) < 0 || load_member(rq, &im, api_param(rq, "member_id"), &m) < 0)
        return -1;
    if (!glance_owns(rq, &im))
        return api_err(&rq->err, 403, "You are not permitted to delete this image member.");
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    int d = r->ops->member_delete(r, im.id, m.member);
    if (d < 0)
        return reg_fail(&rq->err, r);
    if (d == 1)
        return api_err(&rq->err, 404, "Member %.64s not found for image %s.", m.member, im.id);
    if (reg_commit(&txn, &rq->err) < 0)
        return -1;
    return api_reply(rq, 204, NULL);
}

static json_t *member_schema(void)
{
    return json_pack(
        "{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:[s,s,s],"
        " s:s}, s:{s:s, s:b, s:s}}}",
        "name", "member", "properties", "created_at", "type", "string", "description",
        "Date and time of image member creation", "image_id", "type", "string", "pattern",
        "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$",
        "description", "An identifier for the image", "member_id", "type", "string", "description",
        "An identifier for the image member (tenantId)", "updated_at", "type", "string",
        "description", "Date and time of last modification of image member", "status", "type",
        "string", "enum", "pending", "accepted", "rejected", "description",
        "The status of this image member", "schema", "type", "string", "readOnly", 1, "description",
        "The schema of an image member");
}

static int schemas_member(struct api_request *rq)
{
    return api_reply(rq, 200, member_schema());
}

static int schemas_members(struct api_request *rq)
{
    return api_reply(rq, 200,
                     json_pack("{s:s, s:{s:{s:s, s:o}, s:{s:s}}, s:[{s:s, s:s}]}", "name",
                               "members", "properties", "members", "type", "array", "items",
                               member_schema(), "schema", "type", "string", "links", "rel",
                               "describedby", "href", "{schema}"));
}

#define GLANCE(m, p, fn, doc)                                                   \
    {                                                                           \
        m, p, SVC_IMAGE, true, NULL, API_POLICY_NONE, NULL, NULL, 0, 0, fn, doc \
    }

const struct api_route glance_member_routes[] = {
    GLANCE("GET", "/v2/images/{image_id}/members", members_index,
           "the members of a shared image: all of them for its owner, its own membership for "
           "a member; 403 for an image that is not shared"),
    GLANCE("POST", "/v2/images/{image_id}/members", members_create,
           "shares the image with project `member` (pending; owner or admin; at most 128 "
           "members; 409 when already one)"),
    GLANCE("GET", "/v2/images/{image_id}/members/{member_id}", members_show,
           "one member (the owner sees each, a member itself)"),
    GLANCE("PUT", "/v2/images/{image_id}/members/{member_id}", members_update,
           "the member accepts or rejects the image (`status`: pending, accepted, rejected); "
           "the owner may not (403)"),
    GLANCE("DELETE", "/v2/images/{image_id}/members/{member_id}", members_delete,
           "stops sharing the image with the member (204; owner or admin)"),
    GLANCE("GET", "/v2/schemas/member", schemas_member, "the image member schema"),
    GLANCE("GET", "/v2/schemas/members", schemas_members, "the image member list schema"),
    { NULL, NULL, SVC_NONE, false, NULL, API_POLICY_NONE, NULL, NULL, 0, 0, NULL, NULL, NULL },
};
