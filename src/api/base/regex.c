/* A regular expression engine for filters tenants send (Nova's servers
 * `name` filter is a regex, searched with Python's re.search). A
 * backtracking engine lets one request spin a worker forever, or grow the
 * process without bound while compiling a counted repetition; this one is
 * a Thompson NFA simulated breadth first (a Pike VM without captures), so a
 * search costs at most (subject length + 1) x program size steps and its
 * memory is two lists of program size. Every bound is checked at compile
 * time: the pattern's length, each repeat count, the nesting depth and the
 * program size. What cannot run in linear time (backreferences,
 * lookarounds) or what we do not implement is refused, never approximated
 * by matching something else.
 *
 * Syntax, a subset of Python's `re`: literals, `.` (not newline), classes
 * `[...]` with ranges and negation, `\d \D \w \W \s \S` (also inside
 * classes), `\b \B \A \Z`, `^ $`, groups `(...)` and `(?:...)`,
 * alternation, `* + ? {n} {n,} {n,m} {,m}` and their lazy forms (the same
 * for a yes/no search). Characters are code points of UTF-8 text. */
#include "base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum re_op { RE_CHAR, RE_ANY, RE_CLASS, RE_SPLIT, RE_JMP, RE_ASSERT, RE_MATCH };
enum re_assert { AS_BOL, AS_EOL, AS_BEGIN, AS_END, AS_WORDB, AS_NWORDB };

struct re_inst {
    enum re_op op;
    int x, y; /* SPLIT: both targets; JMP: x; CHAR: x = code point;
               * CLASS: x = class index; ASSERT: x = enum re_assert */
};

/* Shorthand sets a class may include. */
enum { CS_DIGIT = 1, CS_NDIGIT = 2, CS_WORD = 4, CS_NWORD = 8, CS_SPACE = 16, CS_NSPACE = 32 };

struct re_class {
    bool negated;
    unsigned sets;
    size_t n;
    uint32_t (*ranges)[2];
};

/* Parse tree. Children are indices into the node array. */
enum re_kind { N_EMPTY, N_CHAR, N_ANY, N_CLASS, N_ASSERT, N_CAT, N_ALT, N_REPEAT };
struct re_node {
    enum re_kind kind;
    int a, b;     /* CAT/ALT: left, right; REPEAT: child in a */
    int min, max; /* REPEAT: max -1 = unbounded; CHAR: min = code point;
                   * CLASS: min = class index; ASSERT: min = kind */
};

struct api_regex {
    struct re_inst *prog;
    size_t n_prog;
    struct re_class *classes;
    size_t n_classes;
};

struct re_parser {
    const char *p, *end;
    struct re_node *nodes;
    size_t n_nodes, cap_nodes;
    struct re_class *classes;
    size_t n_classes;
    int depth;
    struct api_error *e;
};

/* ---- UTF-8 ---- */

/* Decodes one code point at *P (advancing it); a byte that does not start
 * a valid sequence stands for itself, mapped above Unicode so it only
 * matches itself. */
static uint32_t utf8_next(const char **pp, const char *end)
{
    const unsigned char *p = (const unsigned char *)*pp;
    uint32_t c = p[0];
    int len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 1) {
        *pp += 1;
        return c;
    }
    if (len == 0 || (const char *)p + len > end)
        goto bad;
    uint32_t v = c & (0x7f >> len);
    for (int i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            goto bad;
        v = (v << 6) | (p[i] & 0x3f);
    }
    if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
        v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        goto bad;
    *pp += len;
    return v;
bad:
    *pp += 1;
    return 0x110000 + c;
}

/* ---- parser ---- */

static int perr(struct re_parser *ps, const char *what)
{
    api_err(ps->e, 400, "Invalid regular expression in filter: %s.", what);
    return -1;
}

static int new_node(struct re_parser *ps, enum re_kind kind, int a, int b, int min, int max)
{
    if (ps->n_nodes >= API_REGEX_MAX_PROG)
        return perr(ps, "pattern too complex");
    if (ps->n_nodes == ps->cap_nodes) {
        size_t ncap = ps->cap_nodes ? ps->cap_nodes * 2 : 64;
        struct re_node *nn = realloc(ps->nodes, ncap * sizeof *nn);
        if (!nn)
            return perr(ps, "out of memory");
        ps->nodes = nn;
        ps->cap_nodes = ncap;
    }
    ps->nodes[ps->n_nodes] = (struct re_node){ kind, a, b, min, max };
    return (int)ps->n_nodes++;
}

static bool is_digit(uint32_t c)
{
    return c >= '0' && c <= '9';
}
static bool is_space(uint32_t c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}
/* Python's \w on str is Unicode-aware; outside ASCII we count letters,
 * digits and ideographs as word characters, and the punctuation and
 * symbol blocks we know of as not. */
static bool is_word(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
    if (c >= 0x110000 || is_space(c))
        return false;
    if ((c >= 0x80 && c <= 0xbf && c != 0xaa && c != 0xb5 && c != 0xba) || c == 0xd7 ||
        c == 0xf7 || (c >= 0x2000 && c <= 0x2bff) || (c >= 0x3000 && c <= 0x303f) ||
        (c >= 0xff00 && c <= 0xff0f) || (c >= 0xfe30 && c <= 0xfe4f))
        return false;
    return true;
}

static bool class_has(const struct re_class *k, uint32_t c)
{
    bool in = false;
    for (size_t i = 0; !in && i < k->n; i++)
        in = c >= k->ranges[i][0] && c <= k->ranges[i][1];
    if (!in && k->sets)
        in = ((k->sets & CS_DIGIT) && is_digit(c)) || ((k->sets & CS_NDIGIT) && !is_digit(c)) ||
             ((k->sets & CS_WORD) && is_word(c)) || ((k->sets & CS_NWORD) && !is_word(c)) ||
             ((k->sets & CS_SPACE) && is_space(c)) || ((k->sets & CS_NSPACE) && !is_space(c));
    return in != k->negated;
}

static int new_class(struct re_parser *ps)
{
    if (ps->n_classes >= API_REGEX_MAX_PATTERN)
        return perr(ps, "too many classes");
    struct re_class *nc = realloc(ps->classes, (ps->n_classes + 1) * sizeof *nc);
    if (!nc)
        return perr(ps, "out of memory");
    ps->classes = nc;
    ps->classes[ps->n_classes] = (struct re_class){ 0 };
    return (int)ps->n_classes++;
}

static int class_add(struct re_parser *ps, struct re_class *k, uint32_t lo, uint32_t hi)
{
    uint32_t(*nr)[2] = realloc(k->ranges, (k->n + 1) * sizeof *nr);
    if (!nr)
        return perr(ps, "out of memory");
    k->ranges = nr;
    k->ranges[k->n][0] = lo;
    k->ranges[k->n][1] = hi;
    k->n++;
    return 0;
}

static int hex_escape(struct re_parser *ps, int digits, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < digits; i++) {
        if (ps->p >= ps->end)
            return perr(ps, "incomplete escape");
        char c = *ps->p++;
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return perr(ps, "bad hexadecimal escape");
        v = v * 16 + (uint32_t)d;
    }
    if (v > 0x10ffff)
        return perr(ps, "bad escape");
    *out = v;
    return 0;
}

/* An escape after the backslash. Sets *CP for a single character, *SET
 * for a shorthand class, *ASSERT for an assertion (only outside classes). */
static int parse_escape(struct re_parser *ps, bool in_class, uint32_t *cp, unsigned *set,
                        int *assert_kind)
{
    *set = 0;
    *assert_kind = -1;
    if (ps->p >= ps->end)
        return perr(ps, "bad escape (end of pattern)");
    uint32_t c = utf8_next(&ps->p, ps->end);
    switch (c) {
    case 'd': *set = CS_DIGIT; return 0;
    case 'D': *set = CS_NDIGIT; return 0;
    case 'w': *set = CS_WORD; return 0;
    case 'W': *set = CS_NWORD; return 0;
    case 's': *set = CS_SPACE; return 0;
    case 'S': *set = CS_NSPACE; return 0;
    case 'n': *cp = '\n'; return 0;
    case 't': *cp = '\t'; return 0;
    case 'r': *cp = '\r'; return 0;
    case 'f': *cp = '\f'; return 0;
    case 'v': *cp = '\v'; return 0;
    case 'a': *cp = '\a'; return 0;
    case 'x': return hex_escape(ps, 2, cp);
    case 'u': return hex_escape(ps, 4, cp);
    case 'U': return hex_escape(ps, 8, cp);
    case 'b':
        if (in_class) {
            *cp = '\b';
            return 0;
        }
        *assert_kind = AS_WORDB;
        return 0;
    }
    if (!in_class) {
        switch (c) {
        case 'B': *assert_kind = AS_NWORDB; return 0;
        case 'A': *assert_kind = AS_BEGIN; return 0;
        case 'Z': *assert_kind = AS_END; return 0;
        }
    }
    if (c == '0') {
        *cp = 0;
        return 0;
    }
    if (c >= '1' && c <= '9')
        return perr(ps, "backreferences are not supported");
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return perr(ps, "unknown escape");
    *cp = c; /* an escaped punctuation character or any non-ASCII one */
    return 0;
}

static int parse_class(struct re_parser *ps)
{
    int idx = new_class(ps);
    if (idx < 0)
        return -1;
    struct re_class *k = &ps->classes[idx];
    if (ps->p < ps->end && *ps->p == '^') {
        k->negated = true;
        ps->p++;
    }
    bool first = true;
    for (;;) {
        if (ps->p >= ps->end)
            return perr(ps, "unterminated character set");
        if (*ps->p == ']' && !first) {
            ps->p++;
            break;
        }
        first = false;
        uint32_t lo;
        if (*ps->p == '\\') {
            ps->p++;
            unsigned set;
            int as;
            if (parse_escape(ps, true, &lo, &set, &as) < 0)
                return -1;
            if (set) {
                k->sets |= set;
                continue;
            }
        } else {
            lo = utf8_next(&ps->p, ps->end);
        }
        uint32_t hi = lo;
        if (ps->p + 1 < ps->end && ps->p[0] == '-' && ps->p[1] != ']') {
            ps->p++;
            if (*ps->p == '\\') {
                ps->p++;
                unsigned set;
                int as;
                if (parse_escape(ps, true, &hi, &set, &as) < 0)
                    return -1;
                if (set)
                    return perr(ps, "bad character range");
            } else {
                hi = utf8_next(&ps->p, ps->end);
            }
            if (hi < lo)
                return perr(ps, "bad character range");
        }
        if (k->n >= API_REGEX_MAX_PATTERN)
            return perr(ps, "character set too large");
        if (class_add(ps, &ps->classes[idx], lo, hi) < 0)
            return -1;
    }
    return new_node(ps, N_CLASS, 0, 0, idx, 0);
}

static int parse_alt(struct re_parser *ps);

/* A decimal repeat count, at most API_REGEX_MAX_REPEAT; -1 if none. */
static int parse_count(struct re_parser *ps, bool *too_big)
{
    int v = -1;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        v = (v < 0 ? 0 : v) * 10 + (*ps->p++ - '0');
        if (v > API_REGEX_MAX_REPEAT)
            *too_big = true, v = API_REGEX_MAX_REPEAT + 1;
    }
    return v;
}

/* Tries "{n}", "{n,}", "{n,m}", "{,m}" at ps->p ('{' already seen). False
 * (and nothing consumed) when it is not a quantifier: '{' is then a
 * literal, as in Python. */
static int parse_braces(struct re_parser *ps, int *min, int *max)
{
    const char *save = ps->p;
    bool too_big = false;
    ps->p++;
    int lo = parse_count(ps, &too_big), hi = lo;
    if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        hi = parse_count(ps, &too_big);
        if (lo < 0)
            lo = 0;
    } else if (lo < 0) {
        ps->p = save;
        return 0;
    }
    if (ps->p >= ps->end || *ps->p != '}') {
        ps->p = save;
        return 0;
    }
    ps->p++;
    if (too_big)
        return perr(ps, "repeat count too large");
    if (hi >= 0 && hi < lo)
        return perr(ps, "min repeat greater than max repeat");
    *min = lo;
    *max = hi;
    return 1;
}

static int parse_atom(struct re_parser *ps)
{
    char c = *ps->p;
    switch (c) {
    case '(': {
        ps->p++;
        if (ps->p < ps->end && *ps->p == '?') {
            if (ps->p + 1 < ps->end && ps->p[1] == ':')
                ps->p += 2;
            else
                return perr(ps, "only (?:...) groups are supported");
        }
        if (++ps->depth > API_REGEX_MAX_DEPTH)
            return perr(ps, "too deeply nested");
        int n = parse_alt(ps);
        ps->depth--;
        if (n < 0)
            return -1;
        if (ps->p >= ps->end || *ps->p != ')')
            return perr(ps, "missing ), unterminated subpattern");
        ps->p++;
        return n;
    }
    case '[': ps->p++; return parse_class(ps);
    case '.': ps->p++; return new_node(ps, N_ANY, 0, 0, 0, 0);
    case '^': ps->p++; return new_node(ps, N_ASSERT, 0, 0, AS_BOL, 0);
    case '$': ps->p++; return new_node(ps, N_ASSERT, 0, 0, AS_EOL, 0);
    case '*':
    case '+':
    case '?': return perr(ps, "nothing to repeat");
    case '\\': {
        ps->p++;
        uint32_t cp = 0;
        unsigned set;
        int as;
        if (parse_escape(ps, false, &cp, &set, &as) < 0)
            return -1;
        if (as >= 0)
            return new_node(ps, N_ASSERT, 0, 0, as, 0);
        if (set) {
            int idx = new_class(ps);
            if (idx < 0)
                return -1;
            ps->classes[idx].sets = set;
            return new_node(ps, N_CLASS, 0, 0, idx, 0);
        }
        return new_node(ps, N_CHAR, 0, 0, (int)cp, 0);
    }
    default: {
        uint32_t cp = utf8_next(&ps->p, ps->end);
        return new_node(ps, N_CHAR, 0, 0, (int)cp, 0);
    }
    }
}

/* What a quantifier may follow: anything in parentheses, or a single
 * character-consuming atom (Python refuses "a**" and "^*"). */
static bool repeatable(const struct re_node *n, bool grouped)
{
    return grouped || (n->kind != N_ASSERT && n->kind != N_REPEAT);
}

static int parse_repeat(struct re_parser *ps)
{
    if (ps->p < ps->end && *ps->p == '{') {
        int mn, mx;
        int q = parse_braces(ps, &mn, &mx);
        if (q < 0)
            return -1;
        if (q > 0)
            return perr(ps, "nothing to repeat");
    }
    bool grouped = ps->p < ps->end && *ps->p == '(';
    int n = parse_atom(ps);
    for (;;) {
        if (n < 0 || ps->p >= ps->end)
            return n;
        int mn, mx;
        char c = *ps->p;
        if (c == '*' || c == '+' || c == '?') {
            ps->p++;
            mn = c == '+' ? 1 : 0;
            mx = c == '?' ? 1 : -1;
        } else if (c == '{') {
            int q = parse_braces(ps, &mn, &mx);
            if (q < 0)
                return -1;
            if (q == 0)
                return n;
        } else {
            return n;
        }
        if (!repeatable(&ps->nodes[n], grouped))
            return perr(ps, "multiple repeat");
        grouped = false;
        if (ps->p < ps->end && *ps->p == '?')
            ps->p++; /* lazy: the same answer for a yes/no search */
        else if (ps->p < ps->end && *ps->p == '+')
            return perr(ps, "possessive repeats are not supported");
        n = new_node(ps, N_REPEAT, n, 0, mn, mx);
    }
}

static int parse_cat(struct re_parser *ps)
{
    int left = -1;
    while (ps->p < ps->end && *ps->p != '|' && *ps->p != ')') {
        int r = parse_repeat(ps);
        if (r < 0)
            return -1;
        left = left < 0 ? r : new_node(ps, N_CAT, left, r, 0, 0);
        if (left < 0)
            return -1;
    }
    return left < 0 ? new_node(ps, N_EMPTY, 0, 0, 0, 0) : left;
}

static int parse_alt(struct re_parser *ps)
{
    int left = parse_cat(ps);
    while (left >= 0 && ps->p < ps->end && *ps->p == '|') {
        ps->p++;
        int right = parse_cat(ps);
        if (right < 0)
            return -1;
        left = new_node(ps, N_ALT, left, right, 0, 0);
    }
    return left;
}

/* ---- compiler ---- */

struct re_compiler {
    struct re_parser *ps;
    struct re_inst *prog;
    size_t n;
    size_t work; /* every emission, empty ones too, so a repeat of nothing
                  * is bounded as well */
};

static int emit(struct re_compiler *c, enum re_op op, int x, int y)
{
    if (c->n >= API_REGEX_MAX_PROG)
        return perr(c->ps, "pattern too complex");
    c->prog[c->n] = (struct re_inst){ op, x, y };
    return (int)c->n++;
}

static int compile_node(struct re_compiler *c, int idx)
{
    if (++c->work > 4 * API_REGEX_MAX_PROG)
        return perr(c->ps, "pattern too complex");
    const struct re_node *n = &c->ps->nodes[idx];
    switch (n->kind) {
    case N_EMPTY: return 0;
    case N_CHAR: return emit(c, RE_CHAR, n->min, 0) < 0 ? -1 : 0;
    case N_ANY: return emit(c, RE_ANY, 0, 0) < 0 ? -1 : 0;
    case N_CLASS: return emit(c, RE_CLASS, n->min, 0) < 0 ? -1 : 0;
    case N_ASSERT: return emit(c, RE_ASSERT, n->min, 0) < 0 ? -1 : 0;
    case N_CAT: return compile_node(c, n->a) < 0 || compile_node(c, n->b) < 0 ? -1 : 0;
    case N_ALT: {
        /* split L1, L2; L1: a; jmp END; L2: b; END: */
        int split = emit(c, RE_SPLIT, 0, 0);
        if (split < 0 || compile_node(c, n->a) < 0)
            return -1;
        int jmp = emit(c, RE_JMP, 0, 0);
        if (jmp < 0)
            return -1;
        c->prog[split].x = split + 1;
        c->prog[split].y = (int)c->n;
        if (compile_node(c, n->b) < 0)
            return -1;
        c->prog[jmp].x = (int)c->n;
        return 0;
    }
    case N_REPEAT: {
        int child = n->a, min = n->min, max = n->max;
        for (int i = 0; i < min; i++)
            if (compile_node(c, child) < 0)
                return -1;
        if (max < 0) {
            /* L: split BODY, END; BODY: child; jmp L; END: */
            int split = emit(c, RE_SPLIT, 0, 0);
            if (split < 0 || compile_node(c, child) < 0 || emit(c, RE_JMP, split, 0) < 0)
                return -1;
            c->prog[split].x = split + 1;
            c->prog[split].y = (int)c->n;
            return 0;
        }
        /* up to max-min optional copies, each a split to the end; their
         * targets are patched when the end is known (-2 marks the ones
         * of this level: nested levels patch theirs before returning) */
        size_t first = c->n;
        for (int i = min; i < max; i++) {
            int split = emit(c, RE_SPLIT, 0, -2);
            if (split < 0 || compile_node(c, child) < 0)
                return -1;
            c->prog[split].x = split + 1;
        }
        for (size_t i = first; i < c->n; i++)
            if (c->prog[i].op == RE_SPLIT && c->prog[i].y == -2)
                c->prog[i].y = (int)c->n;
        return 0;
    }
    }
    return perr(c->ps, "internal error");
}

void api_regex_free(struct api_regex *re)
{
    if (!re)
        return;
    for (size_t i = 0; i < re->n_classes; i++)
        free(re->classes[i].ranges);
    free(re->classes);
    free(re->prog);
    free(re);
}

struct api_regex *api_regex_compile(const char *pattern, struct api_error *e)
{
    size_t len = strlen(pattern);
    if (len > API_REGEX_MAX_PATTERN) {
        api_err(e, 400, "Invalid regular expression in filter: longer than %d bytes.",
                API_REGEX_MAX_PATTERN);
        return NULL;
    }
    struct re_parser ps = { .p = pattern, .end = pattern + len, .e = e };
    struct api_regex *re = calloc(1, sizeof *re);
    struct re_compiler c = { .ps = &ps };
    if (!re || !(c.prog = malloc(API_REGEX_MAX_PROG * sizeof *c.prog))) {
        api_err(e, 500, "out of memory");
        goto fail;
    }
    int root = parse_alt(&ps);
    if (root < 0)
        goto fail;
    if (ps.p < ps.end) {
        perr(&ps, "unbalanced parenthesis");
        goto fail;
    }
    if (compile_node(&c, root) < 0 || emit(&c, RE_MATCH, 0, 0) < 0)
        goto fail;
    free(ps.nodes);
    re->prog = c.prog;
    re->n_prog = c.n;
    re->classes = ps.classes;
    re->n_classes = ps.n_classes;
    return re;
fail:
    free(ps.nodes);
    free(c.prog);
    for (size_t i = 0; i < ps.n_classes; i++)
        free(ps.classes[i].ranges);
    free(ps.classes);
    free(re);
    return NULL;
}

/* ---- search ---- */

struct re_list {
    int *pcs;
    size_t n;
};

struct re_pos {
    uint32_t prev, cur; /* code points around the position; -1 at the ends */
    bool at_begin, at_end, before_final_nl;
};

static bool check_assert(int kind, const struct re_pos *p)
{
    bool wb = (!p->at_begin && is_word(p->prev)) != (!p->at_end && is_word(p->cur));
    switch (kind) {
    case AS_BOL:
    case AS_BEGIN: return p->at_begin;
    case AS_EOL: return p->at_end || p->before_final_nl;
    case AS_END: return p->at_end;
    case AS_WORDB: return wb;
    case AS_NWORDB: return !wb;
    }
    return false;
}

/* Adds PC and what it reaches without consuming a character. MARK holds
 * the generation each pc was last added in, so each is added once per
 * position: this is what keeps empty loops such as (a*)* finite. */
static bool add_thread(const struct api_regex *re, struct re_list *l, unsigned *mark,
                       unsigned gen, int *stack, int pc0, const struct re_pos *pos)
{
    size_t sp = 0;
    stack[sp++] = pc0;
    while (sp) {
        int pc = stack[--sp];
        if (mark[pc] == gen)
            continue;
        mark[pc] = gen;
        const struct re_inst *in = &re->prog[pc];
        switch (in->op) {
        case RE_JMP: stack[sp++] = in->x; break;
        case RE_SPLIT:
            stack[sp++] = in->y;
            stack[sp++] = in->x;
            break;
        case RE_ASSERT:
            if (check_assert(in->x, pos))
                stack[sp++] = pc + 1;
            break;
        case RE_MATCH: return true;
        default: l->pcs[l->n++] = pc; break;
        }
    }
    return false;
}

bool api_regex_search(const struct api_regex *re, const char *subject)
{
    size_t np = re->n_prog;
    /* two thread lists, and the stack of add_thread: a pc is pushed at most
     * once per edge into it before it is marked, two edges at most each */
    int *buf = malloc((4 * np + 2) * sizeof *buf);
    unsigned *mark = calloc(np, sizeof *mark);
    if (!buf || !mark) {
        free(buf);
        free(mark);
        return false;
    }
    struct re_list cur = { buf, 0 }, next = { buf + np, 0 };
    int *stack = buf + 2 * np;
    const char *p = subject, *end = subject + strlen(subject);
    /* Position i's list is marked with generation i + 1. */
    unsigned gen = 1;
    bool matched = false;
    struct re_pos pos = { .at_begin = true };
    pos.at_end = p >= end;
    const char *q = p;
    pos.cur = pos.at_end ? 0 : utf8_next(&q, end);
    pos.before_final_nl = !pos.at_end && pos.cur == '\n' && q == end;
    for (;;) {
        /* a search: a new thread starts at every position */
        if (add_thread(re, &cur, mark, gen, stack, 0, &pos)) {
            matched = true;
            break;
        }
        if (pos.at_end)
            break;
        struct re_pos after = { .prev = pos.cur };
        const char *q2 = q;
        after.at_end = q >= end;
        after.cur = after.at_end ? 0 : utf8_next(&q2, end);
        after.before_final_nl = !after.at_end && after.cur == '\n' && q2 == end;
        next.n = 0;
        for (size_t i = 0; i < cur.n && !matched; i++) {
            const struct re_inst *in = &re->prog[cur.pcs[i]];
            bool ok = false;
            switch (in->op) {
            case RE_CHAR: ok = (uint32_t)in->x == pos.cur; break;
            case RE_ANY: ok = pos.cur != '\n'; break;
            case RE_CLASS: ok = class_has(&re->classes[in->x], pos.cur); break;
            default: break;
            }
            if (ok && add_thread(re, &next, mark, gen + 1, stack, cur.pcs[i] + 1, &after))
                matched = true;
        }
        if (matched)
            break;
        struct re_list t = cur;
        cur = next;
        next = t;
        gen++;
        pos = after;
        q = q2;
    }
    free(buf);
    free(mark);
    return matched;
}
