/*
 * simos.c - the simulated operating system (contract in simos.h).
 *
 * This models what a memory allocator sees of a Linux x86-64 process: an
 * address space of 4 KiB pages with a program break that grows up from
 * brk_base and an mmap area filled top-down below mmap_base, the way the
 * kernel's unmapped_area_topdown() does with address randomisation off.
 * Mappings (VMAs) are a sorted array of {start, end, prot}; neighbours with
 * equal protection merge, and munmap and mprotect split them as Linux does.
 * Page state is three bits per page - rw (mapped read/write), res (resident)
 * and rel (given back with madvise(DONTNEED) and not written since) - kept
 * in 1 GiB regions of bitmaps that are allocated on first use and found by a
 * small open-addressing hash on addr >> 30 with a one-entry cache, so a
 * small write costs a few word operations and an 8 GiB heap costs a few
 * hundred KiB of host memory.  Range operations go a 64-page word at a time
 * and keep exact running totals with popcount, so every gauge is O(1).
 *
 * Simplifications, each a deliberate choice:
 *   1. the break area is not a VMA: it is its own read/write range
 *      [brk_base, brk), not counted by simos_mapping_count; munmap, mprotect,
 *      mremap and MAP_FIXED refuse it with SIM_EINVAL, while madvise and
 *      touch work on it as on any read/write memory;
 *   2. there are no guard gaps, no max_map_count and no file mappings;
 *   3. a fault plan's fail_nth_brk and fail_every_brk count every brk call,
 *      growing or shrinking, since that is how calls[] counts them.
 */
#include "simos.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_MASK        (SIMOS_PAGE_SIZE - 1)
#define SPACE_TOP        ((UINT64_C(1) << 47) - SIMOS_PAGE_SIZE)
#define REGION_SHIFT     30
#define REGION_PAGE_BITS (REGION_SHIFT - SIMOS_PAGE_SHIFT)
#define REGION_PAGES     (UINT64_C(1) << REGION_PAGE_BITS)
#define REGION_WORDS     (REGION_PAGES / 64)
#define FIRST_SLOTS      16
#define UNMAPPED         (-1)

enum { B_RW, B_RES, B_REL, NBITS };

/* One GiB of address space: bits[b][w] bit i is page w * 64 + i. */
struct region {
	uint64_t key;                        /* address >> REGION_SHIFT */
	uint64_t bits[NBITS][REGION_WORDS];
};

struct vma {
	uint64_t start, end;
	int prot;
};

struct simos {
	struct simos_config cfg;
	struct region **slots;       /* open addressing, load <= 1/2 */
	size_t nslots, nregions;
	struct region *last;         /* the region of the last write */
	uint64_t meter_version;      /* changes whenever the meter may have */
	struct simos_hot hot;        /* simos.h */
	struct vma *vmas;            /* sorted by start, never overlapping */
	size_t nvmas, cap;
	uint64_t brk_cur;
	uint64_t pages[NBITS];       /* pages with each bit set */
	uint64_t reserved_pages;     /* pages mapped PROT_NONE */
	uint64_t peak_res;
	struct simos_counts counts;
	uint64_t fault_base[SIMOS_NCALLS];  /* calls before the fault plan */
	uint64_t cost_ns;
	int oom;
};

/* ---- small helpers ------------------------------------------------------ */

static int aligned(uint64_t x)
{
	return (x & PAGE_MASK) == 0;
}

/* A non-empty page-aligned range that stays inside the address space. */
static int range_ok(uint64_t addr, uint64_t len)
{
	return len && aligned(addr) && aligned(len) && addr <= SPACE_TOP &&
	       len <= SPACE_TOP - addr;
}

static int prot_ok(int prot)
{
	return prot == SIMOS_PROT_NONE || prot == SIMOS_PROT_RW;
}

static uint64_t pop(uint64_t x)
{
	return (uint64_t)__builtin_popcountll(x);
}

/* Bits [b, b + n) of a word, 0 < n, b + n <= 64. */
static uint64_t span_mask(uint64_t b, uint64_t n)
{
	return (n == 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1) << b;
}

static void bits_set(struct simos *os, int b, uint64_t *word, uint64_t m)
{
	os->meter_version++;
	os->pages[b] += pop(m & ~*word);
	*word |= m;
}

static void bits_clear(struct simos *os, int b, uint64_t *word, uint64_t m)
{
	os->meter_version++;
	os->pages[b] -= pop(m & *word);
	*word &= ~m;
}

static uint64_t mapped_bytes(const struct simos *os)
{
	return (os->pages[B_RW] + os->reserved_pages) << SIMOS_PAGE_SHIFT;
}

/* ---- regions: the 1 GiB bitmaps and their hash --------------------------- */

static size_t slot_of(uint64_t key, size_t nslots)
{
	return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 32) &
	       (nslots - 1);
}

/* The region with this key, or NULL if it was never needed. */
static struct region *region_probe(const struct simos *os, uint64_t key)
{
	if (os->last && os->last->key == key)
		return os->last;
	for (size_t i = slot_of(key, os->nslots);; i = (i + 1) & (os->nslots - 1)) {
		struct region *r = os->slots[i];
		if (!r || r->key == key)
			return r;
	}
}

static void slot_insert(struct region **slots, size_t nslots, struct region *r)
{
	size_t i = slot_of(r->key, nslots);
	while (slots[i])
		i = (i + 1) & (nslots - 1);
	slots[i] = r;
}

static int slots_grow(struct simos *os)
{
	size_t n = os->nslots * 2;
	struct region **s = calloc(n, sizeof *s);
	if (!s)
		return SIM_ENOMEM;
	for (size_t i = 0; i < os->nslots; i++)
		if (os->slots[i])
			slot_insert(s, n, os->slots[i]);
	free(os->slots);
	os->slots = s;
	os->nslots = n;
	return SIM_OK;
}

/* Make sure every region of [addr, addr+len) exists (len > 0). */
static int regions_ensure(struct simos *os, uint64_t addr, uint64_t len)
{
	uint64_t k = addr >> REGION_SHIFT, last = (addr + len - 1) >> REGION_SHIFT;
	for (; k <= last; k++) {
		if (region_probe(os, k))
			continue;
		if ((os->nregions + 1) * 2 > os->nslots && slots_grow(os))
			return SIM_ENOMEM;
		struct region *r = calloc(1, sizeof *r);
		if (!r)
			return SIM_ENOMEM;
		r->key = k;
		slot_insert(os->slots, os->nslots, r);
		os->nregions++;
	}
	return SIM_OK;
}

/* ---- page iteration, one bitmap word at a time -------------------------- */

struct pgiter {
	uint64_t page, end;   /* next page to visit, one past the last */
	struct region *r;     /* region of this step; NULL: none, step skips it */
	uint64_t first;       /* first page of this step */
	size_t w;             /* word of this step in r */
	uint64_t mask;        /* this step's pages in word w */
};

static struct pgiter pg_start(uint64_t first_page, uint64_t end_page)
{
	return (struct pgiter){ .page = first_page, .end = end_page };
}

/* Advance to the next step; 0 when the range is done. */
static int pg_next(const struct simos *os, struct pgiter *it)
{
	if (it->page >= it->end)
		return 0;
	uint64_t key = it->page >> REGION_PAGE_BITS;
	if (!it->r || it->r->key != key)
		it->r = region_probe(os, key);
	uint64_t stop = it->r ? (it->page | 63) + 1 : (key + 1) << REGION_PAGE_BITS;
	if (stop > it->end)
		stop = it->end;
	it->first = it->page;
	if (it->r) {
		it->w = (size_t)((it->page & (REGION_PAGES - 1)) >> 6);
		it->mask = span_mask(it->page & 63, stop - it->page);
	}
	it->page = stop;
	return 1;
}

enum bitop { OP_MAP_RW, OP_UNMAP, OP_RELEASE };

/* Apply op to the page-aligned range [addr, addr+len). */
static void bits_apply(struct simos *os, uint64_t addr, uint64_t len,
		       enum bitop op)
{
	struct pgiter it = pg_start(addr >> SIMOS_PAGE_SHIFT,
				    (addr + len) >> SIMOS_PAGE_SHIFT);
	while (pg_next(os, &it)) {
		if (!it.r)
			continue;
		uint64_t *rw = &it.r->bits[B_RW][it.w], m = it.mask;
		uint64_t *res = &it.r->bits[B_RES][it.w];
		uint64_t *rel = &it.r->bits[B_REL][it.w];
		if (op == OP_MAP_RW) {
			bits_set(os, B_RW, rw, m);
			continue;
		}
		bits_clear(os, B_RES, res, m);
		if (op == OP_RELEASE) {
			bits_set(os, B_REL, rel, m & *rw);
		} else {
			bits_clear(os, B_REL, rel, m);
			bits_clear(os, B_RW, rw, m);
		}
	}
}

/* OR the n (<= 64) low bits of v into property b from page on. */
static void bits_put(struct simos *os, int b, uint64_t page, uint64_t n,
		     uint64_t v)
{
	struct pgiter it = pg_start(page, page + n);
	while (pg_next(os, &it))
		if (it.r)
			bits_set(os, b, &it.r->bits[b][it.w],
				 ((v >> (it.first - page)) << (it.first & 63)) & it.mask);
}

/* Copy residency and released bits of len bytes from `from` to `to`. */
static void bits_move(struct simos *os, uint64_t from, uint64_t to, uint64_t len)
{
	uint64_t delta = (to >> SIMOS_PAGE_SHIFT) - (from >> SIMOS_PAGE_SHIFT);
	struct pgiter it = pg_start(from >> SIMOS_PAGE_SHIFT,
				    (from + len) >> SIMOS_PAGE_SHIFT);
	while (pg_next(os, &it)) {
		if (!it.r)
			continue;
		for (int b = B_RES; b <= B_REL; b++) {
			uint64_t v = (it.r->bits[b][it.w] & it.mask) >> (it.first & 63);
			if (v)
				bits_put(os, b, it.first + delta, pop(it.mask), v);
		}
	}
}

/* ---- mappings (VMAs) ----------------------------------------------------- */

/* Index of the first mapping that ends above addr (nvmas if none). */
static size_t vma_after(const struct simos *os, uint64_t addr)
{
	size_t lo = 0, hi = os->nvmas;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (os->vmas[mid].end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static int vma_free(const struct simos *os, uint64_t start, uint64_t end)
{
	size_t i = vma_after(os, start);
	return i == os->nvmas || os->vmas[i].start >= end;
}

static uint64_t overlap(const struct vma *v, uint64_t s, uint64_t e)
{
	uint64_t a = v->start > s ? v->start : s, b = v->end < e ? v->end : e;
	return b > a ? b - a : 0;
}

/* Bytes of [start, end) covered by mappings. */
static uint64_t vma_bytes_in(const struct simos *os, uint64_t start, uint64_t end)
{
	uint64_t sum = 0;
	for (size_t i = vma_after(os, start);
	     i < os->nvmas && os->vmas[i].start < end; i++)
		sum += overlap(&os->vmas[i], start, end);
	return sum;
}

/* Room for `extra` more mappings, so later edits cannot fail half-way. */
static int vma_reserve(struct simos *os, size_t extra)
{
	if (os->nvmas + extra <= os->cap)
		return SIM_OK;
	size_t cap = os->cap ? os->cap * 2 : 16;
	while (cap < os->nvmas + extra)
		cap *= 2;
	struct vma *v = realloc(os->vmas, cap * sizeof *v);
	if (!v)
		return SIM_ENOMEM;
	os->vmas = v;
	os->cap = cap;
	return SIM_OK;
}

/* Replace del mappings at i by the nadd in add. */
static void vma_splice(struct simos *os, size_t i, size_t del,
		       const struct vma *add, size_t nadd)
{
	memmove(&os->vmas[i + nadd], &os->vmas[i + del],
		(os->nvmas - i - del) * sizeof *os->vmas);
	if (nadd)
		memcpy(&os->vmas[i], add, nadd * sizeof *add);
	os->nvmas = os->nvmas - del + nadd;
}

static void vma_merge_next(struct simos *os, size_t i)
{
	if (i + 1 >= os->nvmas)
		return;
	struct vma *a = &os->vmas[i], *b = a + 1;
	if (a->end != b->start || a->prot != b->prot)
		return;
	a->end = b->end;
	vma_splice(os, i + 1, 1, NULL, 0);
}

/* Make [start, end) one mapping with prot, or unmapped (UNMAPPED), splitting
 * and merging neighbours.  Needs room for two more mappings. */
static void vma_set(struct simos *os, uint64_t start, uint64_t end, int prot)
{
	size_t i = vma_after(os, start), j = i, k = 0;
	struct vma piece[3];
	if (i < os->nvmas && os->vmas[i].start < start)
		piece[k++] = (struct vma){ os->vmas[i].start, start, os->vmas[i].prot };
	size_t at = i + k;
	for (; j < os->nvmas && os->vmas[j].start < end; j++)
		if (os->vmas[j].prot == SIMOS_PROT_NONE)
			os->reserved_pages -= overlap(&os->vmas[j], start, end) >>
					      SIMOS_PAGE_SHIFT;
	if (prot != UNMAPPED)
		piece[k++] = (struct vma){ start, end, prot };
	if (j > i && os->vmas[j - 1].end > end)
		piece[k++] = (struct vma){ end, os->vmas[j - 1].end, os->vmas[j - 1].prot };
	vma_splice(os, i, j - i, piece, k);
	if (prot == UNMAPPED)
		return;
	if (prot == SIMOS_PROT_NONE)
		os->reserved_pages += (end - start) >> SIMOS_PAGE_SHIFT;
	vma_merge_next(os, at);
	if (at > 0)
		vma_merge_next(os, at - 1);
}

/* ---- the break area and placement ---------------------------------------- */

static int brk_overlaps(const struct simos *os, uint64_t s, uint64_t e)
{
	return os->brk_cur > os->cfg.brk_base && s < os->brk_cur &&
	       e > os->cfg.brk_base;
}

/* 1 when [start, end) is all mapped (by VMAs, and the break if with_brk). */
static int range_covered(const struct simos *os, uint64_t start, uint64_t end,
			 int with_brk)
{
	uint64_t at = start;
	size_t i = vma_after(os, at);
	while (at < end) {
		if (with_brk && at >= os->cfg.brk_base && at < os->brk_cur) {
			at = os->brk_cur;
			i = vma_after(os, at);
			continue;
		}
		if (i >= os->nvmas || os->vmas[i].start > at)
			return 0;
		at = os->vmas[i++].end;
	}
	return 1;
}

static int fits(uint64_t lo, uint64_t hi, uint64_t len, uint64_t *addr)
{
	if (hi <= lo || hi - lo < len)
		return 0;
	*addr = hi - len;
	return 1;
}

/* The top of the VMA-free range [lo, hi) that fits len, outside the break. */
static int gap_fit(const struct simos *os, uint64_t lo, uint64_t hi,
		   uint64_t len, uint64_t *addr)
{
	if (lo < os->cfg.mmap_min)
		lo = os->cfg.mmap_min;
	if (!brk_overlaps(os, lo, hi))
		return fits(lo, hi, len, addr);
	uint64_t b = os->brk_cur, base = os->cfg.brk_base;
	return fits(lo > b ? lo : b, hi, len, addr) ||
	       fits(lo, hi < base ? hi : base, len, addr);
}

/* Top-down search: the highest free gap below mmap_base that fits len. */
static int find_gap(const struct simos *os, uint64_t len, uint64_t *addr)
{
	uint64_t hi = os->cfg.mmap_base;
	size_t i = vma_after(os, hi);
	if (i < os->nvmas && os->vmas[i].start < hi)
		hi = os->vmas[i].start;
	while (i-- > 0 && hi > os->cfg.mmap_min) {
		if (gap_fit(os, os->vmas[i].end, hi, len, addr))
			return 1;
		hi = os->vmas[i].start;
	}
	return gap_fit(os, 0, hi, len, addr);
}

/* 1 when [addr, addr+len) is unmapped and open to mappings. */
static int range_free(const struct simos *os, uint64_t addr, uint64_t len)
{
	return addr >= os->cfg.mmap_min && range_ok(addr, len) &&
	       vma_free(os, addr, addr + len) &&
	       !brk_overlaps(os, addr, addr + len);
}

/* Replace whatever is at [addr, addr+len) by a fresh mapping with prot. */
static int map_fresh(struct simos *os, uint64_t addr, uint64_t len, int prot)
{
	if (vma_reserve(os, 2) ||
	    (prot == SIMOS_PROT_RW && regions_ensure(os, addr, len)))
		return SIM_ENOMEM;
	bits_apply(os, addr, len, OP_UNMAP);
	vma_set(os, addr, addr + len, prot);
	if (prot == SIMOS_PROT_RW)
		bits_apply(os, addr, len, OP_MAP_RW);
	return SIM_OK;
}

static int unmap_range(struct simos *os, uint64_t addr, uint64_t len)
{
	if (vma_reserve(os, 1))
		return SIM_ENOMEM;
	bits_apply(os, addr, len, OP_UNMAP);
	vma_set(os, addr, addr + len, UNMAPPED);
	return SIM_OK;
}

/* ---- call accounting and the fault plan ---------------------------------- */

/* Count a call; returns its number among calls of its kind, from 1. */
static uint64_t call_begin(struct simos *os, int kind, uint64_t bytes)
{
	os->counts.calls[kind]++;
	os->counts.bytes[kind] += bytes;
	os->cost_ns += os->cfg.syscall_ns;
	os->meter_version++;
	return os->counts.calls[kind];
}

static int call_end(struct simos *os, int kind, int rc)
{
	if (rc != SIM_OK)
		os->counts.failed[kind]++;
	return rc;
}

/* Is call n of kind (counted from 1 since the run began) one the fault
 * plan fails?  Plans count from when they were set (simos_set_faults). */
static int planned_fault(const struct simos *os, int kind, uint64_t n,
			 uint64_t nth, uint64_t every)
{
	n -= os->fault_base[kind];
	return (nth && n == nth) || (every && n % every == 0);
}

static const struct {
	const char *name;
	size_t off;
} fault_fields[] = {
	{"mmap", offsetof(struct simos_faults, fail_nth_mmap)},
	{"brk", offsetof(struct simos_faults, fail_nth_brk)},
	{"madvise", offsetof(struct simos_faults, fail_nth_madvise)},
	{"mremap", offsetof(struct simos_faults, fail_nth_mremap)},
	{"every_mmap", offsetof(struct simos_faults, fail_every_mmap)},
	{"every_brk", offsetof(struct simos_faults, fail_every_brk)},
	{"max_mapped", offsetof(struct simos_faults, max_mapped_bytes)},
};

int simos_fault_set(struct simos_faults *f, const char *name, uint64_t value,
		    struct sim_err *err)
{
	char key[32];
	snprintf(key, sizeof key, "%s", name);
	for (char *p = key; *p; p++)
		*p = *p == '-' ? '_' : *p;
	for (size_t i = 0; i < sizeof fault_fields / sizeof *fault_fields; i++) {
		if (strcmp(key, fault_fields[i].name) != 0)
			continue;
		if (value == 0)
			return SIM_ERR(err, SIM_EINVAL, "%s must be at least 1",
				       name);
		*(uint64_t *)((char *)f + fault_fields[i].off) = value;
		return SIM_OK;
	}
	return SIM_ERR(err, SIM_EINVAL, "unknown fault '%s' (known: mmap, brk, "
		       "madvise, mremap, every-mmap, every-brk, max-mapped)", name);
}

void simos_set_faults(struct simos *os, const struct simos_faults *f)
{
	os->cfg.faults = *f;
	for (int k = 0; k < SIMOS_NCALLS; k++)
		os->fault_base[k] = os->counts.calls[k];
}

static int over_cap(const struct simos *os, uint64_t mapped_after)
{
	uint64_t cap = os->cfg.faults.max_mapped_bytes;
	return cap && mapped_after > cap;
}

/* ---- life cycle ------------------------------------------------------------ */

void simos_config_default(struct simos_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->brk_base = SIMOS_BRK_BASE;
	cfg->mmap_base = SIMOS_MMAP_BASE;
	cfg->mmap_min = SIMOS_MMAP_MIN;
	cfg->syscall_ns = 1000;
	cfg->fault_ns = 250;
}

static int layout_check(const struct simos_config *c, struct sim_err *err)
{
	if (!aligned(c->brk_base) || !aligned(c->mmap_base) || !aligned(c->mmap_min))
		return SIM_ERR(err, SIM_EINVAL,
			       "simos: brk_base, mmap_base and mmap_min must be "
			       "multiples of %" PRIu64 " bytes", SIMOS_PAGE_SIZE);
	if (c->mmap_min >= c->mmap_base || c->mmap_base > SPACE_TOP)
		return SIM_ERR(err, SIM_EINVAL,
			       "simos: mmap area [0x%" PRIx64 ", 0x%" PRIx64
			       ") is empty or above 0x%" PRIx64,
			       c->mmap_min, c->mmap_base, SPACE_TOP);
	if (c->brk_base >= c->mmap_base)
		return SIM_ERR(err, SIM_EINVAL,
			       "simos: brk_base 0x%" PRIx64 " is not below mmap_base 0x%"
			       PRIx64, c->brk_base, c->mmap_base);
	return SIM_OK;
}

int simos_create(const struct simos_config *cfg, struct simos **out,
		 struct sim_err *err)
{
	struct simos_config c;
	if (cfg)
		c = *cfg;
	else
		simos_config_default(&c);
	c.brk_base = c.brk_base ? c.brk_base : SIMOS_BRK_BASE;
	c.mmap_base = c.mmap_base ? c.mmap_base : SIMOS_MMAP_BASE;
	c.mmap_min = c.mmap_min ? c.mmap_min : SIMOS_MMAP_MIN;
	int rc = layout_check(&c, err);
	if (rc != SIM_OK)
		return rc;
	struct simos *os = calloc(1, sizeof *os);
	struct region **slots = calloc(FIRST_SLOTS, sizeof *slots);
	if (!os || !slots) {
		free(os);
		free(slots);
		return SIM_ERR(err, SIM_ENOMEM, "simos: out of host memory");
	}
	os->cfg = c;
	os->meter_version = 1;   /* a reader starts at 0: it reads at once */
	os->slots = slots;
	os->nslots = FIRST_SLOTS;
	os->brk_cur = c.brk_base;
	*out = os;
	return SIM_OK;
}

void simos_destroy(struct simos *os)
{
	if (!os)
		return;
	for (size_t i = 0; i < os->nslots; i++)
		free(os->slots[i]);
	free(os->slots);
	free(os->vmas);
	free(os);
}

/* ---- system calls ---------------------------------------------------------- */

static int do_mmap(struct simos *os, uint64_t n, uint64_t hint, uint64_t len,
		   int prot, unsigned flags, uint64_t *addr)
{
	const struct simos_faults *f = &os->cfg.faults;
	uint64_t at = hint;
	if (!len || !aligned(len) || !aligned(hint) || len > SPACE_TOP ||
	    !prot_ok(prot) || (flags & ~SIMOS_MAP_FIXED))
		return SIM_EINVAL;
	if (planned_fault(os, SIMOS_CALL_mmap, n, f->fail_nth_mmap,
			  f->fail_every_mmap))
		return SIM_ENOMEM;
	if (flags & SIMOS_MAP_FIXED) {
		if (hint < os->cfg.mmap_min || !range_ok(hint, len) ||
		    brk_overlaps(os, hint, hint + len))
			return SIM_EINVAL;
	} else if (!range_free(os, hint, len) && !find_gap(os, len, &at)) {
		return SIM_ENOMEM;
	}
	if (over_cap(os, mapped_bytes(os) - vma_bytes_in(os, at, at + len) + len))
		return SIM_ENOMEM;
	int rc = map_fresh(os, at, len, prot);
	if (rc == SIM_OK)
		*addr = at;
	return rc;
}

int simos_mmap(struct simos *os, uint64_t hint, uint64_t len, int prot,
	       unsigned flags, uint64_t *addr)
{
	uint64_t n = call_begin(os, SIMOS_CALL_mmap, len);
	return call_end(os, SIMOS_CALL_mmap,
			do_mmap(os, n, hint, len, prot, flags, addr));
}

int simos_munmap(struct simos *os, uint64_t addr, uint64_t len)
{
	int rc = SIM_EINVAL;
	call_begin(os, SIMOS_CALL_munmap, len);
	if (range_ok(addr, len) && !brk_overlaps(os, addr, addr + len))
		rc = unmap_range(os, addr, len);
	return call_end(os, SIMOS_CALL_munmap, rc);
}

static int do_mprotect(struct simos *os, uint64_t addr, uint64_t len, int prot)
{
	if (!range_ok(addr, len) || !prot_ok(prot) ||
	    brk_overlaps(os, addr, addr + len))
		return SIM_EINVAL;
	if (!range_covered(os, addr, addr + len, 0) || vma_reserve(os, 2) ||
	    (prot == SIMOS_PROT_RW && regions_ensure(os, addr, len)))
		return SIM_ENOMEM;
	/* RW over RW pages keeps them resident; NONE forgets everything. */
	bits_apply(os, addr, len, prot == SIMOS_PROT_RW ? OP_MAP_RW : OP_UNMAP);
	vma_set(os, addr, addr + len, prot);
	return SIM_OK;
}

int simos_mprotect(struct simos *os, uint64_t addr, uint64_t len, int prot)
{
	call_begin(os, SIMOS_CALL_mprotect, len);
	return call_end(os, SIMOS_CALL_mprotect, do_mprotect(os, addr, len, prot));
}

int simos_madvise_dontneed(struct simos *os, uint64_t addr, uint64_t len)
{
	int rc = SIM_OK;
	uint64_t n = call_begin(os, SIMOS_CALL_madvise, len);
	if (!range_ok(addr, len))
		rc = SIM_EINVAL;
	else if (!range_covered(os, addr, addr + len, 1) ||
		 planned_fault(os, SIMOS_CALL_madvise, n,
			  os->cfg.faults.fail_nth_madvise, 0))
		rc = SIM_ENOMEM;
	else
		bits_apply(os, addr, len, OP_RELEASE);
	return call_end(os, SIMOS_CALL_madvise, rc);
}

/* Grow [old, old+oldlen) to newlen: in place when the tail is free, else
 * (when allowed) by moving it to the highest gap that fits. */
static int mremap_grow(struct simos *os, uint64_t old, uint64_t oldlen,
		       uint64_t newlen, int may_move, uint64_t *newaddr)
{
	uint64_t tail = old + oldlen, to;
	if (over_cap(os, mapped_bytes(os) + (newlen - oldlen)))
		return SIM_ENOMEM;
	if (range_free(os, tail, newlen - oldlen)) {
		*newaddr = old;
		return map_fresh(os, tail, newlen - oldlen, SIMOS_PROT_RW);
	}
	if (!may_move || !find_gap(os, newlen, &to))
		return SIM_ENOMEM;
	/* Room for both edits first, so the move cannot stop half-way. */
	if (vma_reserve(os, 3) || map_fresh(os, to, newlen, SIMOS_PROT_RW))
		return SIM_ENOMEM;
	bits_move(os, old, to, oldlen);
	*newaddr = to;
	return unmap_range(os, old, oldlen);
}

/* 1 when [start, end) lies inside one read/write mapping. */
static int in_one_rw(const struct simos *os, uint64_t start, uint64_t end)
{
	size_t i = vma_after(os, start);
	return i < os->nvmas && os->vmas[i].start <= start &&
	       end <= os->vmas[i].end && os->vmas[i].prot == SIMOS_PROT_RW;
}

static int do_mremap(struct simos *os, uint64_t n, uint64_t old, uint64_t oldlen,
		     uint64_t newlen, int may_move, uint64_t *newaddr)
{
	if (!range_ok(old, oldlen) || !newlen || !aligned(newlen) ||
	    newlen > SPACE_TOP || !in_one_rw(os, old, old + oldlen))
		return SIM_EINVAL;
	if (planned_fault(os, SIMOS_CALL_mremap, n,
			  os->cfg.faults.fail_nth_mremap, 0))
		return SIM_ENOMEM;
	if (newlen > oldlen)
		return mremap_grow(os, old, oldlen, newlen, may_move, newaddr);
	*newaddr = old;
	return newlen < oldlen ? unmap_range(os, old + newlen, oldlen - newlen)
			       : SIM_OK;
}

int simos_mremap(struct simos *os, uint64_t old, uint64_t oldlen,
		 uint64_t newlen, int may_move, uint64_t *newaddr)
{
	uint64_t n = call_begin(os, SIMOS_CALL_mremap, newlen);
	uint64_t where = old;
	int rc = do_mremap(os, n, old, oldlen, newlen, may_move, &where);
	if (rc == SIM_OK)
		*newaddr = where;
	return call_end(os, SIMOS_CALL_mremap, rc);
}

static int brk_grow(struct simos *os, uint64_t len)
{
	uint64_t at = os->brk_cur;
	if (!range_ok(at, len) || !vma_free(os, at, at + len) ||
	    over_cap(os, mapped_bytes(os) + len) || regions_ensure(os, at, len))
		return SIM_ENOMEM;
	bits_apply(os, at, len, OP_MAP_RW);
	os->brk_cur = at + len;
	return SIM_OK;
}

static int brk_shrink(struct simos *os, uint64_t len)
{
	if (len > os->brk_cur - os->cfg.brk_base)
		return SIM_EINVAL;
	os->brk_cur -= len;
	bits_apply(os, os->brk_cur, len, OP_UNMAP);
	return SIM_OK;
}

int simos_sbrk(struct simos *os, int64_t incr, uint64_t *old_brk)
{
	const struct simos_faults *f = &os->cfg.faults;
	uint64_t prev = os->brk_cur, mag, n;
	int rc;
	if (incr != 0) {
		mag = incr < 0 ? (uint64_t)0 - (uint64_t)incr : (uint64_t)incr;
		n = call_begin(os, SIMOS_CALL_brk, mag);
		if (!aligned(mag))
			rc = SIM_EINVAL;
		else if (planned_fault(os, SIMOS_CALL_brk, n, f->fail_nth_brk,
				       f->fail_every_brk))
			rc = SIM_ENOMEM;
		else
			rc = incr > 0 ? brk_grow(os, mag) : brk_shrink(os, mag);
		if (call_end(os, SIMOS_CALL_brk, rc) != SIM_OK)
			return rc;
	}
	if (old_brk)
		*old_brk = prev;
	return SIM_OK;
}

uint64_t simos_brk_current(const struct simos *os)
{
	return os->brk_cur;
}

uint64_t simos_brk_base(const struct simos *os)
{
	return os->cfg.brk_base;
}

/* ---- writes ------------------------------------------------------------------ */

/* Make the pages m of word w resident; returns how many were not. */
static uint64_t mark_resident(struct simos *os, struct region *r, size_t w,
			      uint64_t m)
{
	uint64_t fresh = m & ~r->bits[B_RES][w];
	bits_clear(os, B_REL, &r->bits[B_REL][w], m);
	r->bits[B_RES][w] |= m;
	os->pages[B_RES] += pop(fresh);   /* bits_clear moved the version */
	return pop(fresh);
}

/* The hot path: pages [first, end) lie in one bitmap word. */
static int touch_word(struct simos *os, uint64_t first, uint64_t end,
		      uint64_t *fresh, uint64_t *bad)
{
	struct region *r = region_probe(os, first >> REGION_PAGE_BITS);
	if (!r) {
		*bad = first;
		return 0;
	}
	os->last = r;
	size_t w = (size_t)((first & (REGION_PAGES - 1)) >> 6);
	uint64_t m = span_mask(first & 63, end - first);
	uint64_t hole = m & ~r->bits[B_RW][w];
	if (hole) {
		*bad = (first & ~UINT64_C(63)) + (uint64_t)__builtin_ctzll(hole);
		return 0;
	}
	*fresh = mark_resident(os, r, w, m);
	return 1;
}

/* Any range: check every page first, so a bad write changes nothing. */
static int touch_pages(struct simos *os, uint64_t first, uint64_t end,
		       uint64_t *fresh, uint64_t *bad)
{
	struct pgiter it = pg_start(first, end);
	while (pg_next(os, &it)) {
		uint64_t hole = it.r ? it.mask & ~it.r->bits[B_RW][it.w] : 0;
		if (!it.r || hole) {
			*bad = it.r ? (it.first & ~UINT64_C(63)) +
					      (uint64_t)__builtin_ctzll(hole)
				    : it.first;
			return 0;
		}
	}
	*fresh = 0;
	it = pg_start(first, end);
	while (pg_next(os, &it)) {
		*fresh += mark_resident(os, it.r, it.w, it.mask);
		os->last = it.r;
	}
	return 1;
}

/* The common case on the per-event path: a write of bytes [addr, last]
 * to pages of the last region that are all resident already changes
 * nothing (resident pages are read/write and not released).  The pages'
 * mask is two shifts, with no test for a whole word. */
static int already_resident(const struct simos *os, uint64_t addr,
			    uint64_t last)
{
	const struct region *r = os->last;
	uint64_t a = addr >> SIMOS_PAGE_SHIFT, b = last >> SIMOS_PAGE_SHIFT;
	if (!r || r->key != addr >> REGION_SHIFT || (a >> 6) != (b >> 6))
		return 0;
	uint64_t m = (~UINT64_C(0) << (a & 63)) & (~UINT64_C(0) >> (63 - (b & 63)));
	size_t w = (size_t)((a & (REGION_PAGES - 1)) >> 6);
	return (r->bits[B_RES][w] & m) == m;
}

/* The pages of bytes [addr, last], all resident now, are the hot range
 * (read/write pages end below 2^47: the end does not overflow). */
static void set_hot(struct simos *os, uint64_t addr, uint64_t last)
{
	os->hot.lo = addr & ~PAGE_MASK;
	os->hot.hi = (last | PAGE_MASK) + 1;
	os->hot.version = os->meter_version;
}

/* Charge the page faults of a write and enforce memory.max. */
static int touch_account(struct simos *os, uint64_t addr, uint64_t len,
			 uint64_t fresh, struct sim_err *err)
{
	uint64_t max = os->cfg.memory_max, rss;
	os->counts.page_faults += fresh;
	os->cost_ns += fresh * os->cfg.fault_ns;
	os->meter_version++;
	if (os->pages[B_RES] > os->peak_res)
		os->peak_res = os->pages[B_RES];
	rss = os->pages[B_RES] << SIMOS_PAGE_SHIFT;
	if (!max || !fresh || rss <= max)
		return SIM_OK;
	os->oom = 1;                      /* the version moved above */
	return SIM_ERR(err, SIM_EOOM,
		       "simos: OOM kill: write of %" PRIu64 " bytes at 0x%" PRIx64
		       " raises rss to %" PRIu64 " bytes, over memory.max %" PRIu64,
		       len, addr, rss, max);
}

/* simos_touch past its fast path (not resident already, or an overflow);
 * kept out of line so the fast path (a write to resident pages of the last
 * region: most writes) saves no registers. */
static __attribute__((noinline)) int touch_slow(struct simos *os,
						uint64_t addr, uint64_t len,
						struct sim_err *err)
{
	uint64_t fresh = 0, bad = 0;
	if (len - 1 > UINT64_MAX - addr)
		return SIM_ERR(err, SIM_ECHECK,
			       "simos: write of %" PRIu64 " bytes at 0x%" PRIx64
			       " runs past the end of the address space", len, addr);
	uint64_t first = addr >> SIMOS_PAGE_SHIFT;
	uint64_t end = ((addr + len - 1) >> SIMOS_PAGE_SHIFT) + 1;
	int ok = (first >> 6) == ((end - 1) >> 6)
			 ? touch_word(os, first, end, &fresh, &bad)
			 : touch_pages(os, first, end, &fresh, &bad);
	if (!ok)
		return SIM_ERR(err, SIM_ECHECK,
			       "simos: write of %" PRIu64 " bytes at 0x%" PRIx64
			       ": page 0x%" PRIx64 " is not mapped read/write",
			       len, addr, bad << SIMOS_PAGE_SHIFT);
	int rc = touch_account(os, addr, len, fresh, err);
	if (rc == SIM_OK)
		set_hot(os, addr, addr + len - 1);
	return rc;
}

int simos_touch(struct simos *os, uint64_t addr, uint64_t len,
		struct sim_err *err)
{
	/* no hot-range test here (simos.h says why) */
	if (len == 0)
		return SIM_OK;
	uint64_t last = addr + len - 1;
	/* no overflow (touch_slow reports it) and resident already */
	if (last >= addr && already_resident(os, addr, last)) {
		set_hot(os, addr, last);
		return SIM_OK;
	}
	return touch_slow(os, addr, len, err);
}

int simos_is_rw(const struct simos *os, uint64_t addr, uint64_t len)
{
	if (len == 0)
		return 1;
	if (len - 1 > UINT64_MAX - addr)
		return 0;
	struct pgiter it = pg_start(addr >> SIMOS_PAGE_SHIFT,
				    ((addr + len - 1) >> SIMOS_PAGE_SHIFT) + 1);
	while (pg_next(os, &it))
		if (!it.r || (it.r->bits[B_RW][it.w] & it.mask) != it.mask)
			return 0;
	return 1;
}

/* ---- gauges and counters ----------------------------------------------------- */

uint64_t simos_rss_bytes(const struct simos *os)
{
	return os->pages[B_RES] << SIMOS_PAGE_SHIFT;
}

uint64_t simos_rw_bytes(const struct simos *os)
{
	return os->pages[B_RW] << SIMOS_PAGE_SHIFT;
}

uint64_t simos_reserved_bytes(const struct simos *os)
{
	return os->reserved_pages << SIMOS_PAGE_SHIFT;
}

uint64_t simos_released_bytes(const struct simos *os)
{
	return os->pages[B_REL] << SIMOS_PAGE_SHIFT;
}

uint64_t simos_heap_bytes(const struct simos *os)
{
	return (os->pages[B_RW] - os->pages[B_REL]) << SIMOS_PAGE_SHIFT;
}

uint64_t simos_peak_rss_bytes(const struct simos *os)
{
	return os->peak_res << SIMOS_PAGE_SHIFT;
}

const struct simos_counts *simos_counts(const struct simos *os)
{
	return &os->counts;
}

const struct simos_hot *simos_hot(const struct simos *os)
{
	return &os->hot;
}

const uint64_t *simos_meter_version(const struct simos *os)
{
	return &os->meter_version;
}

void simos_read_meter(const struct simos *os, struct simos_meter *m)
{
	m->heap_bytes = (os->pages[B_RW] - os->pages[B_REL]) << SIMOS_PAGE_SHIFT;
	m->rss_bytes = os->pages[B_RES] << SIMOS_PAGE_SHIFT;
	m->released_bytes = os->pages[B_REL] << SIMOS_PAGE_SHIFT;
	m->cost_ns = os->cost_ns;
	m->oom_killed = os->oom;
}

uint64_t simos_cost_ns(const struct simos *os)
{
	return os->cost_ns;
}

int simos_oom_killed(const struct simos *os)
{
	return os->oom;
}

uint64_t simos_mapping_count(const struct simos *os)
{
	return os->nvmas;
}

const char *simos_call_name(int call)
{
	static const char *const names[] = {
#define SIMOS_CALL_NAME(n) #n,
		SIMOS_CALLS(SIMOS_CALL_NAME)
#undef SIMOS_CALL_NAME
	};
	if (call < 0 || call >= SIMOS_NCALLS)
		return "unknown";
	return names[call];
}
