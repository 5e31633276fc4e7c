/* The servers name filter's regular expressions (regex.c) and the UTF-8
 * helpers (utf8.c): Python's re.search answers for the syntax we take,
 * 400 for what cannot be bounded, and the two patterns that took the old
 * backtracking filter down answered at once. */
#include "base/base.h"
#include "../unit.h"

static bool search(const char *pattern, const char *subject)
{
    struct api_error e = { 0 };
    struct api_regex *re = api_regex_compile(pattern, &e);
    if (!re) {
        fprintf(stderr, "pattern %s refused: %s\n", pattern, e.msg);
        exit(1);
    }
    bool m = api_regex_search(re, subject);
    api_regex_free(re);
    return m;
}

static bool refused(const char *pattern)
{
    struct api_error e = { 0 };
    struct api_regex *re = api_regex_compile(pattern, &e);
    api_regex_free(re);
    return !re && e.status == 400 && e.msg[0];
}

static void python_answers(void)
{
    CHECK(search("web", "my-web-1"));
    CHECK(!search("^web", "my-web-1"));
    CHECK(search("^my", "my-web-1"));
    CHECK(search("1$", "my-web-1"));
    CHECK(search("1$", "my-web-1\n"));
    CHECK(!search("1\\Z", "my-web-1\n"));
    CHECK(search("^(db|web)-[0-9]+$", "web-12"));
    CHECK(!search("^(db|web)-[0-9]+$", "app-12"));
    CHECK(search("^a{2,3}$", "aaa"));
    CHECK(!search("^a{2,3}$", "aaaa"));
    CHECK(!search("^a{2,3}$", "a"));
    CHECK(search("^a{2}$", "aa"));
    CHECK(search("^a{,2}b", "b"));
    CHECK(search("x{", "ax{"));
    CHECK(search("^.$", "\xe6\x9c\x8d")); /* one CJK character is one '.' */
    CHECK(search("^[\xe4\xb8\x80-\xe9\xbe\xa5]+$", "\xe6\x9c\x8d\xe5\x8a\xa1"));
    CHECK(search("[^a-z]", "abc1"));
    CHECK(!search("[^a-z]", "abc"));
    CHECK(search("[]x]", "]"));
    CHECK(search("[a-]", "-"));
    CHECK(search("\\d\\s\\w", "1 x"));
    CHECK(search("\\bweb\\b", "a web b"));
    CHECK(!search("\\bweb\\b", "awebb"));
    CHECK(search("(?:ab)+c", "ababc"));
    CHECK(search("a.*?b", "axxb"));
    CHECK(search("", "anything"));
    CHECK(search("a|", "z"));
    CHECK(search("\\.", "a.b"));
    CHECK(!search("\\.", "ab"));
    CHECK(search("\\x41", "A"));
}

static void unbounded_patterns_refused(void)
{
    CHECK(refused("(.*){1,32000}[bc]"));
    CHECK(refused("((a*)*)*\\2\\1b"));
    CHECK(refused("(a{1000}){1000}"));
    CHECK(refused("((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))"));
    char long_pattern[API_REGEX_MAX_PATTERN + 2];
    memset(long_pattern, 'a', sizeof long_pattern - 1);
    long_pattern[sizeof long_pattern - 1] = '\0';
    CHECK(refused(long_pattern));
    CHECK(refused("(?=a)"));
    CHECK(refused("(?i)a"));
    CHECK(refused("a**"));
    CHECK(refused("*a"));
    CHECK(refused("(a"));
    CHECK(refused("a)"));
    CHECK(refused("[a"));
    CHECK(refused("[z-a]"));
    CHECK(refused("a{3,2}"));
    CHECK(refused("\\q"));
    CHECK(refused("(){1000}(){1000}(){1000}(){1000}(){1000}"));
}

/* The backtracking killer of issue 16 without its backreferences, against
 * a name that nearly matches: a backtracking engine takes exponential time
 * here, this one (subject + 1) x program steps. */
static void nested_stars_linear(void)
{
    char name[256];
    memset(name, 'a', 255);
    name[255] = '\0';
    CHECK(!search("((a*)*)*b", name));
    CHECK(search("((a*)*)*$", name));
    CHECK(!search("(a|aa|a?a?)*c", name));
    CHECK(!search("(.*){1,10}[bc]", name));
}

static void utf8_lengths_and_repair(void)
{
    CHECK(vs_utf8_len("abc") == 3);
    CHECK(vs_utf8_len("\xe6\x9c\x8d\xe5\x8a\xa1") == 2);
    CHECK(vs_utf8_len("\xf0\x9f\x98\x80") == 1);
    char cut[] = "name \xe6\x9c is";
    vs_utf8_repair(cut);
    CHECK_STR(cut, "name  is");
    char tail[] = "ok \xe6";
    vs_utf8_repair(tail);
    CHECK_STR(tail, "ok ");
    struct api_error e = { 0 };
    api_err(&e, 400, "Value: %.4s.", "\xe6\x9c\x8d\xe5\x8a\xa1");
    CHECK_STR(e.msg, "Value: \xe6\x9c\x8d.");
}

static const struct unit_case cases[] = {
    { "python-answers", python_answers },
    { "unbounded-patterns-refused", unbounded_patterns_refused },
    { "nested-stars-linear", nested_stars_linear },
    { "utf8-lengths-and-repair", utf8_lengths_and_repair },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    return unit_main(argc, argv, cases);
}
