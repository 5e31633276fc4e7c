/* Keystone's side of volswap-api: password hashes and tokens.
 * Passwords are stored as "pbkdf2-sha256$ITER$SALT$HASH" (GnuTLS PBKDF2,
 * hex fields) and compared in constant time. Tokens are random 32-byte ids;
 * like Keystone's fernet tokens they are bearer secrets. Each is recorded
 * in the registry (its SHA-256, so a copy of the database grants nothing,
 * with its scope and expiry) and cached in memory: a restarted volswap-api
 * still honours the tokens it issued, and a revocation holds across
 * restarts. The cache is capped and expired tokens are purged from both as
 * new ones are issued, so a login storm cannot grow memory without bound.
 * On a registry several nodes share (PostgreSQL) every validation still
 * looks the token's record up, so a revocation through any node holds on
 * every node at once.
 * Fixed admin tokens from the config authenticate as the admin role in the
 * configured admin project (Keystone's admin_token).
 * With a Fernet key repository in the config (fernet.c), tokens are
 * Keystone's Fernet tokens instead: nothing is recorded when one is
 * issued, any node holding the keys opens it, and a revocation is an event
 * in the registry (keyed by the token's audit id) that every node looks
 * for at each validation. */
#include "domain.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define PBKDF2_ITER 10000
#define MAX_TOKENS  100000

int auth_hash_password(const char *password, char *out, size_t outlen)
{
    char salt[33];
    api_random_hex(salt, 16);
    unsigned char hash[32];
    gnutls_datum_t key = { (unsigned char *)password, (unsigned)strlen(password) };
    gnutls_datum_t s = { (unsigned char *)salt, 32 };
    if (gnutls_pbkdf2(GNUTLS_MAC_SHA256, &key, &s, PBKDF2_ITER, hash, sizeof hash) != 0)
        return -1;
    int n = snprintf(out, outlen, "pbkdf2-sha256$%d$%s$", PBKDF2_ITER, salt);
    for (size_t i = 0; i < sizeof hash && n > 0 && (size_t)n + 2 < outlen; i++)
        n += snprintf(out + n, outlen - (size_t)n, "%02x", hash[i]);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

bool auth_check_password(const char *password, const char *stored)
{
    unsigned iter = 0;
    char salt[65] = "", hex[65] = "";
    if (sscanf(stored, "pbkdf2-sha256$%u$%64[0-9a-f]$%64[0-9a-f]", &iter, salt, hex) != 3 ||
        iter == 0 || iter > 10000000 || strlen(hex) != 64)
        return false;
    unsigned char hash[32];
    gnutls_datum_t key = { (unsigned char *)password, (unsigned)strlen(password) };
    gnutls_datum_t s = { (unsigned char *)salt, (unsigned)strlen(salt) };
    if (gnutls_pbkdf2(GNUTLS_MAC_SHA256, &key, &s, iter, hash, sizeof hash) != 0)
        return false;
    char got[65];
    for (size_t i = 0; i < sizeof hash; i++)
        sprintf(got + 2 * i, "%02x", hash[i]);
    unsigned char diff = 0;
    for (size_t i = 0; i < 64; i++)
        diff |= (unsigned char)(got[i] ^ hex[i]);
    return diff == 0;
}

struct token {
    char id[65];
    struct auth_ctx ctx;
};

struct auth_store {
    const struct api_config *cfg;
    struct registry *reg; /* NULL: tokens live in memory only */
    pthread_mutex_t lock;
    struct token *tokens;
    size_t n, cap;
    /* Fernet tokens (the config's fernet_keys): the repository's keys,
     * read again when the directory changed (looked at once a second, so
     * a rotation reaches every node without a restart) */
    bool fernet;
    pthread_mutex_t keys_lock;
    struct fernet_keys keys;
    struct timespec keys_mtime;
    time_t keys_checked;
};

struct auth_store *auth_store_new(const struct api_config *cfg, struct registry *reg)
{
    struct auth_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = cfg;
    s->reg = reg;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->keys_lock, NULL);
    if (cfg->fernet_keys[0]) {
        struct api_error e = { 0 };
        struct stat st;
        if (stat(cfg->fernet_keys, &st) == 0)
            s->keys_mtime = st.st_mtim;
        if (fernet_keys_load(cfg->fernet_keys, &s->keys, &e) < 0) {
            vs_warn("%s", e.msg);
            auth_store_free(s);
            return NULL;
        }
        s->fernet = true;
        s->keys_checked = time(NULL);
    }
    if (reg)
        reg->ops->token_purge(reg, (int64_t)time(NULL));
    return s;
}

static bool copy_str(json_t *o, const char *key, char *out, size_t len);

/* The repository's keys as they are now (a copy). */
static void current_keys(struct auth_store *s, struct fernet_keys *out)
{
    API_LOCK_SCOPE(&s->keys_lock);
    time_t now = time(NULL);
    struct stat st;
    if (now != s->keys_checked && stat(s->cfg->fernet_keys, &st) == 0 &&
        (st.st_mtim.tv_sec != s->keys_mtime.tv_sec ||
         st.st_mtim.tv_nsec != s->keys_mtime.tv_nsec)) {
        struct fernet_keys k;
        struct api_error e = { 0 };
        if (fernet_keys_load(s->cfg->fernet_keys, &k, &e) == 0) {
            s->keys = k;
            s->keys_mtime = st.st_mtim;
        } else {
            vs_warn("keeping the fernet keys read before: %s", e.msg);
        }
    }
    s->keys_checked = now;
    *out = s->keys;
}

/* A Fernet token's payload: who (user, project), until when, the audit
 * ids and whether it was re-scoped from a token. Roles are not in it:
 * they are the user's at validation, as for every token here. */
static int fernet_issue(struct auth_store *s, const struct auth_ctx *c, char *token, size_t len)
{
    json_t *audit = json_array();
    for (size_t i = 0; i < c->n_audit_ids; i++)
        json_array_append_new(audit, json_string(c->audit_ids[i]));
    json_t *o = json_pack("{s:s,s:s,s:I,s:o,s:b}", "u", c->user_id, "p", c->project_id, "e",
                          (json_int_t)c->expires, "a", audit, "t", c->by_token);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    struct fernet_keys k;
    current_keys(s, &k);
    int rc = text ? fernet_encrypt(&k, text, strlen(text), c->issued, token, len) : -1;
    free(text);
    return rc;
}

/* Opens TOKEN as a Fernet token of this repository into CTX (without its
 * roles, which refresh_identity gives). */
static bool fernet_open(struct auth_store *s, const char *token, struct auth_ctx *c)
{
    char payload[FERNET_MAX_PAYLOAD + 16];
    size_t n = 0;
    time_t issued;
    struct fernet_keys k;
    current_keys(s, &k);
    if (fernet_decrypt(&k, token, payload, &n, &issued) < 0)
        return false;
    json_error_t jerr;
    json_t *o = json_loadb(payload, n, JSON_REJECT_DUPLICATES, &jerr);
    json_t *audit = json_object_get(o, "a"), *exp = json_object_get(o, "e");
    memset(c, 0, sizeof *c);
    bool ok = json_is_object(o) && json_is_integer(exp) && json_is_array(audit) &&
              json_array_size(audit) >= 1 && json_array_size(audit) <= 2 &&
              copy_str(o, "u", c->user_id, sizeof c->user_id) &&
              copy_str(o, "p", c->project_id, sizeof c->project_id);
    for (size_t i = 0; ok && i < json_array_size(audit); i++) {
        const char *a = json_string_value(json_array_get(audit, i));
        if (!a || strlen(a) >= sizeof c->audit_ids[0])
            ok = false;
        else
            memcpy(c->audit_ids[c->n_audit_ids++], a, strlen(a) + 1);
    }
    if (ok) {
        c->expires = (time_t)json_integer_value(exp);
        c->by_token = json_is_true(json_object_get(o, "t"));
        c->issued = issued;
        c->authenticated = true;
    }
    json_decref(o);
    return ok;
}

/* A revocation event: a row of the token table keyed by the audit id of
 * the revoked token, kept until the token would have expired. */
static void revocation_key(const char *audit_id, char out[65])
{
    snprintf(out, 65, "revoked-%.22s", audit_id);
}

static bool fernet_revoked(struct auth_store *s, const struct auth_ctx *c)
{
    if (!s->reg)
        return false;
    struct reg_token t;
    char key[65];
    revocation_key(c->audit_ids[0], key);
    /* a registry that cannot answer refuses the token rather than miss a
     * revocation */
    return s->reg->ops->token_get(s->reg, key, &t) != 1;
}

/* Is the registry shared with other nodes (PostgreSQL)? Then a token
 * this node has cached may have been revoked through another, and the
 * cache only spares decoding its record, never the look-up. */
static bool registry_shared(const struct auth_store *s)
{
    return s->reg && strcmp(s->reg->ops->name, "sqlite") != 0;
}

/* Drops TOKEN from this node's cache. */
static void forget(struct auth_store *s, const char *token)
{
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->tokens[i].id, token) == 0) {
            s->tokens[i] = s->tokens[--s->n];
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
}

/* On a shared registry every validation hashes its token: the hex
 * digits are written by hand, not formatted (32 sprintf calls cost more
 * than the hash). */
static void token_hash(const char *token, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[32];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, token, strlen(token), d) != 0)
        memset(d, 0, sizeof d); /* cannot happen; matches no stored hash */
    for (size_t i = 0; i < sizeof d; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}

/* What a token authorises, as stored in the registry. */
static int ctx_encode(const struct auth_ctx *c, char *out, size_t len)
{
    json_t *roles = json_array();
    for (size_t i = 0; i < c->n_roles; i++)
        json_array_append_new(roles, json_string(c->roles[i]));
    json_t *audit = json_array();
    for (size_t i = 0; i < c->n_audit_ids; i++)
        json_array_append_new(audit, json_string(c->audit_ids[i]));
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:b,s:I}", "user_id", c->user_id, "user_name",
                          c->user_name, "project_id", c->project_id, "project_name",
                          c->project_name, "roles", roles, "audit_ids", audit, "by_token",
                          c->by_token, "issued", (json_int_t)c->issued);
    size_t n = o ? json_dumpb(o, out, len - 1, JSON_COMPACT) : 0;
    json_decref(o);
    if (n == 0 || n >= len - 1)
        return -1;
    out[n] = '\0';
    return 0;
}

static bool copy_str(json_t *o, const char *key, char *out, size_t len)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (!v || strlen(v) >= len)
        return false;
    memcpy(out, v, strlen(v) + 1);
    return true;
}

/* A token recorded before tokens kept their audit id gets one derived from
 * its hash: the same at every validation. */
static bool ctx_decode(const char *text, const char *id_hash, time_t expires, struct auth_ctx *c)
{
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    json_t *roles = json_object_get(o, "roles");
    bool ok = json_is_array(roles) && json_array_size(roles) <= AUTH_MAX_ROLES &&
              copy_str(o, "user_id", c->user_id, sizeof c->user_id) &&
              copy_str(o, "user_name", c->user_name, sizeof c->user_name) &&
              copy_str(o, "project_id", c->project_id, sizeof c->project_id) &&
              copy_str(o, "project_name", c->project_name, sizeof c->project_name);
    for (size_t i = 0; ok && i < json_array_size(roles); i++) {
        const char *r = json_string_value(json_array_get(roles, i));
        if (!r || strlen(r) >= sizeof c->roles[0])
            ok = false;
        else
            memcpy(c->roles[c->n_roles++], r, strlen(r) + 1);
    }
    json_t *audit = json_object_get(o, "audit_ids");
    for (size_t i = 0; ok && i < json_array_size(audit) && i < 2; i++) {
        const char *a = json_string_value(json_array_get(audit, i));
        if (!a || strlen(a) >= sizeof c->audit_ids[0])
            ok = false;
        else
            memcpy(c->audit_ids[c->n_audit_ids++], a, strlen(a) + 1);
    }
    if (ok && c->n_audit_ids == 0) {
        snprintf(c->audit_ids[0], sizeof c->audit_ids[0], "%.22s", id_hash);
        c->n_audit_ids = 1;
    }
    c->by_token = json_is_true(json_object_get(o, "by_token"));
    json_t *issued = json_object_get(o, "issued");
    c->issued = json_is_integer(issued) ? (time_t)json_integer_value(issued) : 0;
    json_decref(o);
    c->authenticated = ok;
    c->expires = expires;
    return ok;
}

void auth_store_free(struct auth_store *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->keys_lock);
    free(s->tokens);
    free(s);
}

static void purge_expired(struct auth_store *s, time_t now)
{
    size_t w = 0;
    for (size_t r = 0; r < s->n; r++)
        if (s->tokens[r].ctx.expires > now)
            s->tokens[w++] = s->tokens[r];
    s->n = w;
}

bool auth_has_role(const struct auth_ctx *ctx, const char *role)
{
    for (size_t i = 0; i < ctx->n_roles; i++)
        if (strcmp(ctx->roles[i], role) == 0)
            return true;
    return false;
}

/* Keystone's default implied roles: admin implies member implies reader. */
static void add_role(struct auth_ctx *ctx, const char *role)
{
    if (auth_has_role(ctx, role) || ctx->n_roles >= AUTH_MAX_ROLES)
        return;
    /* every validation comes here: a copy, not a formatting */
    char *dst = ctx->roles[ctx->n_roles++];
    size_t n = strnlen(role, sizeof ctx->roles[0] - 1);
    memcpy(dst, role, n);
    dst[n] = '\0';
    if (strcmp(role, "admin") == 0)
        add_role(ctx, "member");
    else if (strcmp(role, "member") == 0)
        add_role(ctx, "reader");
}

/* Fills CTX's project and roles from USER's roles in the project named
 * (by id, or by name and domain); no project leaves CTX unscoped. */
static int scope_to_project(const struct api_config *cfg, const struct cfg_user *u,
                            const char *project, const char *project_id, const char *project_domain,
                            struct auth_ctx *ctx, struct api_error *e)
{
    const struct cfg_project *p = NULL;
    if (project_id)
        p = config_project_by_id(cfg, project_id);
    else if (project)
        p = config_project_by_name(cfg, project, project_domain);
    if ((project || project_id) && !p)
        return api_err(e, 401, "The request you have made requires authentication.");
    if (!p)
        return 0;
    snprintf(ctx->project_id, sizeof ctx->project_id, "%s", p->id);
    snprintf(ctx->project_name, sizeof ctx->project_name, "%s", p->name);
    for (size_t i = 0; i < u->n_roles; i++)
        if (strcmp(u->roles[i].project, p->name) == 0)
            add_role(ctx, u->roles[i].role);
    if (ctx->n_roles == 0)
        return api_err(e, 401, "User %s has no access to project %s", u->id, p->id);
    return 0;
}

/* Keeps TOKEN's CTX in this node's cache, under the lock, making room as
 * issue_token does (expired ones go first, then the cache grows up to
 * MAX_TOKENS); a token that finds no room is simply not kept. A token read
 * back from the registry (issued before a restart) is kept too: before, a
 * restarted node that had issued nothing had no room, and decoded every
 * such token's record again at each of its requests. */
static void cache_put(struct auth_store *s, const char *token, const struct auth_ctx *ctx,
                      time_t now)
{
    if (strlen(token) >= sizeof s->tokens[0].id)
        return;
    if (s->n == s->cap)
        purge_expired(s, now);
    if (s->n == s->cap && s->cap < MAX_TOKENS) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        struct token *nt = realloc(s->tokens, ncap * sizeof *nt);
        if (!nt)
            return;
        s->tokens = nt;
        s->cap = ncap;
    }
    if (s->n == s->cap)
        return;
    memcpy(s->tokens[s->n].id, token, strlen(token) + 1);
    s->tokens[s->n].ctx = *ctx;
    s->n++;
}

/* Gives CTX (who, what scope, when it expires) a new token id and a new
 * audit id, keeps it in memory and records it in the registry. */
static int issue_token(struct auth_store *s, struct auth_ctx *ctx, char token[AUTH_TOKEN_MAX],
                       struct api_error *e)
{
    time_t now = time(NULL);
    ctx->issued = now;
    /* the chain's first audit id stays second, as Keystone's does */
    if (ctx->n_audit_ids > 0)
        memcpy(ctx->audit_ids[1], ctx->audit_ids[ctx->n_audit_ids - 1], sizeof ctx->audit_ids[1]);
    api_random_hex(ctx->audit_ids[0], 11);
    ctx->n_audit_ids = ctx->n_audit_ids > 0 ? 2 : 1;
    if (s->fernet) {
        /* nothing to record: any node with the keys opens it */
        if (fernet_issue(s, ctx, token, AUTH_TOKEN_MAX) < 0)
            return api_err(e, 500, "Cannot make the token.");
        return 0;
    }
    api_random_hex(token, 32);
    pthread_mutex_lock(&s->lock);
    if (s->n == s->cap) {
        purge_expired(s, now);
        if (s->reg)
            s->reg->ops->token_purge(s->reg, (int64_t)now);
    }
    if (s->n == s->cap) {
        if (s->cap >= MAX_TOKENS) {
            pthread_mutex_unlock(&s->lock);
            return api_err(e, 503, "Too many active tokens; try again later.");
        }
        size_t ncap = s->cap ? s->cap * 2 : 64;
        struct token *nt = realloc(s->tokens, ncap * sizeof *nt);
        if (!nt) {
            pthread_mutex_unlock(&s->lock);
            return api_err(e, 503, "out of memory");
        }
        s->tokens = nt;
        s->cap = ncap;
    }
    snprintf(s->tokens[s->n].id, sizeof s->tokens[0].id, "%s", token);
    s->tokens[s->n].ctx = *ctx;
    s->n++;
    pthread_mutex_unlock(&s->lock);
    if (s->reg) {
        struct reg_token t = { .expires = (int64_t)ctx->expires };
        token_hash(token, t.id_hash);
        if (ctx_encode(ctx, t.auth, sizeof t.auth) < 0 || s->reg->ops->token_put(s->reg, &t) < 0) {
            auth_revoke(s, token);
            return api_err(e, 503, "Cannot record the token: %s", s->reg->ops->last_error(s->reg));
        }
    }
    return 0;
}

int auth_login(struct auth_store *s, const char *user, const char *user_domain,
               const char *password, const char *project, const char *project_id,
               const char *project_domain, struct auth_ctx *ctx, char token[AUTH_TOKEN_MAX],
               struct api_error *e)
{
    const struct api_config *cfg = s->cfg;
    const struct cfg_user *u = NULL;
    for (size_t i = 0; i < cfg->n_users; i++) {
        if (strcmp(cfg->users[i].name, user) == 0 &&
            (!user_domain || strcasecmp(cfg->users[i].domain, user_domain) == 0)) {
            u = &cfg->users[i];
            break;
        }
    }
    /* Keystone answers the same 401 whether the user or the password is wrong */
    if (!u || !u->enabled || !auth_check_password(password, u->password_hash))
        return api_err(e, 401, "The request you have made requires authentication.");
    memset(ctx, 0, sizeof *ctx);
    ctx->authenticated = true;
    snprintf(ctx->user_id, sizeof ctx->user_id, "%s", u->id);
    snprintf(ctx->user_name, sizeof ctx->user_name, "%s", u->name);
    if (scope_to_project(cfg, u, project, project_id, project_domain, ctx, e) < 0)
        return -1;
    ctx->expires = time(NULL) + cfg->token_ttl;
    return issue_token(s, ctx, token, e);
}

int auth_rescope(struct auth_store *s, const char *parent, const char *project,
                 const char *project_id, const char *project_domain, struct auth_ctx *ctx,
                 char token[AUTH_TOKEN_MAX], struct api_error *e)
{
    struct auth_ctx p;
    if (auth_validate(s, parent, &p, e) < 0)
        return -1;
    /* an operator's admin token names no user to scope */
    if (p.is_admin_token)
        return api_err(e, 401, "The request you have made requires authentication.");
    const struct cfg_user *u = NULL;
    for (size_t i = 0; i < s->cfg->n_users; i++)
        if (strcmp(s->cfg->users[i].id, p.user_id) == 0)
            u = &s->cfg->users[i];
    if (!u || !u->enabled)
        return api_err(e, 401, "The request you have made requires authentication.");
    memset(ctx, 0, sizeof *ctx);
    ctx->authenticated = true;
    snprintf(ctx->user_id, sizeof ctx->user_id, "%s", u->id);
    snprintf(ctx->user_name, sizeof ctx->user_name, "%s", u->name);
    if (scope_to_project(s->cfg, u, project, project_id, project_domain, ctx, e) < 0)
        return -1;
    ctx->expires = p.expires;
    ctx->by_token = true;
    memcpy(ctx->audit_ids, p.audit_ids, sizeof ctx->audit_ids);
    ctx->n_audit_ids = p.n_audit_ids;
    return issue_token(s, ctx, token, e);
}

static bool str_eq_ct(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/* What a token grants is what its user holds now: a token names a user
 * and a project, and the roles come from the current configuration (a
 * restart with a removed or disabled user, or fewer roles, takes effect
 * for tokens issued before it). False when the user is gone or disabled,
 * or has no role left in the token's project. */
static bool refresh_identity(const struct api_config *cfg, struct auth_ctx *ctx)
{
    const struct cfg_user *u = NULL;
    for (size_t i = 0; i < cfg->n_users && !u; i++)
        if (strcmp(cfg->users[i].id, ctx->user_id) == 0)
            u = &cfg->users[i];
    if (!u || !u->enabled)
        return false;
    if (!ctx->project_id[0])
        return true;
    const struct cfg_project *p = config_project_by_id(cfg, ctx->project_id);
    if (!p)
        return false;
    ctx->n_roles = 0;
    for (size_t i = 0; i < u->n_roles; i++)
        if (strcmp(u->roles[i].project, p->name) == 0)
            add_role(ctx, u->roles[i].role);
    return ctx->n_roles > 0;
}

int auth_validate(struct auth_store *s, const char *token, struct auth_ctx *ctx,
                  struct api_error *e)
{
    memset(ctx, 0, sizeof *ctx);
    if (!token || !*token)
        return api_err(e, 401, "The request you have made requires authentication.");
    const struct api_config *cfg = s->cfg;
    for (size_t i = 0; i < cfg->n_admin_tokens; i++) {
        if (str_eq_ct(token, cfg->admin_tokens[i])) {
            ctx->authenticated = true;
            ctx->is_admin_token = true;
            snprintf(ctx->user_id, sizeof ctx->user_id, "admin_token");
            snprintf(ctx->user_name, sizeof ctx->user_name, "admin_token");
            const struct cfg_project *p = config_project_by_name(cfg, cfg->admin_project, NULL);
            if (p) {
                snprintf(ctx->project_id, sizeof ctx->project_id, "%s", p->id);
                snprintf(ctx->project_name, sizeof ctx->project_name, "%s", p->name);
            }
            add_role(ctx, "admin");
            ctx->expires = 0;
            char h[65];
            token_hash(token, h);
            snprintf(ctx->audit_ids[0], sizeof ctx->audit_ids[0], "%.22s", h);
            ctx->n_audit_ids = 1;
            return 0;
        }
    }
    time_t now = time(NULL);
    int rc = -1;
    if (s->fernet && fernet_open(s, token, ctx)) {
        const struct cfg_user *u = NULL;
        for (size_t i = 0; i < cfg->n_users && !u; i++)
            if (strcmp(cfg->users[i].id, ctx->user_id) == 0)
                u = &cfg->users[i];
        const struct cfg_project *p =
            ctx->project_id[0] ? config_project_by_id(cfg, ctx->project_id) : NULL;
        if (u && ctx->expires > now && !fernet_revoked(s, ctx) && refresh_identity(cfg, ctx)) {
            snprintf(ctx->user_name, sizeof ctx->user_name, "%s", u->name);
            if (p)
                snprintf(ctx->project_name, sizeof ctx->project_name, "%s", p->name);
            return 0;
        }
        memset(ctx, 0, sizeof *ctx);
        return api_err(e, 401, "The request you have made requires authentication.");
    }
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->tokens[i].id, token) == 0) {
            if (s->tokens[i].ctx.expires > now) {
                *ctx = s->tokens[i].ctx;
                rc = 0;
            }
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (rc == 0 && registry_shared(s)) {
        /* another node may have revoked it: its row is the truth (a
         * registry that cannot answer refuses, as for Fernet tokens) */
        struct reg_token t;
        char h[65];
        token_hash(token, h);
        if (s->reg->ops->token_get(s->reg, h, &t) != 0) {
            forget(s, token);
            memset(ctx, 0, sizeof *ctx);
            rc = -1;
        }
    }
    if (rc < 0 && s->reg) {
        /* Issued before a restart: the registry has it. */
        struct reg_token t;
        char h[65];
        token_hash(token, h);
        if (s->reg->ops->token_get(s->reg, h, &t) == 0 && t.expires > (int64_t)now &&
            ctx_decode(t.auth, h, (time_t)t.expires, ctx)) {
            rc = 0;
            pthread_mutex_lock(&s->lock);
            cache_put(s, token, ctx, now);
            pthread_mutex_unlock(&s->lock);
        } else {
            memset(ctx, 0, sizeof *ctx);
        }
    }
    if (rc == 0 && !refresh_identity(cfg, ctx)) {
        memset(ctx, 0, sizeof *ctx);
        rc = -1;
    }
    if (rc < 0)
        return api_err(e, 401, "The request you have made requires authentication.");
    return 0;
}

void auth_revoke(struct auth_store *s, const char *token)
{
    struct auth_ctx c;
    if (s->fernet && fernet_open(s, token, &c)) {
        /* every node looks for the event at each validation */
        struct reg_token t = { .expires = (int64_t)c.expires };
        revocation_key(c.audit_ids[0], t.id_hash);
        snprintf(t.auth, sizeof t.auth, "{}");
        if (s->reg && s->reg->ops->token_put(s->reg, &t) < 0)
            vs_warn("cannot record a token's revocation: %s",
                    s->reg->ops->last_error(s->reg));
        return;
    }
    forget(s, token);
    if (s->reg) {
        char h[65];
        token_hash(token, h);
        s->reg->ops->token_delete(s->reg, h);
    }
}
