/* Passwords, tokens, policy and the config file (auth.c, policy.c,
 * config.c): what a login yields, what each role may do under Nova's and
 * Cinder's default rules, and how a bad config is refused. */
#include "domain/domain.h"
#include "../unit.h"

static const char *config_text(char *buf, size_t len, const char *hash)
{
    snprintf(
        buf, len,
        "{\"database\": \"/tmp/x.db\", \"token_ttl\": 60, \"admin_tokens\": [\"secret-admin\"],"
        " \"projects\": [{\"name\": \"demo\"}, {\"name\": \"other\", \"id\": \"abc\"}],"
        " \"users\": [{\"name\": \"alice\", \"password_hash\": \"%s\","
        "   \"roles\": {\"demo\": [\"member\"]}},"
        "  {\"name\": \"root\", \"password_hash\": \"%s\", \"roles\": {\"demo\": [\"admin\"]}}],"
        " \"hosts\": [{\"name\": \"h1\", \"driver\": \"qemu\", \"qmp\": \"/q\","
        "   \"nbd\": {\"type\": \"unix\", \"path\": \"/n\"},"
        "   \"pools\": [{\"name\": \"p1\", \"type\": \"dir\", \"path\": \"/tmp\"}]}]}",
        hash, hash);
    return buf;
}

static void load(struct api_config *cfg)
{
    char hash[200], text[2048];
    CHECK(auth_hash_password("pw", hash, sizeof hash) == 0);
    struct api_error e = { 0 };
    config_text(text, sizeof text, hash);
    if (config_parse(text, strlen(text), cfg, &e) < 0)
        fprintf(stderr, "%s\n", e.msg);
    CHECK(e.status == 0);
}

static void password_hash(void)
{
    char h[200];
    CHECK(auth_hash_password("s3cret", h, sizeof h) == 0);
    CHECK(strncmp(h, "pbkdf2-sha256$", 14) == 0);
    CHECK(auth_check_password("s3cret", h));
    CHECK(!auth_check_password("s3cres", h));
    CHECK(!auth_check_password("", h));
    char h2[200];
    CHECK(auth_hash_password("s3cret", h2, sizeof h2) == 0);
    CHECK(strcmp(h, h2) != 0); /* salted */
    CHECK(!auth_check_password("x", "plain"));
    CHECK(!auth_check_password("x", "pbkdf2-sha256$0$00$00"));
}

static void login_and_validate(void)
{
    struct api_config cfg;
    load(&cfg);
    struct auth_store *s = auth_store_new(&cfg, NULL);
    struct auth_ctx ctx, v;
    char tok[AUTH_TOKEN_MAX];
    struct api_error e = { 0 };
    CHECK(auth_login(s, "alice", "Default", "pw", "demo", NULL, "Default", &ctx, tok, &e) == 0);
    CHECK(strlen(tok) == 64);
    CHECK(auth_has_role(&ctx, "member"));
    CHECK(auth_has_role(&ctx, "reader")); /* implied */
    CHECK(!auth_has_role(&ctx, "admin"));
    CHECK(auth_validate(s, tok, &v, &e) == 0);
    CHECK_STR(v.project_name, "demo");
    CHECK(auth_login(s, "alice", NULL, "wrong", "demo", NULL, NULL, &ctx, tok, &e) < 0);
    CHECK(e.status == 401);
    CHECK(auth_login(s, "mallory", NULL, "pw", "demo", NULL, NULL, &ctx, tok, &e) < 0);
    CHECK(e.status == 401);
    /* alice has no role on "other" */
    CHECK(auth_login(s, "alice", NULL, "pw", "other", NULL, NULL, &ctx, tok, &e) < 0);
    CHECK(e.status == 401);
    CHECK(auth_validate(s, "bogus", &v, &e) < 0 && e.status == 401);
    CHECK(auth_validate(s, NULL, &v, &e) < 0 && e.status == 401);
    CHECK(auth_validate(s, "secret-admin", &v, &e) == 0);
    CHECK(v.is_admin_token && auth_has_role(&v, "admin"));
    CHECK_STR(v.project_name, "demo");
    CHECK(auth_login(s, "alice", NULL, "pw", "demo", NULL, NULL, &ctx, tok, &e) == 0);
    auth_revoke(s, tok);
    CHECK(auth_validate(s, tok, &v, &e) < 0);
    auth_store_free(s);
    config_free(&cfg);
}

static void policy_defaults(void)
{
    struct auth_ctx member = { .authenticated = true, .project_id = "p1" };
    strcpy(member.roles[0], "member");
    strcpy(member.roles[1], "reader");
    member.n_roles = 2;
    struct auth_ctx reader = { .authenticated = true, .project_id = "p1" };
    strcpy(reader.roles[0], "reader");
    reader.n_roles = 1;
    struct auth_ctx admin = { .authenticated = true, .project_id = "p9" };
    strcpy(admin.roles[0], "admin");
    admin.n_roles = 1;
    struct api_error e;
    const char *create = "os_compute_api:os-volumes-attachments:create";
    CHECK(policy_check(&member, create, "p1", &e) == 0);
    CHECK(policy_check(&reader, create, "p1", &e) < 0);
    CHECK(e.status == 403);
    CHECK_STR(e.msg, "Policy doesn't allow os_compute_api:os-volumes-attachments:create to be "
                     "performed.");
    CHECK(policy_check(&member, create, "p2", &e) < 0); /* other project */
    CHECK(policy_check(&admin, create, "p2", &e) == 0);
    CHECK(policy_check(&reader, "os_compute_api:os-volumes-attachments:index", "p1", &e) == 0);
    CHECK(policy_check(&member, "os_compute_api:os-volumes-attachments:swap", "p1", &e) < 0);
    CHECK(policy_check(&admin, "os_compute_api:os-volumes-attachments:swap", "p1", &e) == 0);
    CHECK(policy_check(&member, "os_compute_api:os-instance-actions:events", "p1", &e) < 0);
    CHECK(policy_check(&admin, "no-such-rule", NULL, &e) < 0); /* unknown: deny */
}

static void config_errors(void)
{
    static const struct {
        const char *text, *msg;
    } bad[] = {
        { "{", "config: line" },
        { "{\"database\": \"/x\", \"colour\": 1}", "unknown key \"colour\"" },
        { "{}", "missing \"database\"" },
        { "{\"database\": 5}", "must be a string" },
        { "{\"database\": \"/x\", \"listen\": {\"port\": 70000}}", "listen.port" },
        { "{\"database\": \"/x\", \"hosts\": [{\"name\": \"h\", \"driver\": \"xen\", \"qmp\": \"/q\","
          "\"nbd\": {\"type\": \"unix\", \"path\": \"/n\"}}]}",
          "driver must be" },
        { "{\"database\": \"/x\", \"hosts\": [{\"name\": \"h\", \"driver\": \"qemu\", \"qmp\": \"/q\","
          "\"nbd\": {\"type\": \"unix\", \"path\": \"/n\"}, \"pools\": [{\"name\": \"p\","
          "\"type\": \"lvm\"}]}]}",
          "type must be" },
        { "{\"database\": \"/x\", \"users\": [{\"name\": \"u\", \"password_hash\": \"plain\"}]}",
          "password_hash must come from" },
        { "{\"database\": \"/x\", \"users\": [{\"name\": \"u\", \"password_hash\": "
          "\"pbkdf2-sha256$1$00$00\", \"roles\": {\"nope\": [\"admin\"]}}]}",
          "unknown project" },
        { "{\"database\": \"/x\", \"admin_tokens\": [\"short\"]}", "admin_tokens" },
        { "{\"database\": \"/x\", \"hosts\": [{\"name\": \"h\", \"driver\": \"qemu\","
          "\"qmp\": \"tcp:h1\", \"nbd\": {\"type\": \"unix\", \"path\": \"/n\"}}]}",
          "qmp must be a socket path or tcp:HOST:PORT" },
        { "{\"database\": \"/x\", \"hosts\": [{\"name\": \"h\", \"driver\": \"qemu\","
          "\"qmp\": \"/q\", \"tls\": {\"dir\": \"/pki\"},"
          "\"nbd\": {\"type\": \"unix\", \"path\": \"/n\"}}]}",
          "tls needs a tcp:HOST:PORT qmp address" },
        { "{\"database\": \"/x\", \"hosts\": [{\"name\": \"h\", \"driver\": \"qemu\","
          "\"qmp\": \"tcp:h1:4444\", \"tls\": {\"ca\": \"/pki\"},"
          "\"nbd\": {\"type\": \"unix\", \"path\": \"/n\"}}]}",
          "unknown key \"ca\"" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct api_config cfg;
        struct api_error e = { 0 };
        CHECK(config_parse(bad[i].text, strlen(bad[i].text), &cfg, &e) < 0);
        CHECK_CONTAINS(e.msg, bad[i].msg);
    }
}

static void config_lookups(void)
{
    struct api_config cfg;
    load(&cfg);
    CHECK(cfg.port == 8774 && cfg.token_ttl == 60);
    CHECK(config_project_by_name(&cfg, "demo", "default"));
    CHECK(strlen(config_project_by_name(&cfg, "demo", NULL)->id) == 32);
    CHECK(config_project_by_id(&cfg, "abc"));
    const struct cfg_host *h = NULL;
    CHECK(config_pool(&cfg, "p1", &h) && h && strcmp(h->name, "h1") == 0);
    CHECK(!config_pool(&cfg, "p2", &h));
    CHECK(config_host(&cfg, "h1")->pools[0].is_dir);
    /* derived ids are stable across loads */
    char id[33];
    snprintf(id, sizeof id, "%s", config_project_by_name(&cfg, "demo", NULL)->id);
    config_free(&cfg);
    load(&cfg);
    CHECK_STR(config_project_by_name(&cfg, "demo", NULL)->id, id);
    config_free(&cfg);
}

/* A token issued before a restart is read back from the registry, kept,
 * and validates again; revoked through the restarted node, it is refused
 * at once and after one more restart. */
static void token_from_before_a_restart(void)
{
    struct api_config cfg;
    load(&cfg);
    char dir[] = "/tmp/volswap-auth-XXXXXX", path[64], err[256];
    CHECK(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/reg.db", dir);
    struct registry *r = registry_sqlite_open(path, err, sizeof err);
    CHECK(r);
    struct auth_store *s = auth_store_new(&cfg, r);
    struct auth_ctx ctx, v;
    char tok[AUTH_TOKEN_MAX];
    struct api_error e = { 0 };
    CHECK(auth_login(s, "alice", NULL, "pw", "demo", NULL, NULL, &ctx, tok, &e) == 0);
    auth_store_free(s);
    s = auth_store_new(&cfg, r); /* restarted: nothing issued, nothing kept */
    for (int i = 0; i < 3; i++) {
        CHECK(auth_validate(s, tok, &v, &e) == 0);
        CHECK_STR(v.project_name, "demo");
        CHECK(auth_has_role(&v, "member"));
    }
    auth_revoke(s, tok);
    CHECK(auth_validate(s, tok, &v, &e) < 0 && e.status == 401);
    auth_store_free(s);
    s = auth_store_new(&cfg, r);
    CHECK(auth_validate(s, tok, &v, &e) < 0 && e.status == 401);
    auth_store_free(s);
    r->ops->close(r);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    config_free(&cfg);
}

static const struct unit_case cases[] = {
    { "password-hash", password_hash },     { "login-and-validate", login_and_validate },
    { "policy-defaults", policy_defaults }, { "config-errors", config_errors },
    { "config-lookups", config_lookups },   { "token-from-before-a-restart", token_from_before_a_restart },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    return unit_main(argc, argv, cases);
}
