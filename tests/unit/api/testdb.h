/* Where a unit test keeps its registry. Normally the SQLite file the test
 * named; when the suite runs under tests/with-postgres
 * (VOLSWAP_TEST_DB=postgresql), a PostgreSQL database of its own instead,
 * named after that file's path (so re-opening the same path re-opens the
 * same database) and created on first use on the server VOLSWAP_TEST_PG
 * points at. */
#ifndef VOLSWAP_API_TESTDB_H
#define VOLSWAP_API_TESTDB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline bool unit_db_is_postgres(void)
{
    const char *db = getenv("VOLSWAP_TEST_DB");
    return db && !strcmp(db, "postgresql") && getenv("VOLSWAP_TEST_PG");
}

/* PATH itself, or the connection string of PATH's PostgreSQL database
 * (written to BUF). NULL if that database cannot be created. */
static inline const char *unit_db_for(const char *path, char *buf, size_t len)
{
    if (!unit_db_is_postgres()) {
        snprintf(buf, len, "%s", path);
        return buf;
    }
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = path; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    char name[32];
    snprintf(name, sizeof name, "vs_%016llx", (unsigned long long)h);
    const char *base = getenv("VOLSWAP_TEST_PG");
    PGconn *c = PQconnectdb(base);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "test database: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    char sql[64];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    PGresult *res = PQexec(c, sql);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || (state && !strcmp(state, "42P04"));
    if (!ok)
        fprintf(stderr, "test database: %s", PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(c);
    if (!ok)
        return NULL;
    snprintf(buf, len, "%s dbname=%s", base, name);
    return buf;
}

#endif
