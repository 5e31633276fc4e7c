/* Every identity route through the router in-process (tests/unit/api/
 * harness.h): its success case and one refusal each. */
#include "../harness.h"

#define LOGIN(user, pw)                                                                 \
    "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": {\"user\": " \
    "{\"name\": \"" user "\", \"domain\": {\"id\": \"default\"}, \"password\": \"" pw   \
    "\"}}}, \"scope\": {\"project\": {\"name\": \"demo\", \"domain\": {\"id\": \"default\"}}}}}"

const struct th_case identity_cases[] = {
    { "version-ok", TH_NONE, "GET", NULL, "/v3", NULL, NULL, 200, "\"v3.14\"" },
    { "version-wrong-method", TH_NONE, "PUT", NULL, "/v3", NULL, "{}", 405, NULL },
    { "version-body-too-large", TH_NONE, "GET", NULL, "/v3", NULL, "{BIG}", 413,
      "Request Entity Too Large" },
    { "tokens-create-ok", TH_NONE, "POST", NULL, "/v3/auth/tokens", NULL, LOGIN("alice", "alicepw"),
      201, "\"catalog\"" },
    { "tokens-create-wrong-password", TH_NONE, "POST", NULL, "/v3/auth/tokens", NULL,
      LOGIN("alice", "nope"), 401, NULL },
    { "tokens-get-ok", TH_NONE, "GET", "alice", "/v3/auth/tokens", "X-Subject-Token: {T}", NULL,
      200, "\"token\"" },
    { "tokens-get-admin-any", TH_NONE, "GET", "admin", "/v3/auth/tokens", "X-Subject-Token: {T}",
      NULL, 200, "\"alice\"" },
    { "tokens-get-others-refused", TH_NONE, "GET", "alice", "/v3/auth/tokens",
      "X-Subject-Token: admin-token-for-tests", NULL, 403, "identity:validate_token" },
    { "tokens-get-unknown-subject", TH_NONE, "GET", "alice", "/v3/auth/tokens",
      "X-Subject-Token: nothing", NULL, 404, "Could not find token" },
    { "tokens-head-ok", TH_NONE, "HEAD", "alice", "/v3/auth/tokens", "X-Subject-Token: {T}", NULL,
      200, NULL },
    { "tokens-head-no-token", TH_NONE, "HEAD", NULL, "/v3/auth/tokens",
      "X-Subject-Token: admin-token-for-tests", NULL, 401, NULL },
    { "tokens-delete-ok", TH_NONE, "DELETE", "alice", "/v3/auth/tokens", "X-Subject-Token: {T}",
      NULL, 204, NULL },
    { "tokens-delete-admin-token-refused", TH_NONE, "DELETE", "alice", "/v3/auth/tokens",
      "X-Subject-Token: admin-token-for-tests", NULL, 404, NULL },
    { "projects-list-ok", TH_NONE, "GET", "admin", "/v3/projects", NULL, NULL, 200,
      "\"name\":\"other\"" },
    { "projects-list-member-refused", TH_NONE, "GET", "alice", "/v3/projects", NULL, NULL, 403,
      "identity:list_projects" },
    { "projects-show-ok", TH_NONE, "GET", "alice", "/v3/projects/{P}", NULL, NULL, 200, "{P}" },
    { "projects-show-other-refused", TH_NONE, "GET", "alice", "/v3/projects/{O}", NULL, NULL, 403,
      "identity:get_project" },
    { "root-versions-ok", TH_NONE, "GET", NULL, "/identity/", NULL, NULL, 300, "\"v3.14\"" },
    { "root-versions-body-too-large", TH_NONE, "GET", NULL, "/identity/", NULL, "{BIG}", 413,
      "Request Entity Too Large" },
    { "prefixed-tokens-create-ok", TH_NONE, "POST", NULL, "/identity/v3/auth/tokens", NULL,
      LOGIN("alice", "alicepw"), 201, "/identity/v3" },
    { "auth-catalog-ok", TH_NONE, "GET", "alice", "/v3/auth/catalog", NULL, NULL, 200,
      "\"type\":\"compute\"" },
    { "auth-catalog-no-token", TH_NONE, "GET", NULL, "/v3/auth/catalog", NULL, NULL, 401, NULL },
    { "user-projects-ok", TH_NONE, "GET", "alice", "/v3/users/{U}/projects", NULL, NULL, 200,
      "\"name\":\"demo\"" },
    { "user-projects-others-refused", TH_NONE, "GET", "bob", "/v3/users/{U}/projects", NULL, NULL,
      403, "identity:list_user_projects" },
    { "user-projects-admin-unknown-user", TH_NONE, "GET", "admin", "/v3/users/nobody/projects",
      NULL, NULL, 404, "Could not find user" },
    { "domains-list-ok", TH_NONE, "GET", "admin", "/v3/domains", NULL, NULL, 200,
      "\"id\":\"default\"" },
    { "domains-list-member-refused", TH_NONE, "GET", "alice", "/v3/domains", NULL, NULL, 403,
      "identity:list_domains" },
    { "domains-show-ok", TH_NONE, "GET", "alice", "/v3/domains/default", NULL, NULL, 200,
      "\"name\":\"Default\"" },
    { "domains-show-missing", TH_NONE, "GET", "alice", "/v3/domains/nowhere", NULL, NULL, 404,
      "Could not find domain" },
    { NULL, 0, NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

TH_MAIN(identity)
