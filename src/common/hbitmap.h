/* A hierarchical dirty bitmap over a byte range: the mirror's record of what
 * still differs between source and target (in the spirit of QEMU's
 * util/hbitmap.c; our own code).
 *
 * One bit per granule (a power of two bytes) at the bottom level; above it,
 * each level has one bit per 64-bit word of the level below, set exactly
 * when that word is non-zero; the top level is a single word. Finding the
 * next dirty granule from an offset therefore costs O(levels), however
 * large the clean stretch in between: a 2 TiB volume at 64 KiB granularity
 * has 5 levels. Every API takes byte offsets and lengths, so callers never
 * convert to granules themselves (a classic source of off-by-one bugs).
 *
 * Setting a range marks every granule it touches (a partially written
 * granule is dirty). Resetting a range requires granule alignment (the end
 * may also be the bitmap's size): clearing a partially covered granule
 * would forget data still to copy, so that is a programming error. */
#ifndef VOLSWAP_HBITMAP_H
#define VOLSWAP_HBITMAP_H

#include <stdbool.h>
#include <stdint.h>

struct hbitmap;

/* Granularity must be a power of two (>= 1 byte). Returns NULL when the
 * bitmap cannot be allocated (size absurd for the granularity): callers on
 * the control path turn that into an error instead of aborting. */
struct hbitmap *hbitmap_new(uint64_t size, uint64_t granularity);
void hbitmap_free(struct hbitmap *hb);

uint64_t hbitmap_size(const struct hbitmap *hb);
uint64_t hbitmap_granularity(const struct hbitmap *hb);

/* Marks dirty every granule touching [offset, offset + len), clipped to the
 * size. len 0 does nothing. */
void hbitmap_set(struct hbitmap *hb, uint64_t offset, uint64_t len);
/* Marks clean [offset, offset + len), clipped to the size; offset and len
 * must be granule-aligned unless offset + len reaches the size. */
void hbitmap_reset(struct hbitmap *hb, uint64_t offset, uint64_t len);
void hbitmap_set_all(struct hbitmap *hb);
void hbitmap_reset_all(struct hbitmap *hb);

/* Whether the granule containing offset is dirty. */
bool hbitmap_get(const struct hbitmap *hb, uint64_t offset);
/* Whether any granule touching [offset, offset + len) is dirty. */
bool hbitmap_any(const struct hbitmap *hb, uint64_t offset, uint64_t len);

/* Dirty bytes: dirty granules times granularity, the last granule counting
 * only up to the size. */
uint64_t hbitmap_count(const struct hbitmap *hb);
bool hbitmap_empty(const struct hbitmap *hb);

/* First dirty byte offset in [offset, offset + len) (granule-aligned, or
 * offset itself when offset's granule is dirty), or -1 when there is none. */
int64_t hbitmap_next_dirty(const struct hbitmap *hb, uint64_t offset,
                           uint64_t len);
/* First clean offset in [offset, offset + len), or -1. */
int64_t hbitmap_next_zero(const struct hbitmap *hb, uint64_t offset,
                          uint64_t len);
/* Finds the first dirty run starting in [*offset, end) and stores it in
 * *offset and *len: it starts at the first dirty granule (clipped to *offset),
 * ends at the next clean granule, at end, or after max_len bytes, whichever
 * comes first. Returns false (leaving the outputs alone) when [*offset, end)
 * is clean. max_len must be > 0. */
bool hbitmap_next_dirty_area(const struct hbitmap *hb, uint64_t *offset,
                             uint64_t *len, uint64_t end, uint64_t max_len);

/* Iteration over dirty granules. The iterator holds only a position, so the
 * bitmap may change under it: a granule set behind the position is not
 * revisited, one set ahead of it is found. */
struct hbitmap_iter {
    const struct hbitmap *hb;
    uint64_t pos;           /* next byte offset to look at */
};
void hbitmap_iter_init(struct hbitmap_iter *it, const struct hbitmap *hb,
                       uint64_t offset);
/* Offset of the next dirty granule, or -1 at the end. */
int64_t hbitmap_iter_next(struct hbitmap_iter *it);
/* The next dirty run of at most max_len bytes; false at the end. */
bool hbitmap_iter_next_area(struct hbitmap_iter *it, uint64_t max_len,
                            uint64_t *offset, uint64_t *len);

/* Grows (new granules clean) or shrinks (granules past the end forgotten).
 * Returns 0, or -ENOMEM leaving the bitmap unchanged. */
int hbitmap_truncate(struct hbitmap *hb, uint64_t size);

/* Checks the level invariant and the count from scratch; for tests. */
bool hbitmap_check(const struct hbitmap *hb);

#endif
