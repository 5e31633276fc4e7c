/* volswap-api's configuration: the flavors servers are registered with
 * (their default, the keys of one, and what is refused). */
#include "api.h"
#include "unit.h"

static int parse(const char *text, struct api_config *c, struct api_error *e)
{
    memset(c, 0, sizeof *c);
    memset(e, 0, sizeof *e);
    return config_parse(text, strlen(text), c, e);
}

/* Without "flavors" there is the one flavor volswap: 1 vCPU, 512 MB. */
static void flavors_default(void)
{
    struct api_config c;
    struct api_error e;
    CHECK(parse("{\"database\": \"/x\"}", &c, &e) == 0);
    CHECK(c.n_flavors == 1);
    const struct cfg_flavor *f = config_flavor(&c, "volswap");
    CHECK(f && f->vcpus == 1 && f->ram_mb == 512 && f->disk_gb == 0);
    CHECK(!strcmp(f->name, "volswap"));
    config_free(&c);
}

/* Each flavor's keys, their defaults, and the order kept. */
static void flavors_configured(void)
{
    struct api_config c;
    struct api_error e;
    CHECK(parse("{\"database\": \"/x\", \"flavors\": [{\"id\": \"small\"}, {\"id\": \"big\", "
                "\"name\": \"Big\", \"vcpus\": 8, \"ram\": 8192, \"disk\": 40}]}",
                &c, &e) == 0);
    CHECK(c.n_flavors == 2 && !strcmp(c.flavors[0].id, "small") && !strcmp(c.flavors[1].id, "big"));
    CHECK(c.flavors[0].vcpus == 1 && c.flavors[0].ram_mb == 512 &&
          !strcmp(c.flavors[0].name, "small"));
    const struct cfg_flavor *f = config_flavor(&c, "big");
    CHECK(f && f->vcpus == 8 && f->ram_mb == 8192 && f->disk_gb == 40 && !strcmp(f->name, "Big"));
    CHECK(config_flavor(&c, "volswap") == NULL);
    config_free(&c);
}

/* A duplicate id, an empty list, a bad value, an unknown key: each a
 * clear error naming what is wrong. */
static void flavors_refused(void)
{
    static const struct {
        const char *text, *msg;
    } bad[] = {
        { "{\"database\": \"/x\", \"flavors\": [{\"id\": \"a\"}, {\"id\": \"a\"}]}",
          "named twice" },
        { "{\"database\": \"/x\", \"flavors\": []}", "1 to 64 flavors" },
        { "{\"database\": \"/x\", \"flavors\": [{\"id\": \"a\", \"vcpus\": 0}]}", "vcpus" },
        { "{\"database\": \"/x\", \"flavors\": [{\"id\": \"a/b\"}]}", "without '/'" },
        { "{\"database\": \"/x\", \"flavors\": [{\"id\": \"a\", \"swap\": 1}]}", "swap" },
        { "{\"database\": \"/x\", \"flavors\": [{\"name\": \"a\"}]}", "id" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct api_config c;
        struct api_error e;
        CHECK(parse(bad[i].text, &c, &e) < 0);
        if (!strstr(e.msg, bad[i].msg)) {
            fprintf(stderr, "%s: %s\n", bad[i].text, e.msg);
            CHECK(false);
        }
        config_free(&c);
    }
}

static const struct unit_case cases[] = {
    { "flavors-default", flavors_default },
    { "flavors-configured", flavors_configured },
    { "flavors-refused", flavors_refused },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    return unit_main(argc, argv, cases);
}
