/* Every image route through the router in-process (tests/unit/api/
 * harness.h): its success case and one refusal each. */
#include "../harness.h"

const struct th_case image_cases[] = {
    { "versions-ok", TH_NONE, "GET", NULL, "/image/", NULL, NULL, 300, "\"v2.16\"" },
    { "versions-wrong-method", TH_NONE, "POST", NULL, "/image/", NULL, "{}", 405, NULL },
    { "versions-body-too-large", TH_NONE, "GET", NULL, "/image/", NULL, "{BIG}", 413, NULL },
    { "versions-path-ok", TH_NONE, "GET", NULL, "/image/versions", NULL, NULL, 300, "\"v2.16\"" },
    { "versions-path-wrong-method", TH_NONE, "DELETE", NULL, "/image/versions", NULL, NULL, 405,
      NULL },
    { "versions-path-body-too-large", TH_NONE, "GET", NULL, "/image/versions", NULL, "{BIG}", 413,
      NULL },
    { "images-index-ok", TH_NONE, "GET", "alice", "/image/v2/images", NULL, NULL, 200,
      "\"images\":[]" },
    { "images-index-no-token", TH_NONE, "GET", NULL, "/image/v2/images", NULL, NULL, 401, NULL },
    { "images-show-answers-404", TH_NONE, "GET", "alice", "/image/v2/images/cirros", NULL, NULL,
      404, "No image found" },
    { "images-show-no-token", TH_NONE, "GET", NULL, "/image/v2/images/cirros", NULL, NULL, 401,
      NULL },
    { NULL, 0, NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

TH_MAIN(image)
