/* Every route of the route table has in-process cases: at least one that
 * succeeds (a case named "...-ok", or "...-answers-..." for a route whose
 * answer is a refusal by design) and at least one refusal. Runs every case
 * of the four service tables and looks at the route each one matched, so
 * a route added without its cases fails here. */
#include "../harness.h"

#define MAX_ROUTES 256

int main(void)
{
    const struct api_route *routes[MAX_ROUTES];
    bool ok[MAX_ROUTES] = { false }, refused[MAX_ROUTES] = { false };
    size_t n = 0;
    for (size_t t = 0; api_all_tables[t]; t++)
        for (const struct api_route *r = api_all_tables[t]; r->pattern; r++) {
            CHECK(n < MAX_ROUTES);
            routes[n++] = r;
        }
    const struct th_case *tables[] = { compute_cases, volume_cases, identity_cases, image_cases };
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const struct th_case *c = tables[t]; c->name; c++) {
            const struct api_route *r = th_run(c);
            size_t len = strlen(c->name);
            bool success = (len > 3 && !strcmp(c->name + len - 3, "-ok")) ||
                           strstr(c->name, "-answers-");
            for (size_t i = 0; i < n; i++)
                if (routes[i] == r)
                    success ? (ok[i] = true) : (refused[i] = true);
        }
    int missing = 0;
    for (size_t i = 0; i < n; i++)
        if (!ok[i] || !refused[i]) {
            fprintf(stderr, "%s %s: %s\n", routes[i]->method, routes[i]->pattern,
                    !ok[i] ? "no success case" : "no refusal case");
            missing++;
        }
    return missing ? 1 : 0;
}
