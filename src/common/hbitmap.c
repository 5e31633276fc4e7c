/* The hierarchical dirty bitmap (see hbitmap.h for the layout and the
 * contract). Levels are numbered from the top: lv[0] is the single summary
 * word, lv[leaf] has one bit per granule. The invariant every function keeps
 * and hbitmap_check() verifies: bit j of lv[l] is set iff word j of lv[l+1]
 * is non-zero, and no bit past a level's length is ever set. */
#include "hbitmap.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* 64^11 > 2^64, so no bitmap ever needs more levels. */
#define HB_MAX_LEVELS 12
#define VS_HB_MIN(a, b) ((a) < (b) ? (a) : (b))

struct hbitmap {
    uint64_t size;      /* bytes */
    uint64_t gran;      /* bytes per bit, power of two */
    unsigned shift;     /* log2(gran) */
    uint64_t nbits;     /* granules */
    uint64_t count;     /* dirty granules */
    unsigned levels;
    uint64_t *lv[HB_MAX_LEVELS];
    uint64_t bits[HB_MAX_LEVELS];
};

static inline uint64_t words_for(uint64_t bits)
{
    return bits ? (bits + 63) / 64 : 1;
}

static inline unsigned leaf(const struct hbitmap *hb)
{
    return hb->levels - 1;
}

/* Mask of bits [lo, hi] inside one word (0 <= lo <= hi <= 63). */
static inline uint64_t word_mask(unsigned lo, unsigned hi)
{
    return (~0ULL << lo) & (~0ULL >> (63 - hi));
}

static uint64_t granules(uint64_t size, unsigned shift)
{
    return (size >> shift) + ((size & ((1ULL << shift) - 1)) != 0);
}

/* Allocates the levels for nbits granules into hb (all clean). */
static int alloc_levels(struct hbitmap *hb, uint64_t nbits)
{
    uint64_t bits[HB_MAX_LEVELS];
    unsigned n = 0;

    bits[n++] = nbits;
    while (bits[n - 1] > 64) {
        bits[n] = words_for(bits[n - 1]);
        n++;
    }
    assert(n <= HB_MAX_LEVELS);
    memset(hb->lv, 0, sizeof(hb->lv));
    hb->levels = n;
    hb->nbits = nbits;
    /* bits[] was built leaf first; lv[] is numbered from the top. */
    for (unsigned l = 0; l < n; l++) {
        hb->bits[l] = bits[n - 1 - l];
        hb->lv[l] = calloc(words_for(hb->bits[l]), sizeof(uint64_t));
        if (!hb->lv[l]) {
            for (unsigned k = 0; k < l; k++)
                free(hb->lv[k]);
            return -ENOMEM;
        }
    }
    return 0;
}

struct hbitmap *hbitmap_new(uint64_t size, uint64_t granularity)
{
    struct hbitmap *hb;

    assert(granularity && (granularity & (granularity - 1)) == 0);
    hb = calloc(1, sizeof(*hb));
    if (!hb)
        return NULL;
    hb->size = size;
    hb->gran = granularity;
    hb->shift = (unsigned)__builtin_ctzll(granularity);
    if (alloc_levels(hb, granules(size, hb->shift)) < 0) {
        free(hb);
        return NULL;
    }
    return hb;
}

void hbitmap_free(struct hbitmap *hb)
{
    if (!hb)
        return;
    for (unsigned l = 0; l < hb->levels; l++)
        free(hb->lv[l]);
    free(hb);
}

uint64_t hbitmap_size(const struct hbitmap *hb) { return hb->size; }
uint64_t hbitmap_granularity(const struct hbitmap *hb) { return hb->gran; }

/* Sets bits [a, b) of level l and the summary bits above them; adds the
 * number of bits that were clean to *newly (leaf only). */
static void set_bits(struct hbitmap *hb, unsigned l, uint64_t a, uint64_t b,
                     uint64_t *newly)
{
    uint64_t *w = hb->lv[l];
    uint64_t first = a >> 6, last = (b - 1) >> 6;

    for (uint64_t i = first; i <= last; i++) {
        unsigned lo = i == first ? (unsigned)(a & 63) : 0;
        unsigned hi = i == last ? (unsigned)((b - 1) & 63) : 63;
        uint64_t m = word_mask(lo, hi);

        if (newly)
            *newly += (uint64_t)__builtin_popcountll(m & ~w[i]);
        w[i] |= m;
    }
    /* Re-setting a summary bit that was already set is harmless, and the
     * range above is 64 times shorter, so no need to track which words
     * went from zero to non-zero. */
    if (l > 0)
        set_bits(hb, l - 1, first, last + 1, NULL);
}

/* Clears bits [a, b) of level l and every summary bit whose word became
 * zero; adds the number of bits that were set to *cleared (leaf only). */
static void reset_bits(struct hbitmap *hb, unsigned l, uint64_t a, uint64_t b,
                       uint64_t *cleared)
{
    uint64_t *w = hb->lv[l];
    uint64_t first = a >> 6, last = (b - 1) >> 6;
    uint64_t pa, pb;

    for (uint64_t i = first; i <= last; i++) {
        unsigned lo = i == first ? (unsigned)(a & 63) : 0;
        unsigned hi = i == last ? (unsigned)((b - 1) & 63) : 63;
        uint64_t m = word_mask(lo, hi);

        if (cleared)
            *cleared += (uint64_t)__builtin_popcountll(m & w[i]);
        w[i] &= ~m;
    }
    if (l == 0)
        return;
    /* Inner words are now zero; the two edge words only if nothing outside
     * [a, b) is still set in them. */
    pa = first;
    pb = last + 1;
    if (w[first])
        pa++;
    if (pb > pa && w[last])
        pb--;
    if (pa < pb)
        reset_bits(hb, l - 1, pa, pb, NULL);
}

/* First set bit >= bit at level l, or -1. Walks up only as far as the
 * clean stretch requires, then straight down through non-zero words. */
static int64_t find_set(const struct hbitmap *hb, unsigned l, uint64_t bit)
{
    uint64_t w, v;

    if (bit >= hb->bits[l])
        return -1;
    w = bit >> 6;
    v = hb->lv[l][w] & (~0ULL << (bit & 63));
    if (!v) {
        int64_t up;

        if (l == 0)
            return -1;
        up = find_set(hb, l - 1, w + 1);
        if (up < 0)
            return -1;
        w = (uint64_t)up;
        v = hb->lv[l][w];
        assert(v); /* the summary bit promised a non-zero word */
    }
    return (int64_t)(w * 64 + (uint64_t)__builtin_ctzll(v));
}

/* First clear leaf bit in [bit, end), or -1. Dirty runs are bounded by the
 * callers' max lengths, so a plain word scan is enough here. */
static int64_t find_clear(const struct hbitmap *hb, uint64_t bit, uint64_t end)
{
    const uint64_t *w = hb->lv[leaf(hb)];

    while (bit < end) {
        uint64_t v = ~w[bit >> 6] & (~0ULL << (bit & 63));

        if (v) {
            uint64_t r = (bit & ~63ULL) + (uint64_t)__builtin_ctzll(v);
            return r < end ? (int64_t)r : -1;
        }
        bit = (bit | 63) + 1;
    }
    return -1;
}

/* Clips [offset, offset + len) to the size; false when empty. */
static bool clip(const struct hbitmap *hb, uint64_t offset, uint64_t *len)
{
    if (offset >= hb->size || *len == 0)
        return false;
    if (*len > hb->size - offset)
        *len = hb->size - offset;
    return true;
}

void hbitmap_set(struct hbitmap *hb, uint64_t offset, uint64_t len)
{
    uint64_t newly = 0;

    if (!clip(hb, offset, &len))
        return;
    set_bits(hb, leaf(hb), offset >> hb->shift,
             ((offset + len - 1) >> hb->shift) + 1, &newly);
    hb->count += newly;
}

void hbitmap_reset(struct hbitmap *hb, uint64_t offset, uint64_t len)
{
    uint64_t cleared = 0;

    assert((offset & (hb->gran - 1)) == 0);
    if (!clip(hb, offset, &len))
        return;
    assert((len & (hb->gran - 1)) == 0 || offset + len == hb->size);
    reset_bits(hb, leaf(hb), offset >> hb->shift,
               granules(offset + len, hb->shift), &cleared);
    assert(cleared <= hb->count);
    hb->count -= cleared;
}

void hbitmap_set_all(struct hbitmap *hb)
{
    hbitmap_set(hb, 0, hb->size);
}

void hbitmap_reset_all(struct hbitmap *hb)
{
    for (unsigned l = 0; l < hb->levels; l++)
        memset(hb->lv[l], 0, words_for(hb->bits[l]) * sizeof(uint64_t));
    hb->count = 0;
}

bool hbitmap_get(const struct hbitmap *hb, uint64_t offset)
{
    uint64_t bit;

    if (offset >= hb->size)
        return false;
    bit = offset >> hb->shift;
    return (hb->lv[leaf(hb)][bit >> 6] >> (bit & 63)) & 1;
}

uint64_t hbitmap_count(const struct hbitmap *hb)
{
    uint64_t bytes = hb->count << hb->shift;
    uint64_t tail = hb->size & (hb->gran - 1);

    /* The last granule is short when the size is not aligned. */
    if (tail && hbitmap_get(hb, hb->size - 1))
        bytes -= hb->gran - tail;
    return bytes;
}

bool hbitmap_empty(const struct hbitmap *hb)
{
    return hb->count == 0;
}

int64_t hbitmap_next_dirty(const struct hbitmap *hb, uint64_t offset,
                           uint64_t len)
{
    int64_t bit;
    uint64_t pos;

    if (!clip(hb, offset, &len))
        return -1;
    bit = find_set(hb, leaf(hb), offset >> hb->shift);
    if (bit < 0)
        return -1;
    pos = (uint64_t)bit << hb->shift;
    if (pos < offset)
        pos = offset;
    return pos < offset + len ? (int64_t)pos : -1;
}

bool hbitmap_any(const struct hbitmap *hb, uint64_t offset, uint64_t len)
{
    return hbitmap_next_dirty(hb, offset, len) >= 0;
}

int64_t hbitmap_next_zero(const struct hbitmap *hb, uint64_t offset,
                          uint64_t len)
{
    int64_t bit;
    uint64_t pos;

    if (!clip(hb, offset, &len))
        return -1;
    bit = find_clear(hb, offset >> hb->shift, granules(offset + len, hb->shift));
    if (bit < 0)
        return -1;
    pos = (uint64_t)bit << hb->shift;
    return (int64_t)(pos < offset ? offset : pos);
}

bool hbitmap_next_dirty_area(const struct hbitmap *hb, uint64_t *offset,
                             uint64_t *len, uint64_t end, uint64_t max_len)
{
    int64_t start, zero;
    uint64_t limit;

    assert(max_len > 0);
    if (end > hb->size)
        end = hb->size;
    if (*offset >= end)
        return false;
    start = hbitmap_next_dirty(hb, *offset, end - *offset);
    if (start < 0)
        return false;
    limit = end - (uint64_t)start > max_len ? (uint64_t)start + max_len : end;
    zero = hbitmap_next_zero(hb, (uint64_t)start, limit - (uint64_t)start);
    *offset = (uint64_t)start;
    *len = (zero < 0 ? limit : (uint64_t)zero) - (uint64_t)start;
    return true;
}

void hbitmap_iter_init(struct hbitmap_iter *it, const struct hbitmap *hb,
                       uint64_t offset)
{
    it->hb = hb;
    it->pos = offset;
}

int64_t hbitmap_iter_next(struct hbitmap_iter *it)
{
    const struct hbitmap *hb = it->hb;
    int64_t r;

    if (it->pos >= hb->size)
        return -1;
    r = hbitmap_next_dirty(hb, it->pos, hb->size - it->pos);
    if (r < 0) {
        it->pos = hb->size;
        return -1;
    }
    /* Next time start at the granule after this one. */
    it->pos = (((uint64_t)r >> hb->shift) + 1) << hb->shift;
    return r;
}

bool hbitmap_iter_next_area(struct hbitmap_iter *it, uint64_t max_len,
                            uint64_t *offset, uint64_t *len)
{
    uint64_t off = it->pos, l = 0;

    if (!hbitmap_next_dirty_area(it->hb, &off, &l, it->hb->size, max_len)) {
        it->pos = it->hb->size;
        return false;
    }
    it->pos = off + l;
    *offset = off;
    *len = l;
    return true;
}

/* Recomputes every summary level from the leaf. */
static void rebuild_summaries(struct hbitmap *hb)
{
    for (int l = (int)leaf(hb) - 1; l >= 0; l--) {
        const uint64_t *below = hb->lv[l + 1];

        memset(hb->lv[l], 0, words_for(hb->bits[l]) * sizeof(uint64_t));
        for (uint64_t j = 0; j < hb->bits[l]; j++)
            if (below[j])
                hb->lv[l][j >> 6] |= 1ULL << (j & 63);
    }
}

int hbitmap_truncate(struct hbitmap *hb, uint64_t size)
{
    struct hbitmap n = *hb;
    uint64_t copy_words, nb;
    uint64_t *nleaf;
    const uint64_t *oleaf = hb->lv[leaf(hb)];

    nb = granules(size, hb->shift);
    if (alloc_levels(&n, nb) < 0)
        return -ENOMEM;
    n.size = size;
    nleaf = n.lv[leaf(&n)];
    copy_words = VS_HB_MIN(words_for(nb), words_for(hb->nbits));
    memcpy(nleaf, oleaf, copy_words * sizeof(uint64_t));
    /* Forget granules past the new end (shrink), and keep the tail of the
     * last word clean as the invariant requires. */
    if (nb % 64)
        nleaf[nb / 64] &= word_mask(0, (unsigned)(nb % 64) - 1);
    else if (nb == 0)
        nleaf[0] = 0;
    n.count = 0;
    for (uint64_t i = 0; i < words_for(nb); i++)
        n.count += (uint64_t)__builtin_popcountll(nleaf[i]);
    rebuild_summaries(&n);
    for (unsigned l = 0; l < hb->levels; l++)
        free(hb->lv[l]);
    *hb = n;
    return 0;
}

bool hbitmap_check(const struct hbitmap *hb)
{
    uint64_t count = 0;

    for (unsigned l = 0; l < hb->levels; l++) {
        uint64_t nw = words_for(hb->bits[l]);

        for (uint64_t i = 0; i < nw; i++) {
            uint64_t v = hb->lv[l][i];

            /* No bit past the level's length. */
            if (i == nw - 1 && hb->bits[l] % 64 && (v >> (hb->bits[l] % 64)))
                return false;
            if (hb->bits[l] == 0 && v)
                return false;
            if (l == leaf(hb)) {
                count += (uint64_t)__builtin_popcountll(v);
                continue;
            }
            for (unsigned b = 0; b < 64; b++) {
                uint64_t j = i * 64 + b;
                bool set = (v >> b) & 1;

                if (j >= hb->bits[l])
                    break;
                if (set != (hb->lv[l + 1][j] != 0))
                    return false;
            }
        }
    }
    return count == hb->count;
}
