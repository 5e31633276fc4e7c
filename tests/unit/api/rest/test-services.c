/* Cinder's services across requests, in-process: a disabled service is
 * listed so with its reason and takes no new volume until enabled. */
#include "../harness.h"

static struct th t;

static void disabled_service_takes_no_volume(void)
{
    struct th_reply r;
    th_call(&t, &r, "PUT", t.admin, NULL,
            "{\"host\": \"host1@volswap\", \"binary\": \"cinder-volume\", "
            "\"disabled_reason\": \"disk swap\"}",
            "/v3/%s/os-services/disable-log-reason", t.demo);
    CHECK_STATUS(&r, 200);
    th_reply_free(&r);
    th_call(&t, &r, "GET", t.admin, NULL, NULL, "/v3/%s/os-services", t.demo);
    CHECK_CONTAINS(th_body(&r), "\"status\":\"disabled\"");
    CHECK_CONTAINS(th_body(&r), "\"disabled_reason\":\"disk swap\"");
    th_reply_free(&r);
    th_call(&t, &r, "POST", t.alice, NULL, "{\"volume\": {\"size\": 1}}", "/v3/%s/volumes", t.demo);
    CHECK_STATUS(&r, 400);
    CHECK_CONTAINS(th_body(&r), "No valid backend was found");
    th_reply_free(&r);
    th_call(&t, &r, "PUT", t.admin, NULL,
            "{\"host\": \"host1@volswap\", \"binary\": \"cinder-volume\"}",
            "/v3/%s/os-services/enable", t.demo);
    CHECK_STATUS(&r, 200);
    CHECK_CONTAINS(th_body(&r), "\"status\":\"enabled\"");
    th_reply_free(&r);
    th_call(&t, &r, "GET", t.admin, NULL, NULL, "/v3/%s/os-services", t.demo);
    CHECK_CONTAINS(th_body(&r), "\"disabled_reason\":null");
    th_reply_free(&r);
    th_call(&t, &r, "POST", t.alice, NULL, "{\"volume\": {\"size\": 1}}", "/v3/%s/volumes", t.demo);
    CHECK_STATUS(&r, 202);
    th_reply_free(&r);
}

static const struct unit_case cases[] = {
    { "disabled-service-takes-no-volume", disabled_service_takes_no_volume },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    th_setup(&t, true, false);
    int rc = unit_main(argc, argv, cases);
    th_teardown(&t);
    return rc;
}
