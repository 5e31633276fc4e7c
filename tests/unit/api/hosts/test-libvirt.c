/* The libvirt driver's pure pieces: finding a disk and its source in the
 * domain XML libvirtd sends (libvirt.c's hlv_disk_find), the <disk> given
 * to blockCopy, and the config of a libvirt host. The driver against a
 * real libvirtd is tests/integration/libvirt. */
#include "hosts/hosts.h"
#include "../unit.h"

static const char *dom_xml =
    "<domain type='qemu'><name>d</name><devices>"
    "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
    "<source file='/p/a.img'/><target dev='sda' bus='scsi'/><alias name='scsi0-0-0-0'/></disk>"
    "<disk type='block' device='disk'><driver name='qemu' type='raw'/>"
    "<source dev='/dev/vdc' index='2'/><target dev='sdb' bus='scsi'/>"
    "<alias name='ua-exp-1'/></disk>"
    "<disk type='network' device='disk'><driver name='qemu' type='raw'/>"
    "<source protocol='nbd' name='vol-1' tls='no'><host transport='unix' socket='/s'/></source>"
    "<target dev='sdc' bus='scsi'/><alias name='ua-exp-3'/></disk>"
    "</devices></domain>";

static void disk_source_by_target(void)
{
    char src[64];
    CHECK_EQ(hlv_disk_find(dom_xml, "<target dev='sda'", src, sizeof src), 0);
    CHECK_STR(src, "/p/a.img");
    CHECK_EQ(hlv_disk_find(dom_xml, "<target dev='sdb'", src, sizeof src), 0);
    CHECK_STR(src, "/dev/vdc");
}

/* a network disk's source is its NBD export, never the target's dev= */
static void network_disk_source_is_export(void)
{
    char src[64];
    CHECK_EQ(hlv_disk_find(dom_xml, "<target dev='sdc'", src, sizeof src), 0);
    CHECK_STR(src, "vol-1");
    CHECK_EQ(hlv_disk_find(dom_xml, "<alias name='ua-exp-3'", src, sizeof src), 0);
    CHECK_STR(src, "vol-1");
}

/* on a host whose volswapd serves the volumes, a copy goes to the new
 * volume's NBD export: unix socket or TCP, tls='yes' when required */
static void copy_destination_nbd(void)
{
    struct cfg_host h;
    char xml[1024];
    memset(&h, 0, sizeof h);
    snprintf(h.name, sizeof h.name, "h");
    CHECK(!hlv_nbd_mode(&h));
    snprintf(h.qmp, sizeof h.qmp, "/run/q.sock");
    snprintf(h.nbd_socket, sizeof h.nbd_socket, "/run/n.sock");
    CHECK(hlv_nbd_mode(&h));
    CHECK_EQ(hlv_copy_dest_xml(&h, "/p/ignored.img", "vol-2", xml, sizeof xml), 0);
    CHECK_CONTAINS(xml, "<disk type='network'");
    CHECK_CONTAINS(xml, "<source protocol='nbd' name='vol-2'><host transport='unix' "
                        "socket='/run/n.sock'/></source>");
    h.nbd_socket[0] = '\0';
    snprintf(h.nbd_host, sizeof h.nbd_host, "10.0.0.2");
    h.nbd_port = 10809;
    snprintf(h.nbd_tls_creds, sizeof h.nbd_tls_creds, "tls0");
    CHECK_EQ(hlv_copy_dest_xml(&h, "", "vol-2", xml, sizeof xml), 0);
    CHECK_CONTAINS(xml, "name='vol-2' tls='yes'><host name='10.0.0.2' port='10809'/>");
    /* over a unix socket QEMU checks the certificate against tls_hostname */
    snprintf(h.nbd_socket, sizeof h.nbd_socket, "/run/n.sock");
    snprintf(h.nbd_tls_hostname, sizeof h.nbd_tls_hostname, "nbd.example");
    CHECK_EQ(hlv_copy_dest_xml(&h, "", "vol-2", xml, sizeof xml), 0);
    CHECK_CONTAINS(xml, "name='vol-2' tls='yes' tlsHostname='nbd.example'><host transport='unix' "
                        "socket='/run/n.sock'/>");
    h.nbd_socket[0] = '\0';
    h.nbd_tls_hostname[0] = '\0';
    CHECK_EQ(hlv_copy_dest_xml(&h, "", "vol-2", xml, 60), -1);
    char id[40];
    hlv_nbd_export_id("vol-0123456789abcdef0123456789", id);
    CHECK_STR(id, "lv-vol-0123456789abcdef0123456789");
}

static void disk_by_alias(void)
{
    char src[64];
    CHECK_EQ(hlv_disk_find(dom_xml, "<alias name='ua-exp-1'", src, sizeof src), 0);
    CHECK_STR(src, "/dev/vdc");
    CHECK_EQ(hlv_disk_find(dom_xml, "<alias name='ua-exp-2'", NULL, 0), 1);
}

/* a key outside every <disk> (or in a later one) never names an earlier disk */
static void key_outside_disk(void)
{
    char src[64];
    CHECK_EQ(hlv_disk_find(dom_xml, "<name>d</name>", src, sizeof src), 1);
    CHECK_EQ(
        hlv_disk_find("<devices><disk type='file'><source file='/x'/>", "<source", src, sizeof src),
        1); /* no </disk>: nothing, no overrun */
}

static void source_too_long(void)
{
    char src[4];
    CHECK_EQ(hlv_disk_find(dom_xml, "<target dev='sda'", src, sizeof src), 0);
    CHECK_STR(src, "");
}

static void copy_destination_escaped(void)
{
    char xml[512];
    CHECK_EQ(hlv_source_xml("/p/it's&<x>.img", xml, sizeof xml), 0);
    CHECK_CONTAINS(xml, "<source file='/p/it&apos;s&amp;&lt;x&gt;.img'/>");
    CHECK_CONTAINS(xml, "type='raw'");
    CHECK_EQ(hlv_source_xml("/p/a.img", xml, 40), -1);
}

static void config_libvirt_host(void)
{
    struct api_config cfg;
    struct api_error e;
    const char *ok = "{\"database\": \"/x\", \"hosts\": [{\"name\": \"h\", \"driver\": \"libvirt\","
                     " \"uri\": \"qemu+tls://h/system\", \"pools\": []}]}";
    memset(&cfg, 0, sizeof cfg);
    CHECK_EQ(config_parse(ok, strlen(ok), &cfg, &e), 0);
    CHECK_STR(cfg.hosts[0].uri, "qemu+tls://h/system");
    CHECK_EQ(cfg.hosts[0].shutdown_timeout, 60); /* Nova's default */
    CHECK(host_driver_find("libvirt") == &hlv_driver);
    config_free(&cfg);
    const char *no_uri =
        "{\"database\": \"/x\", \"hosts\": [{\"name\": \"h\", \"driver\": \"libvirt\"}]}";
    memset(&cfg, 0, sizeof cfg);
    CHECK_EQ(config_parse(no_uri, strlen(no_uri), &cfg, &e), -1);
    CHECK_CONTAINS(e.msg, "uri");
    config_free(&cfg);
    const char *no_qmp =
        "{\"database\": \"/x\", \"hosts\": [{\"name\": \"h\", \"driver\": \"qemu\","
        " \"uri\": \"qemu:///system\", \"nbd\": {\"type\": \"unix\", \"path\": \"/n\"}}]}";
    memset(&cfg, 0, sizeof cfg);
    CHECK_EQ(config_parse(no_qmp, strlen(no_qmp), &cfg, &e), -1);
    CHECK_CONTAINS(e.msg, "qmp");
    config_free(&cfg);
    const char *bad_timeout =
        "{\"database\": \"/x\", \"hosts\": [{\"name\": \"h\", \"driver\": "
        "\"libvirt\", \"uri\": \"qemu:///system\", \"shutdown_timeout\": -1}]}";
    memset(&cfg, 0, sizeof cfg);
    CHECK_EQ(config_parse(bad_timeout, strlen(bad_timeout), &cfg, &e), -1);
    CHECK_CONTAINS(e.msg, "shutdown_timeout");
    config_free(&cfg);
    /* NBD over TLS on a unix socket: QEMU needs the certificate's name */
    const char *no_tls_name =
        "{\"database\": \"/x\", \"hosts\": [{\"name\": \"h\", \"driver\": \"libvirt\","
        " \"uri\": \"qemu:///system\", \"qmp\": \"/q\", \"nbd\": {\"type\": \"unix\","
        " \"path\": \"/n\", \"tls_creds\": \"tls0\"}}]}";
    memset(&cfg, 0, sizeof cfg);
    CHECK_EQ(config_parse(no_tls_name, strlen(no_tls_name), &cfg, &e), -1);
    CHECK_CONTAINS(e.msg, "nbd.tls_hostname");
    config_free(&cfg);
    const char *tls_name =
        "{\"database\": \"/x\", \"hosts\": [{\"name\": \"h\", \"driver\": \"libvirt\","
        " \"uri\": \"qemu:///system\", \"qmp\": \"/q\", \"nbd\": {\"type\": \"unix\","
        " \"path\": \"/n\", \"tls_creds\": \"tls0\", \"tls_hostname\": \"localhost\"}}]}";
    memset(&cfg, 0, sizeof cfg);
    CHECK_EQ(config_parse(tls_name, strlen(tls_name), &cfg, &e), 0);
    CHECK_STR(cfg.hosts[0].nbd_tls_hostname, "localhost");
    config_free(&cfg);
}

/* the host reconciler walks every disk of a domain: type, target, alias
 * and source of each, in document order, and stops at the end */
static void disks_one_by_one(void)
{
    const char *c = dom_xml;
    struct hlv_disk d;
    CHECK_EQ(hlv_disk_next(&c, &d), 0);
    CHECK_STR(d.type, "file");
    CHECK_STR(d.target, "sda");
    CHECK_STR(d.alias, "scsi0-0-0-0");
    CHECK_STR(d.source, "/p/a.img");
    CHECK_EQ(hlv_disk_next(&c, &d), 0);
    CHECK_STR(d.type, "block");
    CHECK_STR(d.alias, "ua-exp-1");
    CHECK_STR(d.source, "/dev/vdc");
    CHECK_EQ(hlv_disk_next(&c, &d), 0);
    CHECK_STR(d.type, "network");
    CHECK_STR(d.target, "sdc");
    CHECK_STR(d.source, "vol-1");
    CHECK_EQ(hlv_disk_next(&c, &d), 1);
    c = "<disk type='file'><source file='/x'/>"; /* no </disk> */
    CHECK_EQ(hlv_disk_next(&c, &d), 1);
    c = NULL;
    CHECK_EQ(hlv_disk_next(&c, &d), 1);
}

/* a disk under a block copy: its own source, never the copy's */
static void disk_source_not_mirror(void)
{
    const char *x = "<disk type='file' device='disk'><source file='/p/old.img' index='1'/>"
                    "<mirror type='file' job='copy' ready='yes'><source file='/p/new.img'/>"
                    "</mirror><target dev='sdb'/><alias name='ua-exp-9'/></disk>";
    const char *c = x;
    struct hlv_disk d;
    CHECK_EQ(hlv_disk_next(&c, &d), 0);
    CHECK_STR(d.source, "/p/old.img");
    CHECK_STR(d.alias, "ua-exp-9");
}

/* the definition's disk made to name the live source: the definition's
 * other elements kept, the live source and type taken, index= dropped */
static void definition_takes_live_source(void)
{
    const char *def = "<domain><devices><disk type='file' device='disk'>"
                      "<driver name='qemu' type='raw'/><source file='/p/stale.img'/>"
                      "<target dev='sdb' bus='scsi'/><serial>v1</serial>"
                      "<alias name='ua-exp-1'/><address type='drive' unit='1'/></disk>"
                      "</devices></domain>";
    const char *live = "<domain><devices><disk type='file' device='disk'>"
                       "<driver name='qemu' type='raw'/><source file='/p/new.img' index='3'/>"
                       "<backingStore/><target dev='sdb' bus='scsi'/>"
                       "<alias name='ua-exp-1'/></disk></devices></domain>";
    char *x = hlv_disk_with_live_source(def, live, "ua-exp-1");
    CHECK(x != NULL);
    CHECK_STR(x, "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                 "<source file='/p/new.img'/><target dev='sdb' bus='scsi'/>"
                 "<serial>v1</serial><alias name='ua-exp-1'/>"
                 "<address type='drive' unit='1'/></disk>");
    free(x);
    /* a network source, element with children, replaces a file one */
    const char *nlive = "<disk type='network' device='disk'><source protocol='nbd' "
                        "name='vol-2' index='4'><host transport='unix' socket='/s'/></source>"
                        "<target dev='sdb'/><alias name='ua-exp-1'/></disk>";
    x = hlv_disk_with_live_source(def, nlive, "ua-exp-1");
    CHECK(x != NULL);
    CHECK_CONTAINS(x, "<disk type='network' device='disk'><driver name='qemu' type='raw'/>"
                      "<source protocol='nbd' name='vol-2'><host transport='unix' "
                      "socket='/s'/></source><target dev='sdb' bus='scsi'/>");
    free(x);
    CHECK(hlv_disk_with_live_source(def, live, "ua-exp-2") == NULL);
}

static const struct unit_case cases[] = {
    { "disk-source-by-target", disk_source_by_target },
    { "disk-by-alias", disk_by_alias },
    { "network-disk-source-is-export", network_disk_source_is_export },
    { "copy-destination-nbd", copy_destination_nbd },
    { "key-outside-disk", key_outside_disk },
    { "source-too-long", source_too_long },
    { "copy-destination-escaped", copy_destination_escaped },
    { "config-libvirt-host", config_libvirt_host },
    { "disks-one-by-one", disks_one_by_one },
    { "disk-source-not-mirror", disk_source_not_mirror },
    { "definition-takes-live-source", definition_takes_live_source },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    return unit_main(argc, argv, cases);
}
