/* Cinder's volume state transitions (volume-state.c): each case walks a
 * volume through the moves the attach, detach, delete, extend and swap
 * workflows make, and checks the refusals and their messages. */
#include "domain/domain.h"
#include "../unit.h"

static struct reg_volume vol(const char *status, const char *attach)
{
    struct reg_volume v;
    memset(&v, 0, sizeof v);
    snprintf(v.status, sizeof v.status, "%s", status);
    snprintf(v.attach_status, sizeof v.attach_status, "%s", attach);
    return v;
}

static void attach_cycle(void)
{
    struct api_error e;
    struct reg_volume v = vol("available", "detached");
    CHECK(vol_transition_check(&v, VT_RESERVE, false, &e) == 0);
    CHECK_STR(v.status, "attaching");
    CHECK(vol_transition_check(&v, VT_ATTACH, false, &e) == 0);
    CHECK_STR(v.status, "in-use");
    CHECK_STR(v.attach_status, "attached");
    CHECK(vol_transition_check(&v, VT_BEGIN_DETACHING, false, &e) == 0);
    CHECK_STR(v.status, "detaching");
    CHECK(vol_transition_check(&v, VT_DETACH, false, &e) == 0);
    CHECK_STR(v.status, "available");
    CHECK_STR(v.attach_status, "detached");
}

static void rollbacks(void)
{
    struct api_error e;
    struct reg_volume v = vol("available", "detached");
    CHECK(vol_transition_check(&v, VT_RESERVE, false, &e) == 0);
    CHECK(vol_transition_check(&v, VT_UNRESERVE, false, &e) == 0);
    CHECK_STR(v.status, "available");
    v = vol("in-use", "attached");
    CHECK(vol_transition_check(&v, VT_BEGIN_DETACHING, false, &e) == 0);
    CHECK(vol_transition_check(&v, VT_ROLL_DETACHING, false, &e) == 0);
    CHECK_STR(v.status, "in-use");
    CHECK_STR(v.attach_status, "attached");
}

static void refusals(void)
{
    struct api_error e;
    struct reg_volume v = vol("in-use", "attached");
    CHECK(vol_transition_check(&v, VT_RESERVE, false, &e) < 0);
    CHECK(e.status == 400);
    CHECK_STR(e.msg, "Invalid volume: Volume status must be available to reserve, but the "
                     "status is in-use.");
    CHECK_STR(v.status, "in-use"); /* unchanged on refusal */
    v = vol("available", "detached");
    CHECK(vol_transition_check(&v, VT_BEGIN_DETACHING, false, &e) < 0);
    CHECK_CONTAINS(e.msg, "Unable to detach volume.");
    v = vol("in-use", "detached"); /* status alone is not enough */
    CHECK(vol_transition_check(&v, VT_BEGIN_DETACHING, false, &e) < 0);
    v = vol("available", "detached");
    CHECK(vol_transition_check(&v, VT_ROLL_DETACHING, false, &e) < 0);
}

static void delete_rules(void)
{
    struct api_error e;
    struct reg_volume v = vol("in-use", "attached");
    CHECK(vol_transition_check(&v, VT_BEGIN_DELETE, false, &e) < 0);
    CHECK_CONTAINS(e.msg, "Volume status must be available or error");
    v = vol("error", "detached");
    CHECK(vol_transition_check(&v, VT_BEGIN_DELETE, false, &e) == 0);
    CHECK_STR(v.status, "deleting");
    v = vol("available", "detached");
    snprintf(v.migration_status, sizeof v.migration_status, "migrating");
    CHECK(vol_transition_check(&v, VT_BEGIN_DELETE, false, &e) < 0);
}

static void extend_rules(void)
{
    struct api_error e;
    struct reg_volume v = vol("in-use", "attached");
    CHECK(vol_transition_check(&v, VT_BEGIN_EXTEND, false, &e) < 0);
    CHECK_CONTAINS(e.msg, "must be available to extend");
    CHECK(vol_transition_check(&v, VT_BEGIN_EXTEND, true, &e) == 0);
    CHECK_STR(v.status, "extending");
    CHECK(vol_transition_check(&v, VT_FINISH_EXTEND, false, &e) == 0);
    CHECK_STR(v.status, "in-use");
    v = vol("available", "detached");
    CHECK(vol_transition_check(&v, VT_BEGIN_EXTEND, false, &e) == 0);
    CHECK(vol_transition_check(&v, VT_ERROR_EXTENDING, false, &e) == 0);
    CHECK_STR(v.status, "error_extending");
}

static void migration_statuses(void)
{
    struct api_error e;
    struct reg_volume v = vol("in-use", "attached");
    CHECK(vol_transition_check(&v, VT_MIGRATION_COMPLETING, false, &e) < 0);
    CHECK(vol_transition_check(&v, VT_MIGRATION_START, false, &e) == 0);
    CHECK_STR(v.migration_status, "starting");
    CHECK_STR(v.status, "in-use"); /* migration_status moves alone */
    CHECK(vol_transition_check(&v, VT_MIGRATION_START, false, &e) < 0);
    CHECK(vol_transition_check(&v, VT_MIGRATION_MIGRATING, false, &e) == 0);
    CHECK(vol_transition_check(&v, VT_MIGRATION_COMPLETING, false, &e) == 0);
    CHECK(vol_transition_check(&v, VT_MIGRATION_SUCCESS, false, &e) == 0);
    CHECK_STR(v.migration_status, "success");
    CHECK(vol_transition_check(&v, VT_MIGRATION_START, false, &e) == 0);
    CHECK(vol_transition_check(&v, VT_MIGRATION_ERROR, false, &e) == 0);
    CHECK_STR(v.migration_status, "error");
}

static void names(void)
{
    CHECK_STR(vol_transition_name(VT_BEGIN_DETACHING), "begin_detaching");
    CHECK_STR(vol_transition_name(VT_ROLL_DETACHING), "roll_detaching");
    CHECK_STR(vol_transition_name(VT_UNRESERVE), "unreserve");
    for (int t = 0; t < VT__COUNT; t++)
        CHECK(strcmp(vol_transition_name((enum vol_transition)t), "?") != 0);
}

static const struct unit_case cases[] = {
    { "attach-cycle", attach_cycle },
    { "rollbacks", rollbacks },
    { "refusals", refusals },
    { "delete-rules", delete_rules },
    { "extend-rules", extend_rules },
    { "migration-statuses", migration_statuses },
    { "names", names },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    return unit_main(argc, argv, cases);
}
