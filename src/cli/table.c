/* Table output for the volswap CLI, in the style of the OpenStack clients:
 *   +------+------+
 *   | ID   | Name |
 *   +------+------+
 * Values are printed as JSON scalars (strings unquoted, null as "-"), nested
 * values compactly as JSON. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *cell(json_t *v)
{
    if (!v || json_is_null(v))
        return strdup("-");
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_true(v))
        return strdup("True");
    if (json_is_false(v))
        return strdup("False");
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    return s ? s : strdup("?");
}

static void rule(const size_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        putchar('+');
        for (size_t k = 0; k < w[i] + 2; k++)
            putchar('-');
    }
    puts("+");
}

static void row(char **cells, const size_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("| %-*s ", (int)w[i], cells[i]);
    puts("|");
}

void table_print(json_t *rows, const char *const *columns, const char *const *heads)
{
    size_t ncol = 0;
    while (columns[ncol])
        ncol++;
    size_t nrow = json_array_size(rows);
    size_t *w = calloc(ncol, sizeof *w);
    char **cells = calloc((nrow + 1) * ncol, sizeof *cells);
    for (size_t j = 0; j < ncol; j++) {
        cells[j] = strdup(heads[j]);
        w[j] = strlen(heads[j]);
    }
    for (size_t i = 0; i < nrow; i++) {
        for (size_t j = 0; j < ncol; j++) {
            char *s = cell(json_object_get(json_array_get(rows, i), columns[j]));
            cells[(i + 1) * ncol + j] = s;
            if (strlen(s) > w[j])
                w[j] = strlen(s);
        }
    }
    rule(w, ncol);
    row(cells, w, ncol);
    rule(w, ncol);
    for (size_t i = 0; i < nrow; i++)
        row(cells + (i + 1) * ncol, w, ncol);
    rule(w, ncol);
    for (size_t i = 0; i < (nrow + 1) * ncol; i++)
        free(cells[i]);
    free(cells);
    free(w);
}

void table_print_object(json_t *obj)
{
    json_t *rows = json_array();
    const char *k;
    json_t *v;
    /* sorted by key, like novaclient's print_dict */
    const char **keys = calloc(json_object_size(obj) + 1, sizeof *keys);
    size_t n = 0;
    json_object_foreach(obj, k, v) {
        if (strcmp(k, "links") != 0) /* hypermedia links are noise in a table */
            keys[n++] = k;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            rows, json_pack("{s:s, s:O}", "p", keys[i], "v", json_object_get(obj, keys[i])));
    static const char *const cols[] = { "p", "v", NULL };
    static const char *const heads[] = { "Property", "Value", NULL };
    table_print(rows, cols, heads);
    free(keys);
    json_decref(rows);
}
