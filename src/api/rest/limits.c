/* Absolute limits: Nova's GET /v2.1/limits and Cinder's GET
 * /v3/{project_id}/limits (`nova limits`, `cinder absolute-limits`,
 * `openstack limits show --absolute`).
 *
 * The maxima are the project's quotas (quotas.c): instances, cores, RAM,
 * volumes, gigabytes, key pairs and server metadata items as an admin set
 * them (for the project or its default class), -1 ("unlimited") otherwise
 * (128 metadata items: see metadata.c); maxImageMeta is the 128 volswap
 * always enforces; -1 for what volswap has nothing of (server groups,
 * snapshots, backups). The "used" figures are
 * counted from the registry for the project: servers not deleted, with the
 * vCPUs and memory of each one's flavor, and the volumes with their
 * gigabytes. */

#include "rest.h"

#include <string.h>

#define UNLIMITED QUOTA_UNLIMITED

int nova_limits(struct api_request *rq)
{
    const char *project = api_query(rq, "tenant_id");
    if (project && strcmp(project, rq->auth.project_id) != 0) {
        if (policy_check(&rq->auth, "os_compute_api:limits:other_project", project, &rq->err) < 0)
            return -1;
    } else {
        project = rq->auth.project_id;
        if (policy_check(&rq->auth, "os_compute_api:limits", project, &rq->err) < 0)
            return -1;
    }
    struct project_usage u;
    struct quota_limits l;
    if (project_usage(rq, project, &u) < 0 || quota_load(rq, project, &l) < 0)
        return -1;
    json_int_t used = u.servers;

    json_t *abs = json_pack(
        "{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:i}", "maxServerMeta",
        (int)l.metadata_items, "maxImageMeta", META_MAX_ITEMS, "maxTotalKeypairs", (int)l.key_pairs,
        "maxServerGroups", UNLIMITED, "maxServerGroupMembers", UNLIMITED, "maxTotalCores",
        (int)l.cores, "maxTotalInstances", (int)l.instances, "maxTotalRAMSize", (int)l.ram,
        "totalServerGroupsUsed", 0, "totalInstancesUsed", used, "totalCoresUsed", u.cores,
        "totalRAMUsed", u.ram_mb, "maxSecurityGroupRules", UNLIMITED);
    if (!nova_mv(rq, 36)) {
        /* Network limits, gone from 2.36 (proxies to Neutron). */
        json_object_update_new(abs,
                               json_pack("{s:i, s:i, s:i, s:i}", "maxSecurityGroups", UNLIMITED,
                                         "maxTotalFloatingIps", UNLIMITED, "totalFloatingIpsUsed",
                                         0, "totalSecurityGroupsUsed", 0));
    } else {
        json_object_del(abs, "maxSecurityGroupRules");
    }
    if (!nova_mv(rq, 57))
        /* Personality (file injection), gone from 2.57. */
        json_object_update_new(abs, json_pack("{s:i, s:i}", "maxPersonality", UNLIMITED,
                                              "maxPersonalitySize", UNLIMITED));
    return api_reply(rq, 200, json_pack("{s:{s:[], s:o}}", "limits", "rate", "absolute", abs));
}

int cinder_limits(struct api_request *rq)
{
    struct project_usage u;
    struct quota_limits l;
    if (project_usage(rq, api_param(rq, "project_id"), &u) < 0 ||
        quota_load(rq, api_param(rq, "project_id"), &l) < 0)
        return -1;
    json_t *abs = json_pack("{s:i, s:i, s:i, s:i, s:i, s:I, s:I, s:i, s:i, s:i}", "maxTotalVolumes",
                            (int)l.volumes, "maxTotalSnapshots", UNLIMITED,
                            "maxTotalVolumeGigabytes", (int)l.gigabytes, "maxTotalBackups",
                            UNLIMITED, "maxTotalBackupGigabytes", UNLIMITED, "totalVolumesUsed",
                            u.volumes, "totalGigabytesUsed", u.gigabytes, "totalSnapshotsUsed", 0,
                            "totalBackupsUsed", 0, "totalBackupGigabytesUsed", 0);
    return api_reply(rq, 200, json_pack("{s:{s:[], s:o}}", "limits", "rate", "absolute", abs));
}
