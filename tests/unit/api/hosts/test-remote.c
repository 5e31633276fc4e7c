/* Volumes on another host: the pure pieces of drivers.c's cross-host
 * attach (which pairs of hosts can reach each other, the compute host's
 * nbd node, the storage export connection_info names, which host's pool
 * holds a path) and the config keys they read. Against real daemons in
 * network namespaces: tests/integration/hosts. */
#include "hosts/hosts.h"
#include "../unit.h"

#include <stdio.h>
#include <string.h>

static const char *cluster =
    "{\"database\": \"/x\", \"hosts\": ["
    "{\"name\": \"c1\", \"driver\": \"volswapd\", \"qmp\": \"tcp:10.0.0.11:4444\","
    " \"nbd\": {\"type\": \"inet\", \"host\": \"10.0.0.11\", \"port\": 10809,"
    " \"client_tls_creds\": \"ctls\", \"reconnect_delay\": 7},"
    " \"pools\": [{\"name\": \"p1\", \"type\": \"dir\", \"path\": \"/srv/p1/\"}]},"
    "{\"name\": \"s1\", \"driver\": \"volswapd\", \"qmp\": \"tcp:10.0.0.21:4444\","
    " \"nbd\": {\"type\": \"inet\", \"host\": \"10.0.0.21\", \"port\": 10809,"
    " \"tls_creds\": \"ntls\"},"
    " \"pools\": [{\"name\": \"p2\", \"type\": \"dir\", \"path\": \"/srv/p2\"},"
    "             {\"name\": \"b2\", \"type\": \"block\", \"devices\": [\"/dev/sdz\"]}]},"
    "{\"name\": \"s2\", \"driver\": \"qemu\", \"qmp\": \"/run/s2.sock\","
    " \"nbd\": {\"type\": \"unix\", \"path\": \"/run/s2-nbd.sock\"}},"
    "{\"name\": \"l1\", \"driver\": \"libvirt\", \"uri\": \"qemu:///system\"}]}";

static struct api_config cfg;

static void load(void)
{
    struct api_error e = { 0 };
    memset(&cfg, 0, sizeof cfg);
    CHECK_EQ(config_parse(cluster, strlen(cluster), &cfg, &e), 0);
}

static void config_keys(void)
{
    load();
    CHECK_STR(cfg.hosts[0].nbd_client_tls_creds, "ctls");
    CHECK_EQ(cfg.hosts[0].nbd_reconnect_delay, 7);
    CHECK_EQ(cfg.hosts[1].nbd_reconnect_delay, 5); /* the default */
    config_free(&cfg);
    struct api_error e = { 0 };
    const char *bad =
        "{\"database\": \"/x\", \"hosts\": [{\"name\": \"h\", \"driver\": \"volswapd\","
        " \"qmp\": \"/q\", \"nbd\": {\"type\": \"unix\", \"path\": \"/n\","
        " \"reconnect_delay\": -1}}]}";
    memset(&cfg, 0, sizeof cfg);
    CHECK_EQ(config_parse(bad, strlen(bad), &cfg, &e), -1);
    CHECK_CONTAINS(e.msg, "reconnect_delay");
    config_free(&cfg);
}

static void storage_check(void)
{
    load();
    struct api_error e = { 0 };
    const struct cfg_host *c1 = &cfg.hosts[0], *s1 = &cfg.hosts[1], *s2 = &cfg.hosts[2],
                          *l1 = &cfg.hosts[3];
    CHECK_EQ(host_storage_check(c1, s1, &e), 0);
    CHECK_EQ(host_storage_check(c1, s2, &e), 0);
    /* s1 requires TLS and s2 has no client credentials */
    CHECK_EQ(host_storage_check(s2, s1, &e), -1);
    CHECK_EQ(e.status, 400);
    CHECK_CONTAINS(e.msg, "client_tls_creds");
    /* a libvirt compute host's QEMU has its own client certificate
     * (qemu.conf), so it may open s1's TLS exports without one named */
    CHECK_EQ(host_storage_check(l1, s1, &e), 0);
    CHECK_EQ(host_storage_check(l1, s2, &e), 0);
    CHECK_EQ(host_storage_check(c1, l1, &e), -1);
    CHECK_CONTAINS(e.msg, "libvirt");
    config_free(&cfg);
}

static void remote_blockdev(void)
{
    load();
    json_t *a = host_remote_blockdev(&cfg.hosts[0], &cfg.hosts[1], "vol-abc");
    CHECK_STR(json_string_value(json_object_get(a, "driver")), "nbd");
    CHECK_STR(json_string_value(json_object_get(a, "node-name")), "vol-abc");
    CHECK_STR(json_string_value(json_object_get(a, "export")), "vol-abc");
    CHECK_STR(json_string_value(json_object_get(a, "tls-creds")), "ctls");
    CHECK_EQ(json_integer_value(json_object_get(a, "reconnect-delay")), 7);
    json_t *srv = json_object_get(a, "server");
    CHECK_STR(json_string_value(json_object_get(srv, "host")), "10.0.0.21");
    CHECK_STR(json_string_value(json_object_get(srv, "port")), "10809");
    json_decref(a);
    /* a storage host without TLS: no credentials named */
    a = host_remote_blockdev(&cfg.hosts[0], &cfg.hosts[2], "vol-abc");
    CHECK(json_object_get(a, "tls-creds") == NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(a, "server"), "path")),
              "/run/s2-nbd.sock");
    json_decref(a);
    config_free(&cfg);
}

static void storage_info(void)
{
    load();
    json_t *o = host_storage_info(&cfg.hosts[1], "vol-abc");
    CHECK_STR(json_string_value(json_object_get(o, "host")), "s1");
    CHECK_STR(json_string_value(json_object_get(o, "export_id")), "sx-vol-abc");
    CHECK_STR(json_string_value(json_object_get(o, "name")), "vol-abc");
    CHECK_STR(json_string_value(json_object_get(o, "uri")), "nbds://10.0.0.21:10809/vol-abc");
    CHECK_STR(json_string_value(json_array_get(json_object_get(o, "hosts"), 0)), "10.0.0.21");
    CHECK_STR(json_string_value(json_array_get(json_object_get(o, "ports"), 0)), "10809");
    CHECK(json_is_true(json_object_get(o, "tls")));
    json_decref(o);
    o = host_storage_info(&cfg.hosts[2], "vol-abc");
    CHECK_STR(json_string_value(json_object_get(o, "uri")),
              "nbd+unix:///vol-abc?socket=/run/s2-nbd.sock");
    json_decref(o);
    config_free(&cfg);
}

/* What a libvirt compute host's domain gets for s1's export: a network
 * disk on s1's TCP address with tls='yes', and connection_info data a
 * consumer connecting itself reads. */
static void libvirt_network_disk(void)
{
    load();
    char xml[1024];
    CHECK_EQ(hlv_network_dest_xml(&cfg.hosts[1], "vol-abc", xml, sizeof xml), 0);
    CHECK_CONTAINS(xml, "<disk type='network' device='disk'>");
    CHECK_CONTAINS(xml, "<source protocol='nbd' name='vol-abc' tls='yes'>"
                        "<host name='10.0.0.21' port='10809'/></source>");
    CHECK_EQ(hlv_network_dest_xml(&cfg.hosts[2], "vol-abc", xml, sizeof xml), 0);
    CHECK_CONTAINS(xml, "<source protocol='nbd' name='vol-abc'>"
                        "<host transport='unix' socket='/run/s2-nbd.sock'/></source>");
    CHECK_EQ(hlv_network_dest_xml(&cfg.hosts[1], "vol-abc", xml, 40), -1);
    json_t *d = hlv_nbd_data(&cfg.hosts[1], "vol-abc");
    CHECK_STR(json_string_value(json_object_get(d, "uri")), "nbds://10.0.0.21:10809/vol-abc");
    CHECK_STR(json_string_value(json_object_get(d, "export_name")), "vol-abc");
    CHECK_STR(json_string_value(json_object_get(d, "host")), "10.0.0.21");
    CHECK_EQ(json_integer_value(json_object_get(d, "port")), 10809);
    CHECK(json_is_true(json_object_get(d, "tls")));
    CHECK(json_object_get(d, "socket") == NULL);
    json_decref(d);
    d = hlv_nbd_data(&cfg.hosts[2], "vol-abc");
    CHECK_STR(json_string_value(json_object_get(d, "uri")),
              "nbd+unix:///vol-abc?socket=/run/s2-nbd.sock");
    CHECK(json_is_false(json_object_get(d, "tls")));
    json_decref(d);
    config_free(&cfg);
}

static void host_of_storage_path(void)
{
    load();
    const struct cfg_pool *p = NULL;
    const struct cfg_host *h = host_of_path(&cfg, "/srv/p1/volume-1", &p);
    CHECK(h == &cfg.hosts[0] && p == &cfg.hosts[0].pools[0]);
    CHECK(host_of_path(&cfg, "/srv/p2/volume-1", NULL) == &cfg.hosts[1]);
    CHECK(host_of_path(&cfg, "/dev/sdz", &p) == &cfg.hosts[1] && !p->is_dir);
    CHECK(host_of_path(&cfg, "/srv/p2x/volume-1", NULL) == NULL);
    CHECK(host_of_path(&cfg, "/srv/p2/sub/volume-1", NULL) == NULL);
    config_free(&cfg);
}

/* "managed_by": "host" makes a pool its volswapd's, with the volume's
 * file at the same path the API would make; a QEMU host, which cannot
 * delete a file, keeps the API's. */
static int parse_one(const char *host_driver, const char *pool, struct api_error *e)
{
    char doc[2048];
    snprintf(doc, sizeof doc,
             "{\"database\": \"/x\", \"hosts\": [{\"name\": \"s\", \"driver\": \"%s\","
             " \"qmp\": \"/q\", \"nbd\": {\"type\": \"unix\", \"path\": \"/n\"},"
             " \"pools\": [%s]}]}",
             host_driver, pool);
    memset(&cfg, 0, sizeof cfg);
    return config_parse(doc, strlen(doc), &cfg, e);
}

static void pool_managed_by(void)
{
    struct api_error e = { 0 };
    CHECK_EQ(parse_one("volswapd",
                       "{\"name\": \"p\", \"type\": \"dir\", \"path\": \"/srv/p/\","
                       " \"managed_by\": \"host\"}, {\"name\": \"q\", \"type\": \"dir\","
                       " \"path\": \"/srv/q\"}",
                       &e),
             0);
    CHECK(pool_on_host(&cfg.hosts[0].pools[0]));
    CHECK(cfg.hosts[0].pools[0].host == &cfg.hosts[0]);
    CHECK(!pool_on_host(&cfg.hosts[0].pools[1])); /* "api", the default */
    char path[1100];
    CHECK_EQ(pool_volume_path(&cfg.hosts[0].pools[0], "1234", path, sizeof path, &e), 0);
    CHECK_STR(path, "/srv/p/volume-1234");
    CHECK_EQ(pool_check(&cfg.hosts[0].pools[0], &e), 0); /* the host checks its own */
    config_free(&cfg);
    CHECK_EQ(parse_one("qemu",
                       "{\"name\": \"p\", \"type\": \"dir\", \"path\": \"/p\","
                       " \"managed_by\": \"host\"}",
                       &e),
             -1);
    CHECK_CONTAINS(e.msg, "needs a volswapd host");
    config_free(&cfg);
    /* a block pool its host manages: the host measures, the registry claims */
    CHECK_EQ(parse_one("volswapd",
                       "{\"name\": \"b\", \"type\": \"block\", \"devices\": [\"/dev/x\"],"
                       " \"managed_by\": \"host\"}",
                       &e),
             0);
    CHECK(pool_on_host(&cfg.hosts[0].pools[0]));
    CHECK(!pool_creates_on_host(&cfg.hosts[0].pools[0]));
    CHECK_EQ(pool_check(&cfg.hosts[0].pools[0], &e), 0); /* /dev/x is the host's */
    /* a device handed back goes to its host, which zeroes it: no host
     * answers here */
    CHECK_EQ(pool_delete_volume(&cfg.hosts[0].pools[0], "/dev/x", &e), -1);
    CHECK_EQ(e.status, 503);
    config_free(&cfg);
    /* volume_clear: zero (the default) or none, as Cinder's */
    CHECK_EQ(parse_one("volswapd",
                       "{\"name\": \"b\", \"type\": \"block\", \"devices\": [\"/dev/x\"],"
                       " \"volume_clear\": \"none\"}, {\"name\": \"c\", \"type\": \"block\","
                       " \"devices\": [\"/dev/y\"], \"volume_clear\": \"zero\"}",
                       &e),
             0);
    CHECK(cfg.hosts[0].pools[0].clear_none && !cfg.hosts[0].pools[1].clear_none);
    /* an API-managed device with volume_clear none is handed back as it is */
    CHECK_EQ(pool_delete_volume(&cfg.hosts[0].pools[0], "/dev/x", &e), 0);
    config_free(&cfg);
    CHECK_EQ(parse_one("volswapd",
                       "{\"name\": \"b\", \"type\": \"block\", \"devices\": [\"/dev/x\"],"
                       " \"volume_clear\": \"shred\"}",
                       &e),
             -1);
    CHECK_CONTAINS(e.msg, "volume_clear");
    config_free(&cfg);
    CHECK_EQ(parse_one("volswapd",
                       "{\"name\": \"p\", \"type\": \"dir\", \"path\": \"/p\","
                       " \"managed_by\": \"nfs\"}",
                       &e),
             -1);
    CHECK_CONTAINS(e.msg, "managed_by");
    config_free(&cfg);
}

static const struct unit_case cases[] = {
    { "pool-managed-by", pool_managed_by },
    { "config-keys", config_keys },
    { "storage-check", storage_check },
    { "remote-blockdev", remote_blockdev },
    { "storage-info", storage_info },
    { "host-of-path", host_of_storage_path },
    { "libvirt-network-disk", libvirt_network_disk },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    return unit_main(argc, argv, cases);
}
