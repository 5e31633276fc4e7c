/* volswap swap-report SWAP_ID [--svg FILE]: a swap as a picture. The API
 * keeps what its worker sampled while the swap ran (GET
 * /os-volume-swaps/{id}/report); this draws it as one SVG a browser shows:
 * bytes copied and still dirty over time, the moment of READY and the
 * pivot's pause, and below, on the same time axis, the consumer's mean I/O
 * latency. Without --svg it prints the swap's figures. The SVG is written
 * by hand (no library): a few polylines, axes and labels. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W 960
#define H 600
#define LEFT 90
#define RIGHT 90
#define TOP_Y0 90   /* upper plot: bytes */
#define TOP_Y1 340
#define BOT_Y0 400  /* lower plot: latency */
#define BOT_Y1 540

struct axis {
    double max, step;
};

/* A "nice" step (1, 2 or 5 times a power of ten) for about 5 ticks. */
static struct axis nice_axis(double max)
{
    struct axis a;
    if (max <= 0)
        max = 1;
    double raw = max / 5, p = pow(10, floor(log10(raw))), f = raw / p;
    a.step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
    a.max = ceil(max / a.step) * a.step;
    return a;
}

/* Bytes as the axis shows them, with one unit for the whole axis. */
static void byte_unit(double max, double *div, const char **unit)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    *div = 1;
    while (u < 4 && max / *div >= 1024) {
        *div *= 1024;
        u++;
    }
    *unit = units[u];
}

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static double xpos(double t_ms, double tmax_ms)
{
    return LEFT + (W - LEFT - RIGHT) * (tmax_ms > 0 ? t_ms / tmax_ms : 0);
}

static double ypos(double v, double vmax, int y0, int y1)
{
    return y1 - (y1 - y0) * (vmax > 0 ? v / vmax : 0);
}

static double num(json_t *row, size_t i)
{
    json_t *v = json_array_get(row, i);
    return json_is_number(v) ? json_number_value(v) : -1;
}

static void polyline(FILE *f, json_t *samples, size_t col, double div, double tmax, double vmax,
                     int y0, int y1, const char *color, const char *cls)
{
    fprintf(f, "<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
            cls, color);
    size_t i;
    json_t *row;
    json_array_foreach(samples, i, row) {
        double v = num(row, col);
        if (v < 0)
            continue;
        fprintf(f, "%.1f,%.1f ", xpos(num(row, 0), tmax), ypos(v / div, vmax, y0, y1));
    }
    fputs("\"/>\n", f);
}

static void time_axis(FILE *f, double tmax_ms, int y0, int y1, bool labels)
{
    struct axis a = nice_axis(tmax_ms / 1000.0);
    for (double t = 0; t <= a.max + a.step / 2; t += a.step) {
        double x = xpos(t * 1000, a.max * 1000);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", x, y0, x,
                y1);
        if (labels)
            fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\">%g s</text>\n",
                    x, y1 + 16, t);
    }
}

/* Ticks and labels of a value axis: on the left with grid lines, or on
 * the right (a second scale for the same plot) in COLOR. */
static void value_axis(FILE *f, struct axis a, int y0, int y1, const char *unit, bool right,
                       const char *color)
{
    for (double v = 0; v <= a.max + a.step / 2; v += a.step) {
        double y = ypos(v, a.max, y0, y1);
        if (!right)
            fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                    LEFT, y, W - RIGHT, y);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"12\" fill=\"%s\">%g %s</text>\n",
                right ? W - RIGHT + 6 : LEFT - 6, y + 4, right ? "start" : "end", color, v, unit);
    }
}

/* A moment: a dashed line across both plots and its label above, to the
 * left of the line (READY) or to its right (the pivot), so that both read
 * when they fall close together. */
static void marker(FILE *f, double t_ms, double tmax, const char *color, const char *cls,
                   const char *label, bool left)
{
    double x = xpos(t_ms, tmax);
    fprintf(f, "<line class=\"%s\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
               "stroke-width=\"1.5\" stroke-dasharray=\"6,4\"/>\n",
            cls, x, TOP_Y0 - 14, x, BOT_Y1, color);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" fill=\"%s\" font-size=\"13\" text-anchor=\"%s\">",
            left ? x - 4 : x + 4, TOP_Y0 - 6, color, left ? "end" : "start");
    esc(f, label);
    fputs("</text>\n", f);
}

/* The whole picture of REPORT (the API's swap_report object) into F. */
static int write_svg(FILE *f, json_t *rep)
{
    json_t *series = json_object_get(rep, "series");
    json_t *samples = json_object_get(series, "samples");
    if (!json_is_array(samples) || json_array_size(samples) == 0) {
        fprintf(stderr, "ERROR: swap %s has no samples to draw\n",
                json_string_value(json_object_get(rep, "request_id")));
        return 1;
    }
    double tmax = 0, bmax = 0, dmax = 0, lmax = 0;
    size_t i;
    json_t *row;
    json_array_foreach(samples, i, row) {
        tmax = fmax(tmax, num(row, 0));
        bmax = fmax(bmax, num(row, 1));
        dmax = fmax(dmax, num(row, 2));
        lmax = fmax(lmax, num(row, 4));
    }
    json_t *ready = json_object_get(series, "ready_ms");
    json_t *p0 = json_object_get(series, "pivot_start_ms");
    json_t *p1 = json_object_get(series, "pivot_end_ms");
    if (json_is_integer(p1))
        tmax = fmax(tmax, (double)json_integer_value(p1));
    struct axis ta = nice_axis(tmax / 1000.0);
    double tspan = ta.max * 1000;
    /* Copied bytes count a sparse volume's holes at once (as QEMU's
     * offset does) and can dwarf what is left to copy: each has its own
     * scale, copied on the left, dirty on the right. */
    double div, ddiv;
    const char *unit, *dunit;
    byte_unit(bmax, &div, &unit);
    byte_unit(dmax, &ddiv, &dunit);
    struct axis ba = nice_axis(bmax / div), da = nice_axis(dmax / ddiv);

    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, H, W, H);
    fputs("<title>volswap swap report</title>\n<text x=\"20\" y=\"28\" font-size=\"18\" "
          "font-weight=\"bold\">",
          f);
    fputs(json_string_value(json_object_get(rep, "kind")) &&
                  !strcmp(json_string_value(json_object_get(rep, "kind")), "migrate")
              ? "Volume migration "
              : "Volume swap ",
          f);
    esc(f, json_string_value(json_object_get(rep, "request_id")));
    fputs("</text>\n<text x=\"20\" y=\"50\" font-size=\"13\" fill=\"#444\">", f);
    esc(f, json_string_value(json_object_get(rep, "old_volume_id")));
    fputs(" \u2192 ", f);
    esc(f, json_string_value(json_object_get(rep, "new_volume_id")));
    fputs(", ", f);
    esc(f, json_string_value(json_object_get(rep, "state")));
    json_t *pause = json_object_get(rep, "pivot_pause_ms");
    if (json_is_integer(pause))
        fprintf(f, ", consumer paused %lld ms at the pivot", (long long)json_integer_value(pause));
    fputs("</text>\n", f);

    /* upper plot: bytes copied and dirty */
    time_axis(f, tspan, TOP_Y0, TOP_Y1, false);
    value_axis(f, ba, TOP_Y0, TOP_Y1, unit, false, "#1f77b4");
    value_axis(f, da, TOP_Y0, TOP_Y1, dunit, true, "#ff7f0e");
    if (json_is_integer(p0) && json_is_integer(p1)) {
        double x0 = xpos((double)json_integer_value(p0), tspan);
        double x1 = xpos((double)json_integer_value(p1), tspan);
        fprintf(f, "<rect class=\"pivot-pause\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                   "fill=\"#d62728\" fill-opacity=\"0.15\"/>\n",
                x0, TOP_Y0, fmax(x1 - x0, 1.5), BOT_Y1 - TOP_Y0);
    }
    polyline(f, samples, 1, div, tspan, ba.max, TOP_Y0, TOP_Y1, "#1f77b4", "copied");
    polyline(f, samples, 2, ddiv, tspan, da.max, TOP_Y0, TOP_Y1, "#ff7f0e", "dirty");
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>\n",
            LEFT, TOP_Y0, W - LEFT - RIGHT, TOP_Y1 - TOP_Y0);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"13\" fill=\"#1f77b4\">\u2014 bytes copied</text>\n"
               "<text x=\"%d\" y=\"%d\" font-size=\"13\" fill=\"#ff7f0e\">\u2014 bytes dirty, still to copy (right scale)</text>\n",
            LEFT, TOP_Y0 - 6, LEFT + 120, TOP_Y0 - 6);

    /* lower plot: the consumer's latency */
    time_axis(f, tspan, BOT_Y0, BOT_Y1, true);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\">time since the swap was accepted</text>\n",
            (LEFT + W - RIGHT) / 2, BOT_Y1 + 34);
    if (lmax > 0) {
        struct axis la = nice_axis(lmax / 1000.0);
        value_axis(f, la, BOT_Y0, BOT_Y1, "ms", false, "#000");
        polyline(f, samples, 4, 1000.0, tspan, la.max, BOT_Y0, BOT_Y1, "#2ca02c",
                 "consumer-latency");
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"13\" fill=\"#2ca02c\">\u2014 consumer's mean I/O latency</text>\n",
                LEFT + 10, BOT_Y0 + 18);
    } else {
        fprintf(f, "<text class=\"no-latency\" x=\"%d\" y=\"%d\" font-size=\"13\" fill=\"#666\">"
                   "no consumer latency: the consumer did no I/O the host reported</text>\n",
                LEFT + 10, BOT_Y0 + 40);
    }
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>\n",
            LEFT, BOT_Y0, W - LEFT - RIGHT, BOT_Y1 - BOT_Y0);

    if (json_is_integer(ready))
        marker(f, (double)json_integer_value(ready), tspan, "#2ca02c", "ready", "READY", true);
    if (json_is_integer(p1)) {
        char label[64];
        snprintf(label, sizeof label, "pivot (%lld ms)",
                 (long long)(json_integer_value(p1) - json_integer_value(p0)));
        marker(f, (double)json_integer_value(p1), tspan, "#d62728", "pivot", label, false);
    }
    fputs("</svg>\n", f);
    return 0;
}

int cmd_swap_report(struct cli *c, int argc, char **argv)
{
    const char *svg = NULL;
    const char *id = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--svg") == 0 && i + 1 < argc)
            svg = argv[++i];
        else if (!id && argv[i][0] != '-')
            id = argv[i];
        else
            id = NULL, i = argc;
    }
    if (!id)
        return cli_usage_error(argv[0]);
    char path[300];
    snprintf(path, sizeof path, "/os-volume-swaps/%s/report", id);
    int rc;
    json_t *r = cli_compute(c, "GET", path, NULL, 200, &rc);
    if (!r)
        return rc;
    json_t *rep = json_object_get(r, "swap_report");
    if (!svg) {
        if (c->json)
            cli_print_json(rep);
        else {
            json_t *summary = json_deep_copy(rep);
            json_t *series = json_object_get(rep, "series");
            json_object_del(summary, "series");
            json_object_set_new(summary, "samples",
                                json_integer((json_int_t)json_array_size(
                                    json_object_get(series, "samples"))));
            table_print_object(summary);
            json_decref(summary);
        }
        json_decref(r);
        return 0;
    }
    FILE *f = strcmp(svg, "-") == 0 ? stdout : fopen(svg, "w");
    if (!f) {
        fprintf(stderr, "ERROR: cannot write %s\n", svg);
        json_decref(r);
        return 1;
    }
    rc = write_svg(f, rep);
    if (f != stdout && fclose(f) != 0) {
        fprintf(stderr, "ERROR: cannot write %s\n", svg);
        rc = 1;
    }
    json_decref(r);
    return rc;
}
