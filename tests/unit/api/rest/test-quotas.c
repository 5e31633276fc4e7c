/* Quotas across requests, in-process: the default quota class is what a
 * project has until it sets its own, and the limits volswap can enforce
 * (metadata_items, key_pairs) bind once lowered, while those of what it
 * never holds are stored and shown. */
#include "../harness.h"

static struct th t;

static int call(struct th_reply *r, const char *method, const char *token, const char *body,
                const char *path)
{
    return th_call(&t, r, method, token, NULL, body, "%s", path);
}

/* A value set on the class `default` shows in every project's set and in
 * the defaults; a project's own value wins; deleting the project's set
 * falls back to the class. */
static void class_default_applies_to_projects(void)
{
    struct th_reply r;
    char path[128];
    call(&r, "PUT", t.admin, "{\"quota_class_set\": {\"instances\": 42}}",
         "/v2.1/os-quota-class-sets/default");
    CHECK_STATUS(&r, 200);
    th_reply_free(&r);
    snprintf(path, sizeof path, "/v2.1/os-quota-sets/%s", t.demo);
    call(&r, "GET", t.admin, NULL, path);
    CHECK_STATUS(&r, 200);
    CHECK_CONTAINS(th_body(&r), "\"instances\":42");
    th_reply_free(&r);
    snprintf(path, sizeof path, "/v2.1/os-quota-sets/%s/defaults", t.demo);
    call(&r, "GET", t.admin, NULL, path);
    CHECK_CONTAINS(th_body(&r), "\"instances\":42");
    th_reply_free(&r);
    snprintf(path, sizeof path, "/v2.1/os-quota-sets/%s", t.demo);
    call(&r, "PUT", t.admin, "{\"quota_set\": {\"instances\": 7}}", path);
    CHECK_STATUS(&r, 200);
    CHECK_CONTAINS(th_body(&r), "\"instances\":7");
    th_reply_free(&r);
    call(&r, "DELETE", t.admin, NULL, path);
    CHECK_STATUS(&r, 202);
    th_reply_free(&r);
    call(&r, "GET", t.admin, NULL, path);
    CHECK_CONTAINS(th_body(&r), "\"instances\":42");
    th_reply_free(&r);
}

/* A class limit binds: instances 0 on the class refuses a server create. */
static void class_limit_binds(void)
{
    struct th_reply r;
    call(&r, "PUT", t.admin, "{\"quota_class_set\": {\"instances\": 0}}",
         "/v2.1/os-quota-class-sets/default");
    CHECK_STATUS(&r, 200);
    th_reply_free(&r);
    call(&r, "POST", t.alice, "{\"server\": {\"name\": \"a\"}}", "/v2.1/servers");
    CHECK_STATUS(&r, 403);
    CHECK_CONTAINS(th_body(&r), "Quota exceeded for instances");
    th_reply_free(&r);
}

/* metadata_items bounds a server's metadata (Nova's 403 beyond it). */
static void metadata_items_quota_enforced(void)
{
    struct th_reply r;
    char path[128], sid[37];
    snprintf(path, sizeof path, "/v2.1/os-quota-sets/%s", t.demo);
    call(&r, "PUT", t.admin, "{\"quota_set\": {\"metadata_items\": 1}}", path);
    CHECK_STATUS(&r, 200);
    th_reply_free(&r);
    th_server(&t, t.alice, sid);
    snprintf(path, sizeof path, "/v2.1/servers/%s/metadata", sid);
    call(&r, "POST", t.alice, "{\"metadata\": {\"a\": \"1\"}}", path);
    CHECK_STATUS(&r, 200);
    th_reply_free(&r);
    call(&r, "POST", t.alice, "{\"metadata\": {\"b\": \"2\"}}", path);
    CHECK_STATUS(&r, 403);
    CHECK_CONTAINS(th_body(&r), "Maximum number of metadata items exceeds 1");
    th_reply_free(&r);
    call(&r, "GET", t.alice, NULL, "/v2.1/limits");
    CHECK_CONTAINS(th_body(&r), "\"maxServerMeta\":1");
    th_reply_free(&r);
}

/* key_pairs bounds the key pairs of each user of the project. */
static void key_pairs_quota_enforced(void)
{
    struct th_reply r;
    char path[128];
    snprintf(path, sizeof path, "/v2.1/os-quota-sets/%s", t.demo);
    call(&r, "PUT", t.admin, "{\"quota_set\": {\"key_pairs\": 1}}", path);
    CHECK_STATUS(&r, 200);
    th_reply_free(&r);
    call(&r, "POST", t.alice, "{\"keypair\": {\"name\": \"k1\"}}", "/v2.1/os-keypairs");
    CHECK_STATUS(&r, 200);
    th_reply_free(&r);
    call(&r, "POST", t.alice, "{\"keypair\": {\"name\": \"k2\"}}", "/v2.1/os-keypairs");
    CHECK_STATUS(&r, 403);
    CHECK_CONTAINS(th_body(&r), "Quota exceeded, too many key pairs.");
    th_reply_free(&r);
}

/* Cinder's snapshots and backups limits are stored and shown, as Cinder
 * does for every resource it knows, and stay after another update. */
static void cinder_unused_limits_stored(void)
{
    struct th_reply r;
    char path[128];
    snprintf(path, sizeof path, "/v3/%s/os-quota-sets/%s", t.demo, t.demo);
    call(&r, "PUT", t.admin, "{\"quota_set\": {\"snapshots\": 11, \"backups\": 12}}", path);
    CHECK_STATUS(&r, 200);
    th_reply_free(&r);
    call(&r, "PUT", t.admin, "{\"quota_set\": {\"volumes\": 5}}", path);
    CHECK_STATUS(&r, 200);
    th_reply_free(&r);
    call(&r, "GET", t.admin, NULL, path);
    CHECK_CONTAINS(th_body(&r), "\"snapshots\":11");
    CHECK_CONTAINS(th_body(&r), "\"backups\":12");
    CHECK_CONTAINS(th_body(&r), "\"volumes\":5");
    th_reply_free(&r);
    /* the defaults stay what a project starts with */
    snprintf(path, sizeof path, "/v3/%s/os-quota-sets/%s/defaults", t.demo, t.demo);
    call(&r, "GET", t.admin, NULL, path);
    CHECK_CONTAINS(th_body(&r), "\"snapshots\":-1");
    CHECK_CONTAINS(th_body(&r), "\"volumes\":-1");
    th_reply_free(&r);
}

/* A server counts its flavor's vCPUs and memory (the harness's "big": 4
 * vCPUs, 2048 MB), shows it, and the list's flavor filter finds it. */
static void flavor_counts_in_quotas_and_filters(void)
{
    struct th_reply r;
    char path[128], sid[37];
    call(&r, "POST", t.alice, "{\"server\": {\"name\": \"big1\", \"flavorRef\": \"big\"}}",
         "/v2.1/servers");
    CHECK_STATUS(&r, 202);
    snprintf(sid, sizeof sid, "%s",
             json_string_value(json_object_get(json_object_get(r.json, "server"), "id")));
    th_reply_free(&r);
    snprintf(path, sizeof path, "/v2.1/os-quota-sets/%s/detail", t.demo);
    call(&r, "GET", t.alice, NULL, path);
    CHECK_CONTAINS(th_body(&r), "\"cores\":{\"in_use\":4");
    CHECK_CONTAINS(th_body(&r), "\"ram\":{\"in_use\":2048");
    th_reply_free(&r);
    snprintf(path, sizeof path, "/v2.1/servers/%s", sid);
    call(&r, "GET", t.alice, NULL, path);
    CHECK_CONTAINS(th_body(&r), "\"flavor\":{\"id\":\"big\"");
    th_reply_free(&r);
    call(&r, "GET", t.alice, NULL, "/v2.1/servers?flavor=big");
    CHECK_CONTAINS(th_body(&r), sid);
    th_reply_free(&r);
    call(&r, "GET", t.alice, NULL, "/v2.1/servers?flavor=volswap");
    CHECK(strstr(th_body(&r), sid) == NULL);
    th_reply_free(&r);
    /* cores 5 leaves room for one more vCPU, not for another "big" */
    snprintf(path, sizeof path, "/v2.1/os-quota-sets/%s", t.demo);
    call(&r, "PUT", t.admin, "{\"quota_set\": {\"cores\": 5}}", path);
    CHECK_STATUS(&r, 200);
    th_reply_free(&r);
    call(&r, "POST", t.alice, "{\"server\": {\"name\": \"big2\", \"flavorRef\": \"big\"}}",
         "/v2.1/servers");
    CHECK_STATUS(&r, 403);
    CHECK_CONTAINS(th_body(&r), "Quota exceeded for cores: Requested 4, but already used 4 of 5");
    th_reply_free(&r);
    call(&r, "POST", t.alice, "{\"server\": {\"name\": \"small\"}}", "/v2.1/servers");
    CHECK_STATUS(&r, 202);
    th_reply_free(&r);
}

static const struct unit_case cases[] = {
    { "flavor-counts-in-quotas-and-filters", flavor_counts_in_quotas_and_filters },
    { "class-default-applies-to-projects", class_default_applies_to_projects },
    { "class-limit-binds", class_limit_binds },
    { "metadata-items-quota-enforced", metadata_items_quota_enforced },
    { "key-pairs-quota-enforced", key_pairs_quota_enforced },
    { "cinder-unused-limits-stored", cinder_unused_limits_stored },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    th_setup(&t, true, false);
    int rc = unit_main(argc, argv, cases);
    th_teardown(&t);
    return rc;
}
