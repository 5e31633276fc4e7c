/* Glance's image API v2 under /image: image records (create, list, show,
 * update by JSON patch, delete, tags) and, in data.c, their data (upload
 * and download, streamed). Glance's rules: an image is queued until its
 * data arrives, saving while it does, then active (or killed when the
 * store failed it); its visibility is public (everyone), community
 * (everyone may use it, lists show it when asked), shared (its owner's
 * project and the members it is shared with, members.c) or private (its
 * owner's project); an administrator sees and changes everything, and only an
 * administrator may publicize. Custom properties are strings shown at the
 * top level of the image, beside Glance's own attributes. */
#include "image.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const disk_formats[] = { "ami", "ari",   "aki", "vhd", "vhdx",  "vmdk",
                                            "raw", "qcow2", "vdi", "iso", "ploop", NULL };
static const char *const container_formats[] = { "ami", "ari",    "aki",        "bare", "ovf",
                                                 "ova", "docker", "compressed", NULL };
static const char *const visibilities[] = { "public", "private", "shared", "community", NULL };
/* Attributes Glance computes: never set by a client (403). */
static const char *const read_only[] = { "status",
                                         "size",
                                         "virtual_size",
                                         "checksum",
                                         "os_hash_algo",
                                         "os_hash_value",
                                         "created_at",
                                         "updated_at",
                                         "self",
                                         "file",
                                         "schema",
                                         "direct_url",
                                         "locations",
                                         "deleted",
                                         "deleted_at",
                                         "id",
                                         NULL };
/* Glance's own attributes a client sets (the rest are custom properties). */
static const char *const core[] = { "name",      "visibility",  "protected",
                                    "os_hidden", "disk_format", "container_format",
                                    "min_disk",  "min_ram",     "tags",
                                    "owner",     NULL };

static bool in_list(const char *const *l, const char *s)
{
    for (; *l; l++)
        if (!strcmp(*l, s))
            return true;
    return false;
}

static bool is_admin(struct api_request *rq)
{
    return auth_has_role(&rq->auth, "admin");
}

bool glance_owns(struct api_request *rq, const struct reg_image *im)
{
    return image_owned_by(&rq->auth, im);
}

static bool can_see(struct api_request *rq, const struct reg_image *im)
{
    return image_visible_to(&rq->auth, im) ||
           image_shared_with(rq->ctx->reg, im, rq->auth.project_id);
}

int glance_load(struct api_request *rq, const char *id, struct reg_image *im)
{
    struct registry *r = rq->ctx->reg;
    int rc = api_is_uuid(id) ? r->ops->image_get(r, id, im) : 1;
    if (rc < 0)
        return reg_fail(&rq->err, r);
    if (rc == 1 || !can_see(rq, im))
        return api_err(&rq->err, 404, "No image found with ID %.64s", id);
    return 0;
}

static void now_z(char out[32])
{
    api_time_z(time(NULL), out);
}

int glance_store(struct api_request *rq, struct reg_image *im)
{
    struct registry *r = rq->ctx->reg;
    now_z(im->updated_at);
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    int rc = r->ops->image_update(r, im);
    if (rc < 0)
        return reg_fail(&rq->err, r);
    if (reg_commit(&txn, &rq->err) < 0)
        return -1;
    return rc;
}

static json_t *str_or_null(const char *s)
{
    return s[0] ? json_string(s) : json_null();
}

static json_t *image_view(struct api_request *rq, const struct reg_image *im)
{
    char self[80], file[90];
    snprintf(self, sizeof self, "/v2/images/%s", im->id);
    snprintf(file, sizeof file, "/v2/images/%s/file", im->id);
    json_t *o = json_object();
    struct registry *r = rq->ctx->reg;
    struct reg_meta *m = NULL;
    size_t n = 0;
    /* custom properties first: Glance's own attributes win a clash */
    if (r->ops->meta_list(r, REG_META_IMAGE, im->id, &m, &n) == 0)
        for (size_t i = 0; i < n; i++)
            json_object_set_new(o, m[i].key, json_string(m[i].value));
    free(m);
    json_t *tags = json_array();
    m = NULL;
    n = 0;
    if (r->ops->meta_list(r, REG_META_IMAGE_TAG, im->id, &m, &n) == 0)
        for (size_t i = 0; i < n; i++)
            json_array_append_new(tags, json_string(m[i].key));
    free(m);
    json_object_set_new(o, "id", json_string(im->id));
    json_object_set_new(o, "name", str_or_null(im->name));
    json_object_set_new(o, "status", json_string(im->status));
    json_object_set_new(o, "visibility", json_string(im->visibility));
    json_object_set_new(o, "protected", json_boolean(im->protected_));
    json_object_set_new(o, "os_hidden", json_boolean(im->os_hidden));
    json_object_set_new(o, "checksum", str_or_null(im->checksum));
    json_object_set_new(o, "os_hash_algo", str_or_null(im->os_hash_algo));
    json_object_set_new(o, "os_hash_value", str_or_null(im->os_hash_value));
    json_object_set_new(o, "owner", json_string(im->owner));
    json_object_set_new(o, "size", im->size >= 0 ? json_integer(im->size) : json_null());
    json_object_set_new(o, "virtual_size",
                        im->virtual_size >= 0 ? json_integer(im->virtual_size) : json_null());
    json_object_set_new(o, "min_ram", json_integer(im->min_ram));
    json_object_set_new(o, "min_disk", json_integer(im->min_disk));
    json_object_set_new(o, "disk_format", str_or_null(im->disk_format));
    json_object_set_new(o, "container_format", str_or_null(im->container_format));
    json_object_set_new(o, "created_at", json_string(im->created_at));
    json_object_set_new(o, "updated_at", json_string(im->updated_at));
    json_object_set_new(o, "tags", tags);
    json_object_set_new(o, "self", json_string(self));
    json_object_set_new(o, "file", json_string(file));
    json_object_set_new(o, "schema", json_string("/v2/schemas/image"));
    return o;
}

/* ---- attribute checks, shared by create and patch ---- */

static int check_enum(struct api_request *rq, const char *attr, json_t *v,
                      const char *const *allowed, bool null_ok, char *out, size_t outlen)
{
    if (json_is_null(v) && null_ok) {
        out[0] = '\0';
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s || !in_list(allowed, s))
        return api_err(&rq->err, 400, "Invalid value for %s: %.64s", attr,
                       s ? s : "(not a string)");
    snprintf(out, outlen, "%s", s);
    return 0;
}

static int check_count(struct api_request *rq, const char *attr, json_t *v, int64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > ((int64_t)1 << 40))
        return api_err(&rq->err, 400, "Invalid value for %s: must be an integer >= 0.", attr);
    *out = json_integer_value(v);
    return 0;
}

static int check_tag(struct api_request *rq, const char *t)
{
    if (!t || !t[0] || strlen(t) > 255 || !vs_utf8_valid(t))
        return api_err(&rq->err, 400, "Invalid tag: tags are strings of 1 to 255 characters.");
    return 0;
}

/* Sets core attribute ATTR of IM from V (visibility: publicize is the
 * administrator's); TAGS: the new list (replaces). */
static int set_core(struct api_request *rq, struct reg_image *im, const char *attr, json_t *v,
                    json_t **tags)
{
    if (!strcmp(attr, "name")) {
        const char *s = json_string_value(v);
        if (!json_is_null(v) && (!s || strlen(s) > 255 || !vs_utf8_valid(s)))
            return api_err(&rq->err, 400, "Invalid value for name: at most 255 characters.");
        snprintf(im->name, sizeof im->name, "%s", s ? s : "");
    } else if (!strcmp(attr, "visibility")) {
        if (check_enum(rq, attr, v, visibilities, false, im->visibility, sizeof im->visibility) < 0)
            return -1;
        if (!strcmp(im->visibility, "public") && !is_admin(rq))
            return api_err(&rq->err, 403,
                           "You are not authorized to complete publicize_image "
                           "action.");
    } else if (!strcmp(attr, "protected") || !strcmp(attr, "os_hidden")) {
        if (!json_is_boolean(v))
            return api_err(&rq->err, 400, "Invalid value for %s: must be a boolean.", attr);
        *(attr[0] == 'p' ? &im->protected_ : &im->os_hidden) = json_is_true(v);
    } else if (!strcmp(attr, "disk_format") || !strcmp(attr, "container_format")) {
        if (strcmp(im->status, "queued") != 0)
            return api_err(&rq->err, 403, "Attribute %s can be only replaced for a queued image.",
                           attr);
        bool disk = attr[0] == 'd';
        if (check_enum(rq, attr, v, disk ? disk_formats : container_formats, true,
                       disk ? im->disk_format : im->container_format,
                       disk ? sizeof im->disk_format : sizeof im->container_format) < 0)
            return -1;
    } else if (!strcmp(attr, "min_disk")) {
        return check_count(rq, attr, v, &im->min_disk);
    } else if (!strcmp(attr, "min_ram")) {
        return check_count(rq, attr, v, &im->min_ram);
    } else if (!strcmp(attr, "owner")) {
        const char *s = json_string_value(v);
        if (!is_admin(rq))
            return api_err(&rq->err, 403, "Attribute 'owner' is reserved.");
        if (!s || strlen(s) >= sizeof im->owner)
            return api_err(&rq->err, 400, "Invalid value for owner.");
        snprintf(im->owner, sizeof im->owner, "%s", s);
    } else if (!strcmp(attr, "tags")) {
        size_t i;
        json_t *t;
        if (!json_is_array(v) || json_array_size(v) > META_MAX_ITEMS)
            return api_err(&rq->err, 400, "Invalid value for tags: a list of at most %d strings.",
                           META_MAX_ITEMS);
        json_array_foreach(v, i, t) {
            if (check_tag(rq, json_string_value(t)) < 0)
                return -1;
        }
        *tags = v;
    }
    return 0;
}

static int check_property(struct api_request *rq, const char *key, json_t *v)
{
    const char *s = json_string_value(v);
    if (!key[0] || strlen(key) > 255 || !vs_utf8_valid(key))
        return api_err(&rq->err, 400, "Invalid property name.");
    if (!s)
        return api_err(&rq->err, 400, "Invalid value for property %.64s: must be a string.", key);
    if (strlen(s) > 255 || !vs_utf8_valid(s))
        return api_err(&rq->err, 400, "Invalid value for property %.64s: at most 255 characters.",
                       key);
    return 0;
}

static int put_tags(struct registry *r, const char *id, json_t *tags)
{
    if (r->ops->meta_delete(r, REG_META_IMAGE_TAG, id, NULL) < 0)
        return -1;
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t) {
        struct reg_meta m = { .value = "" };
        snprintf(m.key, sizeof m.key, "%s", json_string_value(t));
        if (r->ops->meta_put(r, REG_META_IMAGE_TAG, id, &m) < 0)
            return -1;
    }
    return 0;
}

/* ---- the routes ---- */

static int glance_versions(struct api_request *rq)
{
    char self[400];
    snprintf(self, sizeof self, "%s/image/v2/", rq->ctx->base_url);
    json_t *versions = json_array();
    static const char *const ids[] = { "v2.16", "v2.15", "v2.9", "v2.7", "v2.6", "v2.5",
                                       "v2.4",  "v2.3",  "v2.2", "v2.1", "v2.0", NULL };
    for (size_t i = 0; ids[i]; i++)
        json_array_append_new(versions, json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "id", ids[i],
                                                  "status", i == 0 ? "CURRENT" : "SUPPORTED",
                                                  "links", "rel", "self", "href", self));
    return api_reply(rq, 300, json_pack("{s:o}", "versions", versions));
}

static int images_create(struct api_request *rq)
{
    if (!rq->auth.project_id[0])
        return api_err(&rq->err, 403, "A project-scoped token is required to create an image.");
    if (!rq->body || body_json_depth(rq->body, rq->body_len, 4) > 4)
        return api_err(&rq->err, 400, "Malformed JSON in request body.");
    json_error_t jerr;
    json_t *b = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(b)) {
        json_decref(b);
        return api_err(&rq->err, 400, "Malformed JSON in request body.");
    }
    struct reg_image im = { .size = -1, .virtual_size = -1 };
    snprintf(im.status, sizeof im.status, "queued");
    snprintf(im.visibility, sizeof im.visibility, "shared");
    snprintf(im.owner, sizeof im.owner, "%s", rq->auth.project_id);
    json_t *tags = NULL;
    int rc = -1;
    const char *k;
    json_t *v;
    size_t n_props = 0;
    json_object_foreach(b, k, v) {
        if (!strcmp(k, "id")) {
            const char *s = json_string_value(v);
            if (!s || !api_is_uuid(s)) {
                api_err(&rq->err, 400, "Invalid value for id: must be a UUID.");
                goto out;
            }
            snprintf(im.id, sizeof im.id, "%s", s);
        } else if (in_list(read_only, k)) {
            api_err(&rq->err, 403, "Attribute '%.64s' is read-only.", k);
            goto out;
        } else if (in_list(core, k)) {
            if (set_core(rq, &im, k, v, &tags) < 0)
                goto out;
        } else {
            if (check_property(rq, k, v) < 0)
                goto out;
            if (++n_props > META_MAX_ITEMS) {
                api_err(&rq->err, 413, "Maximum number of image properties exceeded (%d).",
                        META_MAX_ITEMS);
                goto out;
            }
        }
    }
    if (!im.id[0])
        api_uuid(im.id);
    now_z(im.created_at);
    snprintf(im.updated_at, sizeof im.updated_at, "%s", im.created_at);
    struct registry *r = rq->ctx->reg;
    {
        REG_TXN(txn, r);
        if (reg_begin(&txn, &rq->err) < 0)
            goto out;
        struct reg_image old;
        int g = r->ops->image_get(r, im.id, &old);
        if (g < 0) {
            reg_fail(&rq->err, r);
            goto out;
        }
        if (g == 0) {
            api_err(&rq->err, 409, "An image with identifier %s already exists", im.id);
            goto out;
        }
        if (r->ops->image_insert(r, &im) < 0 || (tags && put_tags(r, im.id, tags) < 0)) {
            reg_fail(&rq->err, r);
            goto out;
        }
        json_object_foreach(b, k, v) {
            if (in_list(core, k) || !strcmp(k, "id"))
                continue;
            struct reg_meta m;
            snprintf(m.key, sizeof m.key, "%s", k);
            snprintf(m.value, sizeof m.value, "%s", json_string_value(v));
            if (r->ops->meta_put(r, REG_META_IMAGE, im.id, &m) < 0) {
                reg_fail(&rq->err, r);
                goto out;
            }
        }
        if (reg_commit(&txn, &rq->err) < 0)
            goto out;
    }
    snprintf(rq->location, sizeof rq->location, "%s/image/v2/images/%s", rq->ctx->base_url, im.id);
    rc = api_reply(rq, 201, image_view(rq, &im));
out:
    json_decref(b);
    return rc;
}

static int cmp_str(const char *a, const char *b, bool desc)
{
    int c = strcmp(a, b);
    return desc ? -c : c;
}

static int cmp_int(int64_t a, int64_t b, bool desc)
{
    int c = a < b ? -1 : a > b;
    return desc ? -c : c;
}

/* Sort of a list: Glance's sort_key/sort_dir (one key; created_at desc by
 * default), then id. */
static __thread const char *t_sort_key;
static __thread bool t_sort_desc;

static int image_cmp(const void *pa, const void *pb)
{
    const struct reg_image *a = pa, *b = pb;
    const char *k = t_sort_key;
    bool d = t_sort_desc;
    int c = 0;
    if (!strcmp(k, "name"))
        c = cmp_str(a->name, b->name, d);
    else if (!strcmp(k, "status"))
        c = cmp_str(a->status, b->status, d);
    else if (!strcmp(k, "size"))
        c = cmp_int(a->size, b->size, d);
    else if (!strcmp(k, "updated_at"))
        c = cmp_str(a->updated_at, b->updated_at, d);
    else if (!strcmp(k, "disk_format"))
        c = cmp_str(a->disk_format, b->disk_format, d);
    else if (!strcmp(k, "container_format"))
        c = cmp_str(a->container_format, b->container_format, d);
    else if (!strcmp(k, "visibility"))
        c = cmp_str(a->visibility, b->visibility, d);
    else if (!strcmp(k, "min_disk"))
        c = cmp_int(a->min_disk, b->min_disk, d);
    else if (!strcmp(k, "min_ram"))
        c = cmp_int(a->min_ram, b->min_ram, d);
    else if (strcmp(k, "id") != 0)
        c = cmp_str(a->created_at, b->created_at, d);
    return c ? c : cmp_str(a->id, b->id, d);
}

/* The caller's memberships, read once for a list. */
struct memberships {
    struct reg_image_member *m;
    size_t n;
    const char *status; /* ?member_status, "accepted" by default */
};

/* Whether IM is listed for the caller with the request's filters. A
 * shared image of another project is listed for its members whose
 * status is the one asked for (accepted unless ?member_status says). */
static bool listed(struct api_request *rq, const struct reg_image *im,
                   const struct memberships *mine)
{
    const char *vis = api_query(rq, "visibility");
    if (vis && strcmp(vis, "all") != 0 && strcmp(im->visibility, vis) != 0)
        return false;
    if (!image_visible_to(&rq->auth, im)) {
        if (strcmp(im->visibility, "shared") != 0)
            return false;
        size_t i = 0;
        while (i < mine->n && strcmp(mine->m[i].image_id, im->id) != 0)
            i++;
        if (i == mine->n ||
            (strcmp(mine->status, "all") != 0 && strcmp(mine->m[i].status, mine->status) != 0))
            return false;
    }
    /* community images of others show only when asked for */
    if (!strcmp(im->visibility, "community") && !glance_owns(rq, im) &&
        !(vis && (!strcmp(vis, "community") || !strcmp(vis, "all"))))
        return false;
    const char *hidden = api_query(rq, "os_hidden");
    if (im->os_hidden != (hidden && api_truthy(hidden)))
        return false;
    static const struct {
        const char *q;
        size_t off;
    } eq[] = {
        { "name", offsetof(struct reg_image, name) },
        { "status", offsetof(struct reg_image, status) },
        { "owner", offsetof(struct reg_image, owner) },
        { "disk_format", offsetof(struct reg_image, disk_format) },
        { "container_format", offsetof(struct reg_image, container_format) },
        { "id", offsetof(struct reg_image, id) },
    };
    for (size_t i = 0; i < sizeof eq / sizeof eq[0]; i++) {
        const char *want = api_query(rq, eq[i].q);
        if (want && strcmp(want, (const char *)im + eq[i].off) != 0)
            return false;
    }
    const char *p = api_query(rq, "protected");
    if (p && im->protected_ != api_truthy(p))
        return false;
    const char *size = api_query(rq, "size");
    if (size && im->size != strtoll(size, NULL, 10))
        return false;
    const char *smin = api_query(rq, "size_min");
    if (smin && (im->size < 0 || im->size < strtoll(smin, NULL, 10)))
        return false;
    const char *smax = api_query(rq, "size_max");
    if (smax && (im->size < 0 || im->size > strtoll(smax, NULL, 10)))
        return false;
    const char *tag = api_query(rq, "tag");
    if (tag) {
        struct registry *r = rq->ctx->reg;
        struct reg_meta *m = NULL;
        size_t n = 0;
        bool found = false;
        if (r->ops->meta_list(r, REG_META_IMAGE_TAG, im->id, &m, &n) == 0)
            for (size_t i = 0; i < n && !found; i++)
                found = !strcmp(m[i].key, tag);
        free(m);
        if (!found)
            return false;
    }
    return true;
}

/* "/v2/images/" names an image whose id is empty, as Glance's router
 * reads it: none such (404), where the router would take it for the
 * collection. */
static bool empty_image_id(const struct api_request *rq)
{
    size_t n = strlen(rq->url);
    return n > 0 && rq->url[n - 1] == '/';
}

static int images_delete_empty(struct api_request *rq)
{
    if (empty_image_id(rq))
        return api_err(&rq->err, 404, "No image found with ID ''");
    return api_err(&rq->err, 405, "The method DELETE is not allowed for this resource.");
}

static int images_index(struct api_request *rq)
{
    if (empty_image_id(rq))
        return api_err(&rq->err, 404, "No image found with ID ''");
    /* copies: a lookup's answer may not outlive the next one */
    char skb[32] = "", sdb[8] = "";
    const char *q = api_query(rq, "sort_key");
    if (q)
        snprintf(skb, sizeof skb, "%s", q);
    if ((q = api_query(rq, "sort_dir")))
        snprintf(sdb, sizeof sdb, "%s", q);
    /* Glance's newer spelling, sort=KEY[:DIR][,...]: the first key orders */
    if ((q = api_query(rq, "sort"))) {
        size_t kl = strcspn(q, ":,");
        snprintf(skb, sizeof skb, "%.*s", (int)(kl < sizeof skb ? kl : sizeof skb - 1), q);
        if (q[kl] == ':') {
            size_t dl = strcspn(q + kl + 1, ",");
            snprintf(sdb, sizeof sdb, "%.*s", (int)(dl < sizeof sdb ? dl : sizeof sdb - 1),
                     q + kl + 1);
        }
    }
    const char *sk = skb[0] ? skb : NULL, *sd = sdb[0] ? sdb : NULL;
    static const char *const sort_keys[] = { "name",        "status",           "size",
                                             "created_at",  "updated_at",       "id",
                                             "disk_format", "container_format", "visibility",
                                             "min_disk",    "min_ram",          NULL };
    if (sk && !in_list(sort_keys, sk))
        return api_err(&rq->err, 400,
                       "Invalid sort key: %.64s. It should be one of the image "
                       "attributes.",
                       sk);
    if (sd && strcmp(sd, "asc") != 0 && strcmp(sd, "desc") != 0)
        return api_err(&rq->err, 400, "Invalid sort direction: %.16s", sd);
    const char *vis = api_query(rq, "visibility");
    if (vis && strcmp(vis, "all") != 0 && !in_list(visibilities, vis))
        return api_err(&rq->err, 400, "Invalid visibility value: %.32s", vis);
    const char *lim = api_query(rq, "limit");
    long limit = 25;
    if (lim) {
        char *end = NULL;
        limit = strtol(lim, &end, 10);
        if (!lim[0] || *end || limit < 0)
            return api_err(&rq->err, 400, "limit param must be an integer");
        if (limit > 1000)
            limit = 1000;
    }
    char markerb[64] = "";
    if ((q = api_query(rq, "marker")))
        snprintf(markerb, sizeof markerb, "%s", q);
    struct memberships mine = { .status = api_query(rq, "member_status") };
    if (!mine.status)
        mine.status = "accepted";
    if (strcmp(mine.status, "all") != 0 && !glance_member_status_valid(mine.status))
        return api_err(&rq->err, 400, "Invalid status value: %.32s", mine.status);
    char statusb[16];
    snprintf(statusb, sizeof statusb, "%s", mine.status);
    mine.status = statusb;
    struct registry *r = rq->ctx->reg;
    if (rq->auth.project_id[0] &&
        r->ops->member_list(r, NULL, rq->auth.project_id, &mine.m, &mine.n) < 0)
        return reg_fail(&rq->err, r);
    struct reg_image *all = NULL;
    size_t n = 0, kept = 0;
    if (r->ops->image_list(r, &all, &n) < 0) {
        free(mine.m);
        return reg_fail(&rq->err, r);
    }
    for (size_t i = 0; i < n; i++)
        if (listed(rq, &all[i], &mine))
            all[kept++] = all[i];
    free(mine.m);
    t_sort_key = sk ? sk : "created_at";
    t_sort_desc = !sd || !strcmp(sd, "desc");
    if (kept > 1)
        qsort(all, kept, sizeof *all, image_cmp);
    size_t first = 0;
    const char *marker = markerb[0] ? markerb : NULL;
    if (marker) {
        size_t i = 0;
        while (i < kept && strcmp(all[i].id, marker) != 0)
            i++;
        if (i == kept) {
            free(all);
            return api_err(&rq->err, 400, "Invalid marker. Image %.64s could not be found.",
                           marker);
        }
        first = i + 1;
    }
    json_t *list = json_array();
    size_t count = 0;
    for (size_t i = first; i < kept && count < (size_t)limit; i++, count++)
        json_array_append_new(list, image_view(rq, &all[i]));
    json_t *body = json_pack("{s:o, s:s, s:s}", "images", list, "first", "/v2/images", "schema",
                             "/v2/schemas/images");
    if (count == (size_t)limit && first + count < kept && count > 0) {
        char next[300];
        snprintf(next, sizeof next, "/v2/images?marker=%s&limit=%ld", all[first + count - 1].id,
                 limit);
        json_object_set_new(body, "next", json_string(next));
    }
    free(all);
    return api_reply(rq, 200, body);
}

static int images_show(struct api_request *rq)
{
    struct reg_image im;
    if (glance_load(rq, api_param(rq, "image_id"), &im) < 0)
        return -1;
    return api_reply(rq, 200, image_view(rq, &im));
}

static int images_delete(struct api_request *rq)
{
    struct reg_image im;
    if (glance_load(rq, api_param(rq, "image_id"), &im) < 0)
        return -1;
    if (!glance_owns(rq, &im))
        return api_err(&rq->err, 403, "You are not permitted to delete this image.");
    if (im.protected_)
        return api_err(&rq->err, 403, "Image %s is protected and cannot be deleted.", im.id);
    struct registry *r = rq->ctx->reg;
    {
        REG_TXN(txn, r);
        if (reg_begin(&txn, &rq->err) < 0)
            return -1;
        if (r->ops->image_delete(r, im.id) < 0 ||
            r->ops->meta_delete(r, REG_META_IMAGE, im.id, NULL) < 0 ||
            r->ops->meta_delete(r, REG_META_IMAGE_TAG, im.id, NULL) < 0 ||
            r->ops->member_delete(r, im.id, NULL) < 0)
            return reg_fail(&rq->err, r);
        if (reg_commit(&txn, &rq->err) < 0)
            return -1;
    }
    /* an upload still running finds its image gone and drops its data */
    image_data_remove(rq->ctx->cfg, im.id);
    return api_reply(rq, 204, NULL);
}

/* Applies OPS to IM (core attributes) and to its properties and tags, in
 * the caller's transaction. */
static int apply_patch(struct api_request *rq, struct reg_image *im,
                       const struct image_patch_op *ops, size_t n)
{
    struct registry *r = rq->ctx->reg;
    for (size_t i = 0; i < n; i++) {
        const struct image_patch_op *op = &ops[i];
        const char *a = op->attr;
        if (in_list(read_only, a))
            return api_err(&rq->err, 403, "Attribute '%.64s' is read-only.", a);
        if (in_list(core, a)) {
            if (op->kind == IMAGE_PATCH_REMOVE)
                return api_err(&rq->err, 403, "Attribute '%.64s' is reserved.", a);
            json_t *tags = NULL;
            if (set_core(rq, im, a, op->value, &tags) < 0)
                return -1;
            if (tags && put_tags(r, im->id, tags) < 0)
                return reg_fail(&rq->err, r);
            continue;
        }
        struct reg_meta *m = NULL;
        size_t nm = 0;
        bool exists = false;
        if (r->ops->meta_list(r, REG_META_IMAGE, im->id, &m, &nm) < 0)
            return reg_fail(&rq->err, r);
        for (size_t j = 0; j < nm && !exists; j++)
            exists = !strcmp(m[j].key, a);
        free(m);
        if (op->kind == IMAGE_PATCH_REMOVE) {
            if (!exists)
                return api_err(&rq->err, 409, "Property %.64s does not exist.", a);
            if (r->ops->meta_delete(r, REG_META_IMAGE, im->id, a) < 0)
                return reg_fail(&rq->err, r);
            continue;
        }
        if (op->kind == IMAGE_PATCH_REPLACE && !exists)
            return api_err(&rq->err, 409, "Property %.64s does not exist.", a);
        if (check_property(rq, a, op->value) < 0)
            return -1;
        if (!exists && nm >= META_MAX_ITEMS)
            return api_err(&rq->err, 413, "Maximum number of image properties exceeded (%d).",
                           META_MAX_ITEMS);
        struct reg_meta item;
        snprintf(item.key, sizeof item.key, "%s", a);
        snprintf(item.value, sizeof item.value, "%s", json_string_value(op->value));
        if (r->ops->meta_put(r, REG_META_IMAGE, im->id, &item) < 0)
            return reg_fail(&rq->err, r);
    }
    return 0;
}

static int images_update(struct api_request *rq)
{
    const char *ct = api_header(rq, "Content-Type");
    if (!ct || (strncmp(ct, "application/openstack-images-v2.1-json-patch", 44) != 0 &&
                strncmp(ct, "application/openstack-images-v2.0-json-patch", 44) != 0))
        return api_err(&rq->err, 415,
                       "Unsupported Content-Type: use "
                       "application/openstack-images-v2.1-json-patch.");
    struct reg_image im;
    if (glance_load(rq, api_param(rq, "image_id"), &im) < 0)
        return -1;
    if (!glance_owns(rq, &im))
        return api_err(&rq->err, 403, "You are not permitted to modify this image.");
    struct image_patch_op ops[IMAGE_PATCH_MAX];
    size_t n = 0;
    json_t *doc = image_patch_parse(rq->body, rq->body_len, ops, IMAGE_PATCH_MAX, &n, &rq->err);
    if (!doc)
        return -1;
    int rc = -1;
    struct registry *r = rq->ctx->reg;
    {
        REG_TXN(txn, r);
        if (reg_begin(&txn, &rq->err) < 0 || apply_patch(rq, &im, ops, n) < 0)
            goto out;
        now_z(im.updated_at);
        int u = r->ops->image_update(r, &im);
        if (u < 0) {
            reg_fail(&rq->err, r);
            goto out;
        }
        if (u == 1) {
            api_err(&rq->err, 404, "No image found with ID %s", im.id);
            goto out;
        }
        if (reg_commit(&txn, &rq->err) < 0)
            goto out;
    }
    rc = api_reply(rq, 200, image_view(rq, &im));
out:
    json_decref(doc);
    return rc;
}

static int tag_change(struct api_request *rq, bool add)
{
    struct reg_image im;
    if (glance_load(rq, api_param(rq, "image_id"), &im) < 0)
        return -1;
    if (!glance_owns(rq, &im))
        return api_err(&rq->err, 403, "You are not permitted to modify this image.");
    const char *tag = api_param(rq, "tag");
    if (check_tag(rq, tag) < 0)
        return -1;
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    if (add) {
        struct reg_meta m = { .value = "" };
        snprintf(m.key, sizeof m.key, "%s", tag);
        if (r->ops->meta_put(r, REG_META_IMAGE_TAG, im.id, &m) < 0)
            return reg_fail(&rq->err, r);
    } else {
        int d = r->ops->meta_delete(r, REG_META_IMAGE_TAG, im.id, tag);
        if (d < 0)
            return reg_fail(&rq->err, r);
        if (d == 1)
            return api_err(&rq->err, 404, "Tag %.64s not found.", tag);
    }
    now_z(im.updated_at);
    if (r->ops->image_update(r, &im) < 0)
        return reg_fail(&rq->err, r);
    if (reg_commit(&txn, &rq->err) < 0)
        return -1;
    return api_reply(rq, 204, NULL);
}

/* Glance's deactivate and reactivate: an active image's data is withheld
 * from everyone but administrators while it is deactivated. */
static int image_activation(struct api_request *rq, bool activate)
{
    struct reg_image im;
    if (glance_load(rq, api_param(rq, "image_id"), &im) < 0)
        return -1;
    if (!glance_owns(rq, &im))
        return api_err(&rq->err, 403, "You are not permitted to %s this image.",
                       activate ? "reactivate" : "deactivate");
    const char *from = activate ? "deactivated" : "active";
    if (strcmp(im.status, from) != 0 && strcmp(im.status, activate ? "active" : "deactivated"))
        return api_err(&rq->err, 400, "Not allowed to %s an image in status '%s'",
                       activate ? "reactivate" : "deactivate", im.status);
    snprintf(im.status, sizeof im.status, "%s", activate ? "active" : "deactivated");
    int rc = glance_store(rq, &im);
    if (rc != 0)
        return rc < 0 ? -1 : api_err(&rq->err, 404, "No image found with ID %s", im.id);
    return api_reply(rq, 204, NULL);
}

static int images_deactivate(struct api_request *rq)
{
    return image_activation(rq, false);
}

static int images_reactivate(struct api_request *rq)
{
    return image_activation(rq, true);
}

static int tags_add(struct api_request *rq)
{
    return tag_change(rq, true);
}

static int tags_delete(struct api_request *rq)
{
    return tag_change(rq, false);
}

/* The JSON schemas Glance publishes, which glanceclient reads before it
 * creates or updates an image: its own attributes, any other property a
 * string. */
static json_t *image_schema(void)
{
    json_t *props = json_pack(
        "{s:{s:s}, s:{s:[s,s]}, s:{s:s, s:[s,s,s,s,s,s]}, s:{s:s, s:[s,s,s,s]}, s:{s:s},"
        " s:{s:s}, s:{s:[s,s], s:b}, s:{s:[s,s]}, s:{s:[s,s]}, s:{s:[s,s]}, s:{s:[s,s]},"
        " s:{s:[s,s]}, s:{s:[s,s], s:b}, s:{s:[s,s], s:b}, s:{s:s}, s:{s:s}, s:{s:s, s:{s:s}},"
        " s:{s:s, s:b}, s:{s:s, s:b}, s:{s:s, s:b}, s:{s:s, s:b}, s:{s:[s,s], s:b}}",
        "id", "type", "string", "name", "type", "string", "null", "status", "type", "string",
        "enum", "queued", "saving", "active", "killed", "deleted", "uploading", "visibility",
        "type", "string", "enum", "public", "private", "shared", "community", "protected", "type",
        "boolean", "os_hidden", "type", "boolean", "checksum", "type", "string", "null", "readOnly",
        1, "owner", "type", "string", "null", "size", "type", "integer", "null", "virtual_size",
        "type", "integer", "null", "disk_format", "type", "string", "null", "container_format",
        "type", "string", "null", "os_hash_algo", "type", "string", "null", "readOnly", 1,
        "os_hash_value", "type", "string", "null", "readOnly", 1, "min_ram", "type", "integer",
        "min_disk", "type", "integer", "tags", "type", "array", "items", "type", "string",
        "created_at", "type", "string", "readOnly", 1, "updated_at", "type", "string", "readOnly",
        1, "self", "type", "string", "readOnly", 1, "file", "type", "string", "readOnly", 1,
        "schema", "type", "string", "null", "readOnly", 1);
    return json_pack("{s:s, s:o, s:{s:s}, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}", "name", "image",
                     "properties", props, "additionalProperties", "type", "string", "links", "rel",
                     "self", "href", "{self}", "rel", "enclosure", "href", "{file}", "rel",
                     "describedby", "href", "{schema}");
}

static int schemas_image(struct api_request *rq)
{
    return api_reply(rq, 200, image_schema());
}

static int schemas_images(struct api_request *rq)
{
    return api_reply(rq, 200,
                     json_pack("{s:s, s:{s:{s:s, s:o}, s:{s:s}, s:{s:s}, s:{s:s}},"
                               " s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}",
                               "name", "images", "properties", "images", "type", "array", "items",
                               image_schema(), "schema", "type", "string", "first", "type",
                               "string", "next", "type", "string", "links", "rel", "first", "href",
                               "{first}", "rel", "next", "href", "{next}", "rel", "describedby",
                               "href", "{schema}"));
}

/* The image routes, each declared once (served under /image). */
#define GLANCE(m, p, auth, fn, doc)                                             \
    {                                                                           \
        m, p, SVC_IMAGE, auth, NULL, API_POLICY_NONE, NULL, NULL, 0, 0, fn, doc \
    }

const struct api_route glance_routes[] = {
    GLANCE("GET", "/", false, glance_versions, "the version document (300, v2.16 current)"),
    GLANCE("GET", "/versions", false, glance_versions, "the same"),
    GLANCE("GET", "/v2/images", true, images_index,
           "images the caller may see: its project's, public ones, shared ones it accepted as "
           "a member (`member_status`: pending, accepted, rejected, all) and (when asked, "
           "`visibility=community`) community ones; filters `name`, `status`, `visibility`, "
           "`owner`, `tag`, `disk_format`, `container_format`, `protected`, `os_hidden`, "
           "`size`, `size_min`, `size_max`; `limit`, `marker`, `sort_key`, `sort_dir`, "
           "`sort=KEY:DIR`"),
    GLANCE("POST", "/v2/images", true, images_create,
           "a queued image: `name`, `visibility` (public: admin), `protected`, `os_hidden`, "
           "`disk_format`, `container_format`, `min_disk`, `min_ram`, `tags`, `id`, and custom "
           "string properties; read-only attributes are 403"),
    GLANCE("DELETE", "/v2/images", true, images_delete_empty,
           "405; `/v2/images/` (an empty image id) 404, as Glance"),
    GLANCE("GET", "/v2/images/{image_id}", true, images_show, "one image (404 when not visible)"),
    GLANCE("PATCH", "/v2/images/{image_id}", true, images_update,
           "JSON patch (`application/openstack-images-v2.1-json-patch`): add, replace, remove "
           "of the name, visibility, flags, formats (while queued), sizes, tags and custom "
           "properties; owner or admin"),
    GLANCE("DELETE", "/v2/images/{image_id}", true, images_delete,
           "deletes the image and its data (204); a protected image is 403"),
    { "PUT", "/v2/images/{image_id}/file", SVC_IMAGE, true, NULL, API_POLICY_NONE, NULL, NULL, 0, 0,
      glance_upload_done,
      "uploads the data of a queued image, streamed to the image store (no size cap but "
      "`images.quota_bytes`): queued, saving, then active with `size`, `checksum` and "
      "`os_hash_value` (sha512); 204",
      glance_upload_open },
    GLANCE("GET", "/v2/images/{image_id}/file", true, glance_download,
           "the image's data, streamed (204 when it has none yet)"),
    GLANCE("POST", "/v2/images/{image_id}/actions/deactivate", true, images_deactivate,
           "an active image becomes deactivated: its data refused to all but administrators "
           "(204; owner or admin)"),
    GLANCE("POST", "/v2/images/{image_id}/actions/reactivate", true, images_reactivate,
           "a deactivated image is active again (204)"),
    GLANCE("PUT", "/v2/images/{image_id}/tags/{tag}", true, tags_add, "adds a tag (204)"),
    GLANCE("DELETE", "/v2/images/{image_id}/tags/{tag}", true, tags_delete,
           "removes a tag (204, 404 when absent)"),
    GLANCE("GET", "/v2/schemas/image", true, schemas_image,
           "the image schema (what glanceclient validates against)"),
    GLANCE("GET", "/v2/schemas/images", true, schemas_images, "the image list schema"),
    { NULL, NULL, SVC_NONE, false, NULL, API_POLICY_NONE, NULL, NULL, 0, 0, NULL, NULL, NULL },
};
