/* Policy: which role may call which API, with Nova's and Cinder's default
 * rules (the "secure RBAC" defaults of recent releases). A rule is one of
 *   ADMIN                 admin role only
 *   PROJECT_READER_OR_ADMIN   reader (or higher) of the owning project, or admin
 *   PROJECT_MEMBER_OR_ADMIN   member (or higher) of the owning project, or admin
 * Role implication (admin > member > reader) is applied at login (auth.c).
 * A denied call gets Nova's 403 "Policy doesn't allow RULE to be performed." */
#include "domain.h"

#include <string.h>

enum rule_kind { ADMIN, PROJECT_READER_OR_ADMIN, PROJECT_MEMBER_OR_ADMIN };

static const struct {
    const char *name;
    enum rule_kind kind;
} rules[] = {
    { "os_compute_api:servers:index", PROJECT_READER_OR_ADMIN },
    /* key pairs belong to a user: the handlers keep a user to their own */
    { "os_compute_api:os-keypairs:index", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:os-keypairs:show", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:os-keypairs:create", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:os-keypairs:delete", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:servers:detail", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:servers:show", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:servers:create", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:servers:delete", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:servers:update", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:servers:stop", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:servers:start", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:servers:reboot", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:ips:index", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:ips:show", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:os-availability-zone:detail", ADMIN },
    { "os_compute_api:os-services:list", ADMIN },
    { "os_compute_api:limits", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:os-quota-sets:show", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:os-quota-sets:detail", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:os-quota-sets:defaults", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:os-quota-sets:update", ADMIN },
    { "os_compute_api:os-quota-sets:delete", ADMIN },
    { "os_compute_api:os-quota-class-sets:show", ADMIN },
    { "os_compute_api:os-quota-class-sets:update", ADMIN },
    { "os_compute_api:limits:other_project", ADMIN },
    { "os_compute_api:os-hypervisors:list", ADMIN },
    { "os_compute_api:os-hypervisors:list-detail", ADMIN },
    { "os_compute_api:os-hypervisors:show", ADMIN },
    { "os_compute_api:os-hypervisors:search", ADMIN },
    { "os_compute_api:os-hypervisors:uptime", ADMIN },
    { "os_compute_api:os-hypervisors:statistics", ADMIN },
    { "os_compute_api:os-hypervisors:servers", ADMIN },
    { "os_compute_api:os-aggregates:index", ADMIN },
    { "volume_extension:services:index", ADMIN },
    { "volume_extension:services:update", ADMIN },
    { "os_compute_api:flavors:list", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:flavors:show", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:os-flavor-extra-specs:index", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:servers:index:get_all_tenants", ADMIN },
    { "os_compute_api:servers:detail:get_all_tenants", ADMIN },
    { "os_compute_api:os-extended-server-attributes", ADMIN },
    { "os_compute_api:server-metadata:index", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:server-metadata:show", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:server-metadata:create", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:server-metadata:update_all", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:server-metadata:update", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:server-metadata:delete", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:os-lock-server:lock", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:os-lock-server:unlock", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:os-deferred-delete:restore", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:os-deferred-delete:force", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:os-admin-actions:reset_state", ADMIN },
    { "os_compute_api:servers:rebuild", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:os-volumes-attachments:index", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:os-volumes-attachments:show", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:os-volumes-attachments:create", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:os-volumes-attachments:update", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:os-volumes-attachments:swap", ADMIN },
    { "os_compute_api:os-volumes-attachments:delete", PROJECT_MEMBER_OR_ADMIN },
    { "os_compute_api:os-instance-actions:list", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:os-instance-actions:show", PROJECT_READER_OR_ADMIN },
    { "os_compute_api:os-instance-actions:events", ADMIN },
    { "os_compute_api:os-instance-actions:events:details", ADMIN },
    { "volume:create", PROJECT_MEMBER_OR_ADMIN },
    { "limits_extension:used_limits", PROJECT_READER_OR_ADMIN },
    { "volume_extension:quotas:show", PROJECT_READER_OR_ADMIN },
    { "volume_extension:quotas:update", ADMIN },
    { "volume_extension:quotas:delete", ADMIN },
    { "volume:get", PROJECT_READER_OR_ADMIN },
    { "volume:get_all", PROJECT_READER_OR_ADMIN },
    { "volume:delete", PROJECT_MEMBER_OR_ADMIN },
    { "volume:update", PROJECT_MEMBER_OR_ADMIN },
    { "volume:get_volume_summary", PROJECT_READER_OR_ADMIN },
    { "volume:extend", PROJECT_MEMBER_OR_ADMIN },
    { "volume_extension:type_get_all", PROJECT_READER_OR_ADMIN },
    { "volume_extension:type_get", PROJECT_READER_OR_ADMIN },
    { "volume:get_volume_metadata", PROJECT_READER_OR_ADMIN },
    { "volume:create_volume_metadata", PROJECT_MEMBER_OR_ADMIN },
    { "volume:update_volume_metadata", PROJECT_MEMBER_OR_ADMIN },
    { "volume:delete_volume_metadata", PROJECT_MEMBER_OR_ADMIN },
    { "volume:extend_attached_volume", PROJECT_MEMBER_OR_ADMIN },
    { "volume:migrate_volume", ADMIN },
    { "volume_extension:volume_admin_actions:reset_status", ADMIN },
    { "volume_extension:volume_admin_actions:force_delete", ADMIN },
    { "volume_extension:volume_admin_actions:force_detach", ADMIN },
    { "volume_extension:volume_actions:reserve", PROJECT_MEMBER_OR_ADMIN },
    { "volume_extension:volume_actions:attach", PROJECT_MEMBER_OR_ADMIN },
    { "volume_extension:volume_actions:detach", PROJECT_MEMBER_OR_ADMIN },
    { "volume_extension:volume_actions:upload_image", PROJECT_MEMBER_OR_ADMIN },
    { "volume:update_readonly_flag", PROJECT_MEMBER_OR_ADMIN },
    { "volume_extension:volume_actions:unreserve", PROJECT_MEMBER_OR_ADMIN },
    { "volume_extension:volume_actions:begin_detaching", PROJECT_MEMBER_OR_ADMIN },
    { "volume_extension:volume_actions:roll_detaching", PROJECT_MEMBER_OR_ADMIN },
    { "volume_extension:volume_host_attribute", ADMIN },
    { "volume_extension:volume_tenant_attribute", PROJECT_READER_OR_ADMIN },
    { "scheduler_extension:scheduler_stats:get_pools", ADMIN },
    { "volume_extension:volume_mig_status_attribute", ADMIN },
    { "volume:attachment_get", PROJECT_READER_OR_ADMIN },
    { "volume:attachment_get_all", PROJECT_READER_OR_ADMIN },
    { "volswap:admin", ADMIN },
};

int policy_check(const struct auth_ctx *ctx, const char *rule, const char *target_project,
                 struct api_error *e)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (strcmp(rules[i].name, rule) != 0)
            continue;
        bool admin = auth_has_role(ctx, "admin");
        bool own = !target_project || strcmp(target_project, ctx->project_id) == 0;
        bool ok = false;
        switch (rules[i].kind) {
        case ADMIN: ok = admin; break;
        case PROJECT_READER_OR_ADMIN: ok = admin || (own && auth_has_role(ctx, "reader")); break;
        case PROJECT_MEMBER_OR_ADMIN: ok = admin || (own && auth_has_role(ctx, "member")); break;
        }
        if (ok)
            return 0;
        return api_err(e, 403, "Policy doesn't allow %s to be performed.", rule);
    }
    /* an unknown rule is a programming error: deny, loudly */
    return api_err(e, 403, "Policy doesn't allow %s to be performed.", rule);
}
