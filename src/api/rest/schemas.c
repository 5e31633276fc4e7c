/* The schemas of every request body volswap-api accepts, checked by
 * base/json-body.c's parser before a handler looks at the document. */
#include "rest.h"

static const struct body_field volume_create_fields[] = {
    { "size", BT_INT, true, 0, 1, 1 << 20 },
    { "name", BT_STRING_OR_NULL, false, 255, 0, 0 },
    { "description", BT_STRING_OR_NULL, false, 255, 0, 0 },
    /* Cinder's older spellings of name and description, still accepted */
    { "display_name", BT_STRING_OR_NULL, false, 255, 0, 0 },
    { "display_description", BT_STRING_OR_NULL, false, 255, 0, 0 },
    { "volume_type", BT_STRING_OR_NULL, false, 255, 0, 0 },
    { "availability_zone", BT_STRING_OR_NULL, false, 255, 0, 0 },
    { "metadata", BT_META_CINDER_OR_NULL, false, 0, 0, 0 },
    /* what cinderclient always sends, null unless asked for; a volume made
   * from a snapshot, another volume, an image or a backup, or in a group,
   * is refused by rest/volume/volumes.c */
    { "snapshot_id", BT_STRING_OR_NULL, false, 36, 0, 0 },
    { "source_volid", BT_STRING_OR_NULL, false, 36, 0, 0 },
    { "consistencygroup_id", BT_STRING_OR_NULL, false, 36, 0, 0 },
    { "group_id", BT_STRING_OR_NULL, false, 36, 0, 0 },
    { "backup_id", BT_STRING_OR_NULL, false, 36, 0, 0 },
    { "imageRef", BT_STRING_OR_NULL, false, 255, 0, 0 },
    { "image_id", BT_STRING_OR_NULL, false, 255, 0, 0 },
    { "multiattach", BT_BOOL_OR_STRING, false, 0, 0, 0 },
    { NULL, 0, false, 0, 0, 0 },
};
const struct body_schema schema_volume_create = { "volume", volume_create_fields };

/* PUT /volumes/{id}: Cinder's update (name, description, their older
 * spellings, the metadata, which it replaces). */
static const struct body_field volume_update_fields[] = {
    { "name", BT_STRING_OR_NULL, false, 255, 0, 0 },
    { "description", BT_STRING_OR_NULL, false, 255, 0, 0 },
    { "display_name", BT_STRING_OR_NULL, false, 255, 0, 0 },
    { "display_description", BT_STRING_OR_NULL, false, 255, 0, 0 },
    { "metadata", BT_META_CINDER, false, 0, 0, 0 },
    { NULL, 0, false, 0, 0, 0 },
};
const struct body_schema schema_volume_update = { "volume", volume_update_fields };

static const struct body_field volume_extend_fields[] = {
    { "new_size", BT_INT, true, 0, 1, 1 << 20 },
    { NULL, 0, false, 0, 0, 0 },
};
const struct body_schema schema_volume_extend = { "os-extend", volume_extend_fields };

static const struct body_field server_create_fields[] = {
    { "name", BT_STRING, true, 255, 1, 0 },
    { "host", BT_STRING, false, 64, 0, 0 },
    { "availability_zone", BT_STRING, false, 255, 0, 0 },
    { "imageRef", BT_STRING, false, 255, 0, 0 },
    { "flavorRef", BT_STRING, false, 255, 0, 0 },
    { "metadata", BT_META_NOVA, false, 0, 0, 0 },
    /* what the openstack client sends for a server booted from a volume;
   * rest/compute/servers.c checks the members */
    { "min_count", BT_INT, false, 0, 1, 1 << 20 },
    { "max_count", BT_INT, false, 0, 1, 1 << 20 },
    { "block_device_mapping_v2", BT_ARRAY, false, 26, 0, 0 },
    { "networks", BT_STRING_OR_ARRAY, false, 64, 0, 0 },
    /* Nova's; the addresses are checked and kept by rest/compute/servers.c,
     * the password is taken and not used (no guest to set it in) */
    { "accessIPv4", BT_STRING, false, 64, 0, 0 },
    { "accessIPv6", BT_STRING, false, 64, 0, 0 },
    { "adminPass", BT_STRING, false, 255, 0, 0 },
    { "key_name", BT_STRING, false, 255, 1, 0 }, /* one of the user's key pairs */
    { "description", BT_STRING_OR_NULL, false, 255, 0, 0 }, /* from 2.19 */
    /* AUTO or MANUAL (checked by rest/compute/servers.c), recorded and shown */
    { "OS-DCF:diskConfig", BT_STRING, false, 6, 0, 0 },
    { "return_reservation_id", BT_BOOL_OR_STRING, false, 0, 0, 0 },
    { NULL, 0, false, 0, 0, 0 },
};
/* os:scheduler_hints sits beside "server"; rest/compute/servers.c reads it */
const struct body_schema schema_server_create = { "server", server_create_fields, 0,
                                                  "os:scheduler_hints" };

/* PUT /servers/{id}: what Nova lets a user change on a server. */
static const struct body_field server_update_fields[] = {
    { "name", BT_STRING, false, 255, 0, 0 },
    { "accessIPv4", BT_STRING, false, 64, 0, 0 },
    { "accessIPv6", BT_STRING, false, 64, 0, 0 },
    { "description", BT_STRING_OR_NULL, false, 255, 0, 0 },
    { NULL, 0, false, 0, 0, 0 },
};
const struct body_schema schema_server_update = { "server", server_update_fields };

static const struct body_field attachment_create_fields[] = {
    { "volumeId", BT_STRING, true, 36, 0, 0 },
    { "device", BT_STRING_OR_NULL, false, 31, 0, 0 },
    { "tag", BT_STRING, false, 60, 0, 0 },
    { "delete_on_termination", BT_BOOL_OR_STRING, false, 0, 0, 0 },
    { NULL, 0, false, 0, 0, 0 },
};
const struct body_schema schema_attachment_create = { "volumeAttachment",
                                                      attachment_create_fields };

static const struct body_field attachment_update_fields[] = {
    { "volumeId", BT_STRING, true, 36, 0, 0 },
    { "device", BT_STRING_OR_NULL, false, 31, 0, 0 },
    { "tag", BT_STRING, false, 60, 0, 0 },
    { "delete_on_termination", BT_BOOL_OR_STRING, false, 0, 0, 0 },
    { "id", BT_STRING, false, 36, 0, 0 },
    { "serverId", BT_STRING, false, 36, 0, 0 },
    { NULL, 0, false, 0, 0, 0 },
};
const struct body_schema schema_attachment_update = { "volumeAttachment",
                                                      attachment_update_fields };

/* Keystone's auth body is nested; the outer level is checked here and the
 * identity/scope objects by keystone.c with the same rules. */
static const struct body_field auth_fields[] = {
    { "identity", BT_OBJECT, true, 0, 0, 0 },
    { "scope", BT_OBJECT, false, 0, 0, 0 },
    { NULL, 0, false, 0, 0, 0 },
};
const struct body_schema schema_auth_tokens = { "auth", auth_fields };

const struct body_schema schema_server_metadata = { "metadata", NULL, BT_META_NOVA };
const struct body_schema schema_server_meta_item = { "meta", NULL, BT_META_NOVA };
const struct body_schema schema_volume_metadata = { "metadata", NULL, BT_META_CINDER };
const struct body_schema schema_volume_meta_item = { "meta", NULL, BT_META_CINDER };

/* PUT os-quota-sets: Nova's and Cinder's quota names, each an integer
 * (-1 is unlimited); quotas.c decides which values it can take. */
static const struct body_field nova_quota_fields[] = {
    { "instances", BT_INT, false, 0, -1, INT32_MAX },
    { "cores", BT_INT, false, 0, -1, INT32_MAX },
    { "ram", BT_INT, false, 0, -1, INT32_MAX },
    { "metadata_items", BT_INT, false, 0, -1, INT32_MAX },
    { "key_pairs", BT_INT, false, 0, -1, INT32_MAX },
    { "server_groups", BT_INT, false, 0, -1, INT32_MAX },
    { "server_group_members", BT_INT, false, 0, -1, INT32_MAX },
    { "injected_files", BT_INT, false, 0, -1, INT32_MAX },
    { "injected_file_content_bytes", BT_INT, false, 0, -1, INT32_MAX },
    { "injected_file_path_bytes", BT_INT, false, 0, -1, INT32_MAX },
    { "fixed_ips", BT_INT, false, 0, -1, INT32_MAX },
    { "floating_ips", BT_INT, false, 0, -1, INT32_MAX },
    { "security_group_rules", BT_INT, false, 0, -1, INT32_MAX },
    { "security_groups", BT_INT, false, 0, -1, INT32_MAX },
    { "force", BT_BOOL_OR_STRING, false, 0, 0, 0 },
    { NULL, 0, false, 0, 0, 0 },
};
const struct body_schema schema_nova_quota_set = { "quota_set", nova_quota_fields };
/* PUT os-quota-class-sets: the same names (a "force" is refused by the
 * handler, as Nova's class schema has none). */
const struct body_schema schema_nova_quota_class_set = { "quota_class_set", nova_quota_fields };

static const struct body_field cinder_quota_fields[] = {
    { "volumes", BT_INT, false, 0, -1, INT32_MAX },
    { "gigabytes", BT_INT, false, 0, -1, INT32_MAX },
    { "snapshots", BT_INT, false, 0, -1, INT32_MAX },
    { "backups", BT_INT, false, 0, -1, INT32_MAX },
    { "backup_gigabytes", BT_INT, false, 0, -1, INT32_MAX },
    { "per_volume_gigabytes", BT_INT, false, 0, -1, INT32_MAX },
    { "groups", BT_INT, false, 0, -1, INT32_MAX },
    { "tenant_id", BT_STRING, false, 64, 0, 0 }, /* cinderclient sends it */
    { NULL, 0, false, 0, 0, 0 },
};
const struct body_schema schema_cinder_quota_set = { "quota_set", cinder_quota_fields };

/* Cinder's volume actions that take arguments: os-set_bootable and
 * os-update_readonly_flag (a boolean, or one of its string spellings), and
 * the attach records of os-attach and os-detach. */
static const struct body_field volume_bootable_fields[] = {
    { "bootable", BT_BOOL_OR_STRING, true, 0, 0, 0 },
    { NULL, 0, false, 0, 0, 0 },
};
const struct body_schema schema_volume_bootable = { "os-set_bootable", volume_bootable_fields };

static const struct body_field volume_readonly_fields[] = {
    { "readonly", BT_BOOL_OR_STRING, true, 0, 0, 0 },
    { NULL, 0, false, 0, 0, 0 },
};
const struct body_schema schema_volume_readonly = { "os-update_readonly_flag",
                                                    volume_readonly_fields };

static const struct body_field volume_attach_fields[] = {
    { "instance_uuid", BT_STRING_OR_NULL, false, 36, 0, 0 },
    { "host_name", BT_STRING_OR_NULL, false, 255, 0, 0 },
    { "mountpoint", BT_STRING, true, 31, 1, 0 },
    { "mode", BT_STRING_OR_NULL, false, 2, 0, 0 },
    { NULL, 0, false, 0, 0, 0 },
};
const struct body_schema schema_volume_attach = { "os-attach", volume_attach_fields };

static const struct body_field volume_detach_fields[] = {
    { "attachment_id", BT_STRING_OR_NULL, false, 36, 0, 0 },
    { NULL, 0, false, 0, 0, 0 },
};
const struct body_schema schema_volume_detach = { "os-detach", volume_detach_fields };

/* os-force_detach: the attachment, and the connector Cinder would hand its
 * driver (volswap's attachments have none to terminate). */
static const struct body_field volume_force_detach_fields[] = {
    { "attachment_id", BT_STRING_OR_NULL, false, 36, 0, 0 },
    { "connector", BT_OBJECT_OR_NULL, false, 0, 0, 0 },
    { NULL, 0, false, 0, 0, 0 },
};
const struct body_schema schema_volume_force_detach = { "os-force_detach",
                                                        volume_force_detach_fields };

/* os-volume_upload_image: the new image's name and formats, its
 * visibility (3.1) and protection; force (an in-use volume) is refused
 * by the state table. */
static const struct body_field volume_upload_image_fields[] = {
    { "image_name", BT_STRING, true, 255, 1, 0 },
    { "force", BT_BOOL_OR_STRING, false, 0, 0, 0 },
    { "disk_format", BT_STRING, false, 16, 0, 0 },
    { "container_format", BT_STRING, false, 16, 0, 0 },
    { "visibility", BT_STRING, false, 16, 0, 0 },
    { "protected", BT_BOOL_OR_STRING, false, 0, 0, 0 },
    { NULL, 0, false, 0, 0, 0 },
};
const struct body_schema schema_volume_upload_image = { "os-volume_upload_image",
                                                        volume_upload_image_fields };

/* POST /os-keypairs: Nova's (type from 2.2, user_id from 2.10, checked by
 * rest/compute/keypairs.c with the name's pattern). */
static const struct body_field keypair_create_fields[] = {
    { "name", BT_STRING, true, 255, 1, 0 },
    { "public_key", BT_STRING, false, API_PUBLIC_KEY_MAX - 1, 0, 0 },
    { "type", BT_STRING, false, 16, 0, 0 },
    { "user_id", BT_STRING, false, 255, 0, 0 },
    { NULL, 0, false, 0, 0, 0 },
};
const struct body_schema schema_keypair_create = { "keypair", keypair_create_fields };

/* New schemas go at the end: the fuzz corpus picks one by its first byte. */
const struct body_schema *const body_schemas[] = {
    &schema_volume_create,
    &schema_volume_extend,
    &schema_server_create,
    &schema_attachment_create,
    &schema_attachment_update,
    &schema_auth_tokens,
    &schema_server_metadata,
    &schema_server_meta_item,
    &schema_volume_metadata,
    &schema_volume_meta_item,
    &schema_nova_quota_set,
    &schema_cinder_quota_set,
    &schema_server_update,
    &schema_volume_update,
    &schema_volume_bootable,
    &schema_volume_readonly,
    &schema_volume_attach,
    &schema_volume_detach,
    &schema_volume_upload_image,
    &schema_keypair_create,
    &schema_volume_force_detach,
    &schema_nova_quota_class_set,
    NULL,
};
