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
    "</devices></domain>";

static void disk_source_by_target(void)
{
    char src[64];
    CHECK_EQ(hlv_disk_find(dom_xml, "<target dev='sda'", src, sizeof src), 0);
    CHECK_STR(src, "/p/a.img");
    CHECK_EQ(hlv_disk_find(dom_xml, "<target dev='sdb'", src, sizeof src), 0);
    CHECK_STR(src, "/dev/vdc");
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
    CHECK_EQ(hlv_disk_find("<devices><disk type='file'><source file='/x'/>", "<source", src,
                           sizeof src),
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
    CHECK(host_driver_find("libvirt") == &hlv_driver);
    config_free(&cfg);
    const char *no_uri = "{\"database\": \"/x\", \"hosts\": [{\"name\": \"h\", \"driver\": \"libvirt\"}]}";
    memset(&cfg, 0, sizeof cfg);
    CHECK_EQ(config_parse(no_uri, strlen(no_uri), &cfg, &e), -1);
    CHECK_CONTAINS(e.msg, "uri");
    config_free(&cfg);
    const char *no_qmp = "{\"database\": \"/x\", \"hosts\": [{\"name\": \"h\", \"driver\": \"qemu\","
                         " \"uri\": \"qemu:///system\", \"nbd\": {\"type\": \"unix\", \"path\": \"/n\"}}]}";
    memset(&cfg, 0, sizeof cfg);
    CHECK_EQ(config_parse(no_qmp, strlen(no_qmp), &cfg, &e), -1);
    CHECK_CONTAINS(e.msg, "qmp");
    config_free(&cfg);
}

static const struct unit_case cases[] = {
    { "disk-source-by-target", disk_source_by_target },
    { "disk-by-alias", disk_by_alias },
    { "key-outside-disk", key_outside_disk },
    { "source-too-long", source_too_long },
    { "copy-destination-escaped", copy_destination_escaped },
    { "config-libvirt-host", config_libvirt_host },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    return unit_main(argc, argv, cases);
}
