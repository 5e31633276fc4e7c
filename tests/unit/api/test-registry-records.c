/* The registry's record tables (registry/fields.c) against the statements
 * of both backends, without a database: a record's column list (the text
 * its statements spell) names its columns in the table's order; every
 * statement that writes a record binds, parameter for parameter, the
 * column it puts the value in; every statement that reads a record
 * selects the record's columns in the reader's order. A column moved in a
 * table or a statement, or a placeholder renumbered, fails here instead of
 * swapping two fields on disk. */
#include "registry/fields.h"
#include "unit.h"

#include <ctype.h>

#define MAX_ITEMS 64

/* The comma-separated list S split into ITEMS (trimmed); their count. */
static int split(const char *s, size_t len, char items[][64])
{
    int n = 0;
    size_t i = 0;
    while (i <= len && n < MAX_ITEMS) {
        size_t j = i;
        int depth = 0;
        while (j < len && (s[j] != ',' || depth > 0)) {
            depth += s[j] == '(' ? 1 : s[j] == ')' ? -1 : 0;
            j++;
        }
        size_t a = i, b = j;
        while (a < b && isspace((unsigned char)s[a]))
            a++;
        while (b > a && isspace((unsigned char)s[b - 1]))
            b--;
        snprintf(items[n++], 64, "%.*s", (int)(b - a), s + a);
        i = j + 1;
    }
    return n;
}

/* TEXT with SQLite's parameters spelled as PostgreSQL's: ?N as $N, and an
 * anonymous ? as the next number after the highest so far. */
static void as_numbered(const char *text, char *out, size_t len)
{
    int high = 0;
    size_t o = 0;
    for (const char *c = text; *c && o + 8 < len; c++) {
        if (*c != '?') {
            out[o++] = *c;
            continue;
        }
        int k = isdigit((unsigned char)c[1]) ? atoi(c + 1) : ++high;
        if (k > high)
            high = k;
        o += (size_t)snprintf(out + o, len - o, "$%d", k);
        while (isdigit((unsigned char)c[1]))
            c++;
    }
    out[o] = '\0';
}

/* TEXT without the table aliases of a join ("s.", "a.", "t."). */
static void unaliased(const char *text, char *out, size_t len)
{
    size_t o = 0;
    for (const char *c = text; *c && o + 1 < len; c++) {
        if ((c == text || !isalnum((unsigned char)c[-1])) && isalpha((unsigned char)c[0]) &&
            c[1] == '.' && isalpha((unsigned char)c[2])) {
            c++;
            continue;
        }
        out[o++] = *c;
    }
    out[o] = '\0';
}

static void check_columns_named(const struct reg_record *rec)
{
    char items[MAX_ITEMS][64];
    int n = split(rec->cols, strlen(rec->cols), items);
    if (n != rec->ncols)
        fprintf(stderr, "columns \"%s\": %d named, %d in the table\n", rec->cols, n, rec->ncols);
    CHECK(n == rec->ncols);
    for (int i = 0; i < n; i++) {
        if (strcmp(items[i], rec->col[i].name) != 0)
            fprintf(stderr, "columns \"%s\": %s where the table has %s\n", rec->cols, items[i],
                    rec->col[i].name);
        CHECK(strcmp(items[i], rec->col[i].name) == 0);
    }
}

static void columns_match_their_lists(void)
{
    for (int q = 0; q < Q__SHARED; q++) {
        if (reg_stmts[q].bind)
            check_columns_named(reg_stmts[q].bind);
        if (reg_stmts[q].row)
            check_columns_named(reg_stmts[q].row);
    }
    check_columns_named(&reg_att_view_rec);
}

/* The name of the value bound as parameter K of statement Q (its key
 * parameters first, then its record's fields), or NULL when K is not a
 * column. */
static const char *bound(int q, int keys, int k)
{
    const struct reg_record *rec = reg_stmts[q].bind;
    int i = k - 1 - keys;
    return i >= 0 && i < rec->nbind ? rec->col[i].name : NULL;
}

static int highest_param(const char *t)
{
    int high = 0;
    for (const char *c = strchr(t, '$'); c; c = strchr(c + 1, '$'))
        if (atoi(c + 1) > high)
            high = atoi(c + 1);
    return high;
}

/* An INSERT's columns against its VALUES, and every "column=$K" of an
 * UPDATE (or a WHERE) against what parameter K binds. */
static void check_write(const char *backend, int q, const char *text)
{
    static char t[8192];
    as_numbered(text, t, sizeof t);
    const struct reg_record *rec = reg_stmts[q].bind;
    int keys = highest_param(t) - rec->nbind;
    if (keys < 0)
        fprintf(stderr, "%s statement %d binds %d values to %d parameters: %s\n", backend, q,
                rec->nbind, highest_param(t), t);
    CHECK(keys >= 0);
    const char *ins = strstr(t, "INSERT");
    if (ins) {
        char cols[MAX_ITEMS][64], vals[MAX_ITEMS][64];
        const char *c0 = strchr(ins, '('), *c1 = strchr(c0, ')');
        const char *v0 = strstr(c1, "VALUES(") + 6;
        const char *v1 = v0 + 1;
        for (int depth = 1; depth > 0; v1++)
            depth += *v1 == '(' ? 1 : *v1 == ')' ? -1 : 0;
        int nc = split(c0 + 1, (size_t)(c1 - c0 - 1), cols);
        int nv = split(v0 + 1, (size_t)(v1 - v0 - 2), vals);
        CHECK(nc == nv);
        for (int i = 0; i < nv; i++) {
            /* an expression (the lease's expiry, the next seq), or a key
             * bound before the record (a metadata item's kind and owner) */
            if (vals[i][0] != '$' || atoi(vals[i] + 1) <= keys)
                continue;
            const char *name = bound(q, keys, atoi(vals[i] + 1));
            if (!name || strcmp(name, cols[i]) != 0)
                fprintf(stderr, "%s statement %d: column %s gets %s (%s)\n", backend, q, cols[i],
                        vals[i], name ? name : "no column");
            CHECK(name && strcmp(name, cols[i]) == 0);
        }
    }
    for (const char *c = strstr(t, "=$"); c; c = strstr(c + 2, "=$")) {
        const char *w = c;
        while (w > t && (isalnum((unsigned char)w[-1]) || w[-1] == '_'))
            w--;
        char col[64];
        snprintf(col, sizeof col, "%.*s", (int)(c - w), w);
        if (atoi(c + 2) <= keys)
            continue;
        const char *name = bound(q, keys, atoi(c + 2));
        if (!name || strcmp(name, col) != 0)
            fprintf(stderr, "%s statement %d: %s=$%d binds %s\n", backend, q, col, atoi(c + 2),
                    name ? name : "no column");
        CHECK(name && strcmp(name, col) == 0);
    }
}

static void writes_bind_their_columns(void)
{
    for (int q = 0; q < Q__SHARED; q++) {
        if (!reg_stmts[q].bind)
            continue;
        check_write("sqlite", q, reg_sqlite_sql(q));
        check_write("postgresql", q, reg_postgres_sql(q));
    }
}

/* A statement that returns rows selects (or returns) the record's
 * columns, in the record's order, from column FIRST on. */
static void check_read(const char *backend, int q, const char *text, const struct reg_record *rec,
                       int first)
{
    static char t[8192], want[2048];
    unaliased(text, t, sizeof t);
    const char *sel = strstr(t, "SELECT ");
    const char *ret = strstr(t, "RETURNING ");
    if (!sel && !ret)
        return; /* SQLite's key pair insert: its id is the rowid, no row */
    const char *from = ret ? ret + 10 : sel + 7;
    if (first == 0)
        snprintf(want, sizeof want, "%s", rec->cols);
    else
        snprintf(want, sizeof want, ",%s", rec->cols);
    const char *at = strstr(from, want);
    if (!at)
        fprintf(stderr, "%s statement %d reads \"%s\", not \"%s\"\n", backend, q, t, rec->cols);
    CHECK(at);
    if (first == 0 && !strstr(t, "(SELECT "))
        CHECK(at == from); /* the first columns of the row */
}

static void reads_select_their_columns(void)
{
    for (int q = 0; q < Q__SHARED; q++) {
        if (!reg_stmts[q].row)
            continue;
        check_read("sqlite", q, reg_sqlite_sql(q), reg_stmts[q].row, 0);
        check_read("postgresql", q, reg_postgres_sql(q), reg_stmts[q].row, 0);
    }
    /* SQLite's view of a server: the server, then its attachments' views
     * from column 11 (sqlite.c reads them there) */
    CHECK(reg_server_rec.ncols == 11);
    check_read("sqlite", Q_SRV_VIEW, reg_sqlite_sql(Q_SRV_VIEW), &reg_att_view_rec, 11);
}

static const struct unit_case cases[] = {
    { "columns-match-their-lists", columns_match_their_lists },
    { "writes-bind-their-columns", writes_bind_their_columns },
    { "reads-select-their-columns", reads_select_their_columns },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    return unit_main(argc, argv, cases);
}
