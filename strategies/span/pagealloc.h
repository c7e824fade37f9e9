/*
 * pagealloc.h - Go 1.19's page allocator (go-allocator.md section 8),
 * private to strategies/span (and its unit test).
 *
 * The heap is a contiguous run of 8 KiB runtime pages, numbered from 0 at
 * the first arena.  One bit per page says "in use" and one "scavenged"
 * (released to the OS); there are no free lists and no coalescing step:
 * adjacent free pages are adjacent zero bits.  Per 4 MiB chunk (512 pages)
 * a summary (free run at the start, longest free run, free run at the end)
 * lets the search skip chunks, as Go's radix tree of summaries does; the
 * policy is the same: address-ordered first fit, scavenged state ignored.
 * `search` is a hint: every page below it is in use.
 *
 * The per-P page cache (8.2) is a 64-page aligned block: a mask of the free
 * pages the P owns (in use in the bitmap, still free in the statistics) and
 * a mask of which of them are scavenged.
 *
 * The scavenger helpers (10.3) find the highest free and unscavenged run.
 */
#ifndef SPAN_PAGEALLOC_H
#define SPAN_PAGEALLOC_H

#include <stdint.h>
#include <string.h>

#include "strategy.h"

#define PA_CHUNK_PAGES 512u
#define PA_CHUNK_WORDS (PA_CHUNK_PAGES / 64)
#define PA_NONE        UINT64_MAX

struct pa_sum {
	uint16_t start, max, end;    /* free runs, in pages (0..512) */
};

struct palloc {
	const struct strategy_env *env;
	uint64_t npages;             /* pages managed: [0, npages), chunks */
	uint64_t cap;                /* pages the arrays have room for */
	uint64_t *inuse;             /* 1 = in use (or in a page cache) */
	uint64_t *scav;              /* 1 = scavenged (free pages only) */
	struct pa_sum *sum;          /* one per chunk */
	uint64_t search;             /* every page below is in use */
};

struct pa_cache {
	uint64_t base;               /* first page, 64-page aligned */
	uint64_t free;               /* bit i: page base+i is the P's, free */
	uint64_t scav;               /* bit i: ... and scavenged */
};

/* ---- bit helpers ------------------------------------------------------ */

/* First index in [from, lim) whose bit equals one (0 or 1), or lim. */
static inline uint64_t pa_bits_next(const uint64_t *w, uint64_t from,
				    uint64_t lim, int one)
{
	while (from < lim) {
		uint64_t x = one ? w[from >> 6] : ~w[from >> 6];
		x &= ~UINT64_C(0) << (from & 63);
		if (x) {
			uint64_t r = (from & ~UINT64_C(63)) +
				     (uint64_t)__builtin_ctzll(x);
			return r < lim ? r : lim;
		}
		from = (from | 63) + 1;
	}
	return lim;
}

/* Set (val 1) or clear bits [p, p+n). */
static inline void pa_bits_set(uint64_t *w, uint64_t p, uint64_t n, int val)
{
	while (n) {
		unsigned b = (unsigned)(p & 63);
		uint64_t k = 64 - b < n ? 64 - b : n;
		uint64_t m = (k == 64 ? ~UINT64_C(0) : ((UINT64_C(1) << k) - 1)) << b;
		if (val)
			w[p >> 6] |= m;
		else
			w[p >> 6] &= ~m;
		p += k;
		n -= k;
	}
}

/* Number of set bits in [p, p+n). */
static inline uint64_t pa_bits_count(const uint64_t *w, uint64_t p, uint64_t n)
{
	uint64_t c = 0;
	while (n) {
		unsigned b = (unsigned)(p & 63);
		uint64_t k = 64 - b < n ? 64 - b : n;
		uint64_t m = (k == 64 ? ~UINT64_C(0) : ((UINT64_C(1) << k) - 1)) << b;
		c += (uint64_t)__builtin_popcountll(w[p >> 6] & m);
		p += k;
		n -= k;
	}
	return c;
}

/* ---- summaries ---------------------------------------------------------- */

/* The longest run of set bits in x: each step shortens every run by one,
 * so the loop runs once a bit of it (free runs inside a word of a busy
 * chunk are short). */
static inline uint64_t pa_longest_ones(uint64_t x)
{
	uint64_t n = 0;
	for (; x; n++)
		x &= x >> 1;
	return n;
}

/* Chunk c's summary, a word at a time: a free run that crosses words is
 * the free pages atop the words before plus those at the bottom of this
 * one; runs inside a word are pa_longest_ones of its free pages. */
static inline void pa_summarise(struct palloc *pa, uint64_t c)
{
	const uint64_t *w = pa->inuse + c * PA_CHUNK_WORDS;
	uint64_t run = 0, max = 0, start = PA_CHUNK_PAGES;
	for (unsigned i = 0; i < PA_CHUNK_WORDS; i++) {
		if (!w[i]) {
			run += 64;
			continue;
		}
		uint64_t low = run + (uint64_t)__builtin_ctzll(w[i]);
		uint64_t inner = pa_longest_ones(~w[i]);
		if (start == PA_CHUNK_PAGES)
			start = low;
		max = low > max ? low : max;
		max = inner > max ? inner : max;
		run = (uint64_t)__builtin_clzll(w[i]);
	}
	max = run > max ? run : max;
	pa->sum[c] = (struct pa_sum){(uint16_t)start, (uint16_t)max,
				     (uint16_t)(start == PA_CHUNK_PAGES
							? PA_CHUNK_PAGES : run)};
}

static inline void pa_update(struct palloc *pa, uint64_t p, uint64_t n)
{
	for (uint64_t c = p / PA_CHUNK_PAGES; c <= (p + n - 1) / PA_CHUNK_PAGES; c++)
		pa_summarise(pa, c);
}

/* ---- growth --------------------------------------------------------------- */

static inline void *pa_regrow(const struct strategy_env *env, void *p,
			      size_t old, size_t n)
{
	void *q = strat_hrealloc(env, p, old, n);
	if (q && n > old)
		memset((char *)q + old, 0, n - old);
	return q;
}

/* Make sure the arrays hold cap pages (a chunk multiple).  0 or -1. */
static inline int pa_reserve(struct palloc *pa, uint64_t cap)
{
	if (cap <= pa->cap)
		return 0;
	size_t ow = pa->cap / 64, nw = cap / 64;
	size_t oc = pa->cap / PA_CHUNK_PAGES, nc = cap / PA_CHUNK_PAGES;
	uint64_t *a = pa_regrow(pa->env, pa->inuse, ow * 8, nw * 8);
	if (!a)
		return -1;
	pa->inuse = a;
	uint64_t *b = pa_regrow(pa->env, pa->scav, ow * 8, nw * 8);
	if (!b)
		return -1;
	pa->scav = b;
	struct pa_sum *s = pa_regrow(pa->env, pa->sum, oc * sizeof *s,
				     nc * sizeof *s);
	if (!s)
		return -1;
	pa->sum = s;
	pa->cap = cap;
	return 0;
}

/* Add n pages (a chunk multiple) at the end: free and scavenged, as Go's
 * freshly mapped (Prepared) memory is.  0, or -1 out of host memory. */
static inline int pa_grow(struct palloc *pa, uint64_t n)
{
	if (pa_reserve(pa, pa->npages + n) != 0)
		return -1;
	pa_bits_set(pa->inuse, pa->npages, n, 0);
	pa_bits_set(pa->scav, pa->npages, n, 1);
	pa->npages += n;
	pa_update(pa, pa->npages - n, n);
	return 0;
}

static inline void pa_fini(struct palloc *pa)
{
	strat_hfree(pa->env, pa->inuse, pa->cap / 8);
	strat_hfree(pa->env, pa->scav, pa->cap / 8);
	strat_hfree(pa->env, pa->sum, pa->cap / PA_CHUNK_PAGES * sizeof(struct pa_sum));
	memset(pa, 0, sizeof *pa);
}

/* ---- first fit ------------------------------------------------------------ */

/* The first run of n free pages inside chunk c at or after page from. */
static inline uint64_t pa_find_in_chunk(const struct palloc *pa, uint64_t c,
					uint64_t from, uint64_t n)
{
	uint64_t lim = (c + 1) * PA_CHUNK_PAGES;
	while (from < lim) {
		uint64_t z = pa_bits_next(pa->inuse, from, lim, 0);
		if (z == lim)
			break;
		uint64_t o = pa_bits_next(pa->inuse, z, lim, 1);
		if (o - z >= n)
			return z;
		from = o;
	}
	return PA_NONE;
}

/* The lowest page at which n (>= 1) consecutive pages are free, or
 * PA_NONE.  Moves the hint up to the first free page. */
static inline uint64_t pa_find(struct palloc *pa, uint64_t n)
{
	pa->search = pa_bits_next(pa->inuse, pa->search, pa->npages, 0);
	if (pa->search >= pa->npages)
		return PA_NONE;
	uint64_t c = pa->search / PA_CHUNK_PAGES, run = 0;
	uint64_t nchunks = pa->npages / PA_CHUNK_PAGES;
	uint64_t p = pa_find_in_chunk(pa, c, pa->search, n);
	if (p != PA_NONE)
		return p;
	run = pa->sum[c].end;
	for (c++; c < nchunks; c++) {
		const struct pa_sum *s = &pa->sum[c];
		if (run + s->start >= n)
			return c * PA_CHUNK_PAGES - run;
		if (s->max >= n)
			return pa_find_in_chunk(pa, c, c * PA_CHUNK_PAGES, n);
		run = s->start == PA_CHUNK_PAGES ? run + PA_CHUNK_PAGES : s->end;
	}
	return PA_NONE;
}

/* Mark [p, p+n) in use.  Returns how many of them were scavenged (their
 * scavenged bits are cleared: the memory is Ready again). */
static inline uint64_t pa_alloc(struct palloc *pa, uint64_t p, uint64_t n)
{
	uint64_t scav = pa_bits_count(pa->scav, p, n);
	pa_bits_set(pa->inuse, p, n, 1);
	if (scav)
		pa_bits_set(pa->scav, p, n, 0);
	pa_update(pa, p, n);
	return scav;
}

/* Mark [p, p+n) free (unscavenged: freed memory is heapFree). */
static inline void pa_free(struct palloc *pa, uint64_t p, uint64_t n)
{
	pa_bits_set(pa->inuse, p, n, 0);
	pa_update(pa, p, n);
	if (p < pa->search)
		pa->search = p;
}

/* ---- the per-P page cache --------------------------------------------- */

/* Refill an empty cache: the 64-page block holding the first free page
 * moves into it whole (its free pages become in use in the bitmap, their
 * scavenged bits move into the cache).  Leaves c empty when no page is
 * free.  The hint moves to the block's last page. */
static inline void pa_cache_fill(struct palloc *pa, struct pa_cache *c)
{
	memset(c, 0, sizeof *c);
	uint64_t p = pa_find(pa, 1);
	if (p == PA_NONE)
		return;
	uint64_t w = p >> 6;
	c->base = w << 6;
	c->free = ~pa->inuse[w];
	c->scav = pa->scav[w] & c->free;
	pa->inuse[w] = ~UINT64_C(0);
	pa->scav[w] &= ~c->free;
	pa_summarise(pa, c->base / PA_CHUNK_PAGES);
	pa->search = c->base + 63;
}

/* The lowest run of n set bits in m, as a bit index, or -1. */
static inline int pa_mask_run(uint64_t m, unsigned n)
{
	uint64_t r = m;
	for (unsigned i = 1; i < n && r; i++)
		r &= m >> i;
	return r ? __builtin_ctzll(r) : -1;
}

/* Take n (< 64) pages from the cache, lowest first fit.  Returns the first
 * page and the number of scavenged pages in *scav, or PA_NONE. */
static inline uint64_t pa_cache_alloc(struct pa_cache *c, unsigned n,
				      uint64_t *scav)
{
	int i = pa_mask_run(c->free, n);
	if (i < 0)
		return PA_NONE;
	uint64_t m = (n == 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1) << i;
	*scav = (uint64_t)__builtin_popcountll(c->scav & m);
	c->free &= ~m;
	c->scav &= ~m;
	return c->base + (uint64_t)i;
}

/* ---- scavenger helpers ----------------------------------------------- */

/* The highest page below hi that is free and not scavenged, or PA_NONE. */
static inline uint64_t pa_scav_top(const struct palloc *pa, uint64_t hi)
{
	while (hi > 0) {
		uint64_t w = (hi - 1) >> 6;
		uint64_t x = ~pa->inuse[w] & ~pa->scav[w];
		unsigned b = (unsigned)((hi - 1) & 63);
		if (b < 63)
			x &= (UINT64_C(1) << (b + 1)) - 1;
		if (x)
			return (w << 6) + 63 - (uint64_t)__builtin_clzll(x);
		hi = w << 6;
	}
	return PA_NONE;
}

/* 1 when page p is free and not scavenged. */
static inline int pa_free_unscav(const struct palloc *pa, uint64_t p)
{
	uint64_t bit = UINT64_C(1) << (p & 63);
	return !(pa->inuse[p >> 6] & bit) && !(pa->scav[p >> 6] & bit);
}

#endif
