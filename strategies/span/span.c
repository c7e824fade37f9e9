/*
 * span.c - the Go 1.19 runtime allocator without its tiny path: size
 * classes, spans with allocation bitmaps, one mcache per P, an mcentral per
 * span class with swept/unswept partial/full sets, the mheap page allocator
 * with per-P page caches, heap growth by arenas, large objects, lazy
 * sweeping, the scavenger and the exact heap accounting of MemStats.
 * Everything cited "n.m" is a section of ../shared/reference/go-allocator.md
 * (Go 1.19 malloc.go, mcache.go, mcentral.go, mheap.go, mpagealloc.go,
 * mpagecache.go, mgcsweep.go, mgcscavenge.go, mgcpacer.go, mstats.go).
 *
 * Memory (2): the heap starts at 0xc000000000.  A reservation is 64 MiB
 * mapped PROT_NONE at the next arena hint; the heap grows by multiples of
 * 4 MiB mapped read/write with MAP_FIXED inside it, and that new memory is
 * free and "released" (scavenged) until a span uses it.  Mapped heap memory
 * is never unmapped; the scavenger gives pages back with madvise(DONTNEED).
 *
 * Which simulated bytes are written (touched), as Go writes them:
 *   - a small slot when its span has needzero set (reused memory: Go
 *     clears the slot before handing it out);
 *   - the requested bytes of a large object whose span has needzero;
 *   - nothing else: span structs, bitmaps and mcaches live off-heap in Go
 *     too, and are counted in meta_bytes instead (5.4, 13).
 * A fresh span's needzero is 1 iff it lies below its arena's zeroedBase,
 * the high-water mark of memory ever handed out (5.4).
 *
 * Reclamation: the engine marks (in GC mode) by calling free for every
 * dead object between gc_begin and gc_end; a free then only clears the
 * slot's bit and counts it as pending for the span's next sweep.  gc_end is
 * mark termination: sweepgen += 2, heapMarked, the goals, the mcache flush
 * (stale spans are swept as they are uncached, 6.2), then either lazy
 * sweeping as Go does it (mcentral.cacheSpan, proportional sweep, page
 * reclaimer, the rest at the next GC start: 11.8) or everything at once.
 * Outside a GC (immediate mode) a free takes effect at once: the slot is
 * free, and a span that becomes empty while not cached goes back to the
 * heap (a one-object sweep).
 *
 * Simplifications (numbered; README's "span and tiny" repeats them):
 *  1. Threads are pinned to Ps (tid mod gomaxprocs); no goroutine moves.
 *  2. No stacks, globals or other non-heap memory; the pacer's scan work
 *     (stacks, globals, pointer-bearing heap) is the parameters
 *     stack_scan, globals_scan and heap_scan (default 0).  meta_bytes counts 144 B per mspan,
 *     1200 B per mcache and 2,165,776 B per 64 MiB arena, but that metadata
 *     is not mapped in the simulated OS.
 *  3. The pacer's cons/mark ratio is not measured but the parameter
 *     cons_mark, so the runway is fixed by the scan work (sim/gc.h).  The background sweeper finishes the sweep at the first tick
 *     (1 ms of simulated time by default) after a cycle; until then spans
 *     are swept lazily by allocation.
 *  4. The arena hint list is one contiguous run from 0xc000000000: if the
 *     simulated OS cannot place a reservation at its hint, the allocation
 *     fails (out of memory) instead of trying the next hint.  The heap is
 *     capped at 256 GiB of reservations (the host-side page map grows with
 *     it); beyond that an allocation fails as out of memory.
 *  5. Size 0 is served as an 8-byte object (Go returns one shared address,
 *     which the one-block-per-object contract cannot express).  Aligned
 *     requests take the smallest class whose size is a multiple of the
 *     alignment, or a large span with the alignment inside it.
 *  6. mcentral's span sets are FIFO lists; Go's are lock-free, so
 *     lock_acquires counts only mheap lock acquisitions (global page
 *     allocation, page cache refill, span free, growth, scavenging).
 */
#include <string.h>

#include "pagealloc.h"
#include "sizeclass.h"
#include "span.h"

#define ARENA_BYTES    ((uint64_t)64 << 20)
#define ARENA_PAGES    (ARENA_BYTES / SC_PAGE)
#define HEAP_MAX       ((uint64_t)256 << 30)   /* simplification 4 */
#define CHUNK_BYTES    ((uint64_t)PA_CHUNK_PAGES * SC_PAGE)
#define MSPAN_BYTES    144u
#define MCACHE_BYTES   1200u
#define ARENA_META     2165776u
#define MIB            ((uint64_t)1 << 20)
#define SPAN_BUDGET    100
#define NONE_SLOT      0xffffu
#define MAX_WORDS      16u         /* 1024 slots */
#define SLAB_BYTES     32768u      /* span structs are carved from these */

struct spanset;

struct mspan {
	uint64_t base;            /* first byte, page aligned */
	uint64_t elemsize;        /* class size, or npages * 8192 */
	uint32_t npages;          /* < 2^25 (simplification 4); 0: recycled */
	uint32_t sweepgen;
	uint16_t nelems, freeindex, alloc_count, before_cache, pending;
	uint16_t set;             /* the set it is in (set_of), 0: none */
	uint8_t spc, needzero, cached, words;
	struct mspan *next, *prev;
	uint64_t bits[];          /* 1 = allocated */
};

/* Span structs come from 32 KiB slabs, one run per bitmap length, not
 * from a host malloc each: at 10 million live objects the heap has about
 * a million spans, and malloc's header and 16-byte rounding cost 16-24
 * bytes on each 72-80 byte struct. */
struct slab {
	struct slab *next;
	uint64_t pad;             /* keeps the structs 16-byte aligned */
};

struct spanset {                  /* FIFO: push at the tail, pop the head */
	struct mspan *head, *tail;
};

struct mcentral {
	struct spanset partial[2], full[2];   /* [(sweepgen/2)%2] = swept */
};

struct mcache {
	struct mspan *alloc[SC_NSPANCLASSES];
	struct pa_cache pc;
};

struct pacer {
	int64_t gogc;             /* -1: off */
	uint64_t memlimit;        /* 0: none */
	uint64_t marked, gogc_goal, min_trigger;
	uint64_t roots;           /* stack_scan + globals_scan */
	uint64_t runway;          /* see sim/gc.h */
	int committed;
};

struct span_heap {
	const struct strategy_env *env;
	struct sc_tables sc;
	unsigned nprocs;
	int lazy, scavenge;
	uint64_t scav_rate, nonheap;
	struct mcache *mc;
	struct mcentral central[SC_NSPANCLASSES];
	struct palloc pa;
	struct mspan **spanmap;   /* per page: the in-use span holding it */
	uint64_t *zeroed;         /* per arena: zeroedBase, in pages */
	uint64_t cur_base, cur_end;   /* reserved, not yet mapped */
	uint64_t next_hint, arenas;
	struct mspan *spare[MAX_WORDS + 1];   /* recycled structs by words */
	struct slab *slabs;                   /* every slab, newest first */
	char *carve[MAX_WORDS + 1], *carve_end[MAX_WORDS + 1];
	uint64_t nspans;

	uint32_t sweepgen;
	int in_mark, sweep_done;
	uint64_t pending_bytes;   /* marked dead this cycle, not yet swept */
	unsigned sweep_spc;       /* sweepone cursor */
	uint64_t pages_in_use, pages_swept, swept_basis, live_basis;
	double pages_per_byte;
	uint64_t reclaim_cursor, reclaim_credit;
	struct pacer pacer;

	/* the scavenger */
	uint64_t last_heap_inuse, scav_goal;
	uint64_t scav_last_ns;
	int64_t scav_credit;      /* bytes the scavenger may still release */
	int scav_awake;

	/* accounting (9) */
	uint64_t heap_inuse, heap_free, heap_released;
	uint64_t total_alloc, total_free, mallocs, frees, heap_live;
	uint64_t num_gc;
	uint64_t c[SPAN_NCOUNTERS];   /* event counters, by SPAN_C_* */
};

_Static_assert(sizeof(struct mspan) == 56, "mspan: 56 bytes + the bitmap");
_Static_assert(SC_NSPANCLASSES * 4 < 0xffff, "set numbers fit 16 bits");

static const struct strategy_param span_params[] = {
	SPAN_PARAMS,
	{NULL, 0, NULL, 0, 0, NULL}
};

static const char *const span_counter_names[] = {
#define SPAN_CTR_NAME(n) #n,
	SPAN_COUNTERS(SPAN_CTR_NAME)
#undef SPAN_CTR_NAME
	NULL
};

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static uint64_t sub_sat(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

static uint64_t page_of(const struct span_heap *h, uint64_t addr)
{
	(void)h;
	return (addr - SPAN_HEAP_BASE) >> SC_PAGE_SHIFT;
}

static uint64_t addr_of(uint64_t page)
{
	return SPAN_HEAP_BASE + (page << SC_PAGE_SHIFT);
}

static unsigned swept_ix(const struct span_heap *h)
{
	return (h->sweepgen / 2) % 2;
}

/* ==== the pacer (11.2-11.4), for NextGC and sweep pacing ============== */
/* The engine's pacer (sim/gc.c) runs the same arithmetic to decide when a
 * cycle starts; tests/test_span.c checks that the two agree. */

static uint64_t mul_pct(uint64_t x, int64_t pct)
{
	unsigned __int128 r = (unsigned __int128)x * (uint64_t)pct / 100;
	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}

static uint64_t gogc_goal(const struct pacer *p, uint64_t marked)
{
	if (p->gogc < 0)
		return UINT64_MAX;
	uint64_t g = marked + mul_pct(marked + p->roots, p->gogc);
	if (g < marked || marked + p->roots < marked)
		g = UINT64_MAX;
	return max_u64(g, mul_pct(4 * MIB, p->gogc));
}

/* The memory-limit heap goal (11.4); UINT64_MAX without a limit. */
static uint64_t limit_goal(const struct pacer *p, uint64_t mapped_ready,
			   uint64_t heap_free, uint64_t heap_alloc)
{
	if (!p->memlimit)
		return UINT64_MAX;
	uint64_t nonheap = sub_sat(mapped_ready, heap_free + heap_alloc);
	uint64_t over = sub_sat(mapped_ready, p->memlimit);
	if (nonheap + over >= p->memlimit)
		return p->marked;
	uint64_t g = p->memlimit - nonheap - over;
	g = g < 2 * MIB ? MIB : g - MIB;
	return max_u64(g, p->marked);
}

static uint64_t mapped_ready(const struct span_heap *h);
static uint64_t meta_bytes(const struct span_heap *h);

/* The runway of 11.3: cons_mark * (1 - 0.25) / 0.25 * scan work, as Go
 * computes it in floating point; saturating. */
static uint64_t pacer_runway(const union param_value *params)
{
	double w = (double)params[SPAN_P_HEAP_SCAN].i +
		   (double)params[SPAN_P_STACK_SCAN].i +
		   (double)params[SPAN_P_GLOBALS_SCAN].i;
	double r = params[SPAN_P_CONS_MARK].d * 3.0 * w;
	if (!(r > 0))
		return 0;
	return r >= 0x1p64 ? UINT64_MAX : (uint64_t)r;
}

/* heapGoal() and the minimum trigger it implies. */
static uint64_t heap_goal(const struct span_heap *h, uint64_t *min_trigger)
{
	const struct pacer *p = &h->pacer;
	uint64_t g = p->gogc_goal;
	*min_trigger = 0;
	if (p->memlimit) {       /* (the engine asks after every allocation) */
		uint64_t l = limit_goal(p, mapped_ready(h), h->heap_free,
					h->total_alloc - h->total_free);
		if (l < g)
			return l;
	}
	*min_trigger = p->min_trigger;
	return max_u64(g, p->min_trigger);
}

/* The trigger (11.3): the high bound (runway 0) for the first cycle, then
 * goal - runway within the bounds. */
static uint64_t heap_trigger(const struct span_heap *h)
{
	uint64_t lo, m = h->pacer.marked;
	uint64_t goal = heap_goal(h, &lo);
	if (m >= goal)
		return goal;
	uint64_t d = (goal - m) / 64;
	lo = max_u64(max_u64(lo, m), m + d * 45);
	uint64_t hi = m + d * 61;
	if (goal > 4 * MIB && goal - 4 * MIB > hi)
		hi = goal - 4 * MIB;
	hi = max_u64(hi, lo);
	if (!h->pacer.committed)
		return hi;
	if (h->pacer.runway > goal)
		return lo;
	uint64_t t = goal - h->pacer.runway;
	return t < lo ? lo : t > hi ? hi : t;
}

/* ==== span structs ===================================================== */

static size_t span_bytes(unsigned words)
{
	return sizeof(struct mspan) + words * sizeof(uint64_t);
}

/* A struct for a span of bitmap length words from the current slab of
 * that length, starting a new slab when it is used up. */
static struct mspan *span_carve(struct span_heap *h, unsigned words)
{
	size_t n = span_bytes(words);
	if ((size_t)(h->carve_end[words] - h->carve[words]) < n) {
		struct slab *sl = strat_halloc(h->env, SLAB_BYTES);
		if (!sl)
			return NULL;
		sl->next = h->slabs;
		h->slabs = sl;
		h->carve[words] = (char *)(sl + 1);
		h->carve_end[words] = (char *)sl + SLAB_BYTES;
	}
	struct mspan *s = (struct mspan *)(void *)h->carve[words];
	h->carve[words] += n;
	return s;
}

static struct mspan *span_new(struct span_heap *h, unsigned nelems)
{
	unsigned words = (nelems + 63) / 64;
	struct mspan *s = h->spare[words];
	if (s)
		h->spare[words] = s->next;
	else if (!(s = span_carve(h, words)))
		return NULL;
	memset(s, 0, span_bytes(words));
	s->words = (uint8_t)words;
	s->nelems = (uint16_t)nelems;
	h->nspans++;
	return s;
}

static void span_recycle(struct span_heap *h, struct mspan *s)
{
	s->npages = 0;
	s->next = h->spare[s->words];
	h->spare[s->words] = s;
	h->nspans--;
}

/* ---- span sets -------------------------------------------------------- */

/* A span names its set by number, 1 + the set's index among the spansets
 * of h->central (an index in 16 bits where a pointer took 8 bytes). */
static struct spanset *set_of(struct span_heap *h, const struct mspan *s)
{
	if (!s->set)
		return NULL;
	return (struct spanset *)(void *)((char *)h->central +
					  (s->set - 1u) * sizeof(struct spanset));
}

static uint16_t set_code(const struct span_heap *h, const struct spanset *q)
{
	return (uint16_t)(((const char *)q - (const char *)h->central) /
			  sizeof(struct spanset) + 1);
}

static void set_push(struct span_heap *h, struct spanset *q, struct mspan *s)
{
	s->set = set_code(h, q);
	s->next = NULL;
	s->prev = q->tail;
	if (q->tail)
		q->tail->next = s;
	else
		q->head = s;
	q->tail = s;
}

static void set_remove(struct span_heap *h, struct mspan *s)
{
	struct spanset *q = set_of(h, s);
	if (!q)
		return;
	if (s->prev)
		s->prev->next = s->next;
	else
		q->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		q->tail = s->prev;
	s->set = 0;
	s->next = s->prev = NULL;
}

static struct mspan *set_pop(struct span_heap *h, struct spanset *q)
{
	struct mspan *s = q->head;
	if (s)
		set_remove(h, s);
	return s;
}

/* ==== the heap: growth ==================================================== */

/* Room in the host arrays for every page of the reserved arenas. */
static int heap_arrays(struct span_heap *h, uint64_t pages)
{
	uint64_t old = h->pa.cap;
	if (pa_reserve(&h->pa, pages) != 0)
		return -1;
	struct mspan **m = pa_regrow(h->env, h->spanmap, old * sizeof *m,
				     pages * sizeof *m);
	if (!m)
		return -1;
	h->spanmap = m;
	uint64_t *z = pa_regrow(h->env, h->zeroed, old / ARENA_PAGES * 8,
				pages / ARENA_PAGES * 8);
	if (!z)
		return -1;
	h->zeroed = z;
	return 0;
}

/* sysAlloc: reserve n bytes (64 MiB multiple) PROT_NONE at the hint. */
static int heap_reserve(struct span_heap *h, uint64_t n)
{
	uint64_t addr;
	if (n > HEAP_MAX || h->next_hint - SPAN_HEAP_BASE > HEAP_MAX - n)
		return -1;           /* host arrays would be too large */
	if (simos_mmap(h->env->os, h->next_hint, n, SIMOS_PROT_NONE, 0, &addr)
	    != SIM_OK)
		return -1;
	if (addr != h->next_hint || (h->cur_end && addr != h->cur_end)) {
		simos_munmap(h->env->os, addr, n);   /* simplification 4 */
		return -1;
	}
	if (!h->cur_end)
		h->cur_base = addr;
	h->cur_end = addr + n;
	h->next_hint = addr + n;
	h->arenas += n / ARENA_BYTES;
	return heap_arrays(h, (h->cur_end - SPAN_HEAP_BASE) / SC_PAGE);
}

/* mheap.grow (2.3): map a 4 MiB multiple for npages; new pages are free
 * and released.  Returns the growth in bytes, or 0 when out of memory. */
static uint64_t heap_grow(struct span_heap *h, uint64_t npages)
{
	uint64_t ask = (npages + PA_CHUNK_PAGES - 1) / PA_CHUNK_PAGES * CHUNK_BYTES;
	if (h->cur_end - h->cur_base < ask) {
		uint64_t n = (ask + ARENA_BYTES - 1) / ARENA_BYTES * ARENA_BYTES;
		if (heap_reserve(h, n) != 0)
			return 0;
	}
	uint64_t v = h->cur_base, got;
	if (simos_mmap(h->env->os, v, ask, SIMOS_PROT_RW, SIMOS_MAP_FIXED, &got)
	    != SIM_OK)
		return 0;
	h->cur_base += ask;
	if (pa_grow(&h->pa, ask / SC_PAGE) != 0)
		return 0;
	h->heap_released += ask;
	h->c[SPAN_C_mheap_grow]++;
	h->c[SPAN_C_lock_acquires]++;
	return ask;
}

/* ==== the scavenger (10) ================================================= */

static uint64_t heap_retained(const struct span_heap *h)
{
	return h->heap_inuse + h->heap_free;
}

/* Release up to want bytes, highest addresses first, one runtime page at
 * the least, with the huge-page extension of 10.3.  Returns bytes. */
static uint64_t scavenge(struct span_heap *h, uint64_t want)
{
	const uint64_t huge = (2 * MIB) / SC_PAGE;
	uint64_t done = 0, hi = h->pa.npages;
	while (done < want) {
		uint64_t top = pa_scav_top(&h->pa, hi);
		if (top == PA_NONE)
			break;
		/* the whole free-unscavenged run, within top's 4 MiB chunk */
		uint64_t bottom = top, floor = top / PA_CHUNK_PAGES * PA_CHUNK_PAGES;
		while (bottom > floor && pa_free_unscav(&h->pa, bottom - 1))
			bottom--;
		uint64_t need = (want - done + SC_PAGE - 1) / SC_PAGE;
		uint64_t n = min_u64(top + 1 - bottom, need);
		uint64_t start = top + 1 - n;
		uint64_t down = start / huge * huge;
		if (down < start && (top + 1) / huge * huge > start && bottom <= down)
			start = down;
		n = top + 1 - start;
		if (simos_madvise_dontneed(h->env->os, addr_of(start), n * SC_PAGE)
		    != SIM_OK)
			break;
		pa_bits_set(h->pa.scav, start, n, 1);
		h->heap_free -= n * SC_PAGE;
		h->heap_released += n * SC_PAGE;
		h->c[SPAN_C_scav_released] += n * SC_PAGE;
		h->c[SPAN_C_lock_acquires]++;
		done += n * SC_PAGE;
		hi = start;
	}
	return done;
}

/* The GOGC retention goal (10.1) at a commit: heapInUse at the last mark
 * termination scaled by new goal / last goal, plus 10 %, rounded up to
 * 4 KiB; UINT64_MAX (disabled) before the first cycle or with GOGC off. */
static uint64_t scav_gogc_goal(const struct span_heap *h, uint64_t goal,
			       uint64_t last_goal)
{
	if (!last_goal || goal == UINT64_MAX || h->pacer.gogc < 0)
		return UINT64_MAX;
	unsigned __int128 g = (unsigned __int128)h->last_heap_inuse * goal /
			      last_goal;
	g += g / 10;
	g = (g + 4095) / 4096 * 4096;
	return g >= UINT64_MAX ? UINT64_MAX : (uint64_t)g;
}

/* Bytes retained above the GOGC goal (0 when within a physical page). */
static uint64_t scav_excess(const struct span_heap *h)
{
	uint64_t r = heap_retained(h), g = h->scav_goal;
	return g != UINT64_MAX && r > g && r - g >= 4096 ? r - g : 0;
}

/* The 1.19 memory-limit goal: limit * 95 (golang/go#62449), so it is
 * practically never below mappedReady. */
static uint64_t scav_limit_goal(const struct span_heap *h)
{
	if (!h->pacer.memlimit)
		return UINT64_MAX;
	unsigned __int128 g = (unsigned __int128)h->pacer.memlimit * 95;
	return g > UINT64_MAX ? UINT64_MAX : (uint64_t)g;
}

/* Synchronous scavenging inside allocSpan (10.4); retained is
 * heapRetained before the new span's statistics were added. */
static void scavenge_on_alloc(struct span_heap *h, uint64_t growth,
			      uint64_t retained)
{
	if (!h->scavenge)
		return;
	uint64_t a = 0, b = 0, mr = mapped_ready(h);
	if (h->pacer.memlimit && mr > h->pacer.memlimit)
		a = mr - h->pacer.memlimit;
	uint64_t goal = h->scav_goal;
	if (growth && goal != UINT64_MAX && retained + growth > goal)
		b = min_u64(growth, retained + growth - goal);
	if (a || b)
		scavenge(h, max_u64(a, b));
}

/* ==== the heap: spans ====================================================== */

/* allocNeedsZero (5.4): does [p, p+n) reach below an arena's zeroedBase?
 * Raises the zeroedBase of every arena it covers. */
static int needs_zero(struct span_heap *h, uint64_t p, uint64_t n)
{
	int z = 0;
	while (n) {
		uint64_t a = p / ARENA_PAGES, off = p % ARENA_PAGES;
		uint64_t k = min_u64(n, ARENA_PAGES - off);
		if (off < h->zeroed[a])
			z = 1;
		if (off + k > h->zeroed[a])
			h->zeroed[a] = off + k;
		p += k;
		n -= k;
	}
	return z;
}

static void page_reclaim(struct span_heap *h, uint64_t npages);

/* Pages for a span: the P's page cache below 16 pages, else global first
 * fit, growing the heap when needed (8.3).  *growth gets the bytes the
 * heap grew by.  PA_NONE when out of memory. */
static uint64_t heap_pages(struct span_heap *h, unsigned p, uint64_t npages,
			   uint64_t *scav, uint64_t *growth)
{
	uint64_t pg = PA_NONE;
	*growth = 0;
	if (npages < 16) {
		struct pa_cache *c = &h->mc[p].pc;
		if (!c->free) {
			h->c[SPAN_C_lock_acquires]++;
			h->c[SPAN_C_pcache_fills]++;
			pa_cache_fill(&h->pa, c);
		}
		pg = pa_cache_alloc(c, (unsigned)npages, scav);
		if (pg != PA_NONE)
			return pg;
	}
	h->c[SPAN_C_lock_acquires]++;
	pg = pa_find(&h->pa, npages);
	if (pg == PA_NONE) {
		if (!(*growth = heap_grow(h, npages)))
			return PA_NONE;
		pg = pa_find(&h->pa, npages);
	}
	*scav = pa_alloc(&h->pa, pg, npages);
	return pg;
}

/* mheap.alloc: a new in-use span of npages for span class spc holding
 * nelems objects of elemsize bytes.  NULL when out of memory. */
static struct mspan *heap_alloc_span(struct span_heap *h, unsigned p,
				     uint64_t npages, unsigned spc,
				     unsigned nelems, uint64_t elemsize)
{
	if (!h->sweep_done)
		page_reclaim(h, npages);
	struct mspan *s = span_new(h, nelems);
	if (!s)
		return NULL;
	uint64_t scav = 0, growth = 0;
	uint64_t pg = heap_pages(h, p, npages, &scav, &growth);
	if (pg == PA_NONE) {
		span_recycle(h, s);
		return NULL;
	}
	uint64_t bytes = npages * SC_PAGE, retained = heap_retained(h);
	h->heap_inuse += bytes;
	h->heap_released -= scav * SC_PAGE;
	h->heap_free -= bytes - scav * SC_PAGE;
	h->pages_in_use += npages;
	h->c[SPAN_C_mheap_alloc]++;
	s->base = addr_of(pg);
	s->npages = (uint32_t)npages;   /* heap_pages checked the cap */
	s->elemsize = elemsize;
	s->spc = (uint8_t)spc;
	s->sweepgen = h->sweepgen;
	s->needzero = (uint8_t)needs_zero(h, pg, npages);
	for (uint64_t i = 0; i < npages; i++)
		h->spanmap[pg + i] = s;
	scavenge_on_alloc(h, growth, retained);
	return s;
}

/* freeSpan (8.4): the pages go back to the page allocator as heapFree. */
static void heap_free_span(struct span_heap *h, struct mspan *s)
{
	uint64_t pg = page_of(h, s->base), bytes = s->npages * SC_PAGE;
	set_remove(h, s);
	h->c[SPAN_C_lock_acquires]++;
	h->c[SPAN_C_mheap_free]++;
	h->heap_free += bytes;
	h->heap_inuse -= bytes;
	h->pages_in_use -= s->npages;
	for (uint64_t i = 0; i < s->npages; i++)
		h->spanmap[pg + i] = NULL;
	pa_free(&h->pa, pg, s->npages);
	h->scav_awake = 1;
	span_recycle(h, s);
}

/* ==== sweeping (11.7, 11.8) ============================================== */

/* Put a swept, uncached span where it belongs: the heap when empty, else
 * the swept full or partial set of its class. */
static void place_span(struct span_heap *h, struct mspan *s)
{
	struct mcentral *c = &h->central[s->spc];
	set_remove(h, s);
	if (s->alloc_count == 0) {
		heap_free_span(h, s);
		return;
	}
	unsigned sw = swept_ix(h);
	set_push(h, s->alloc_count < s->nelems ? &c->partial[sw] : &c->full[sw], s);
}

/* mspan.sweep: the objects marked dead are freed.  With keep the span is
 * left unplaced for the caller (cacheSpan), even when empty. */
static void sweep_span(struct span_heap *h, struct mspan *s, int keep)
{
	unsigned n = s->pending;
	s->sweepgen = h->sweepgen;
	s->freeindex = 0;
	h->c[SPAN_C_spans_swept]++;
	h->pages_swept += s->npages;
	if (n) {
		s->pending = 0;
		s->alloc_count = (uint16_t)(s->alloc_count - n);
		s->needzero = 1;
		h->frees += n;
		h->total_free += n * s->elemsize;
		h->pending_bytes -= n * s->elemsize;
	}
	if (keep)
		set_remove(h, s);
	else
		place_span(h, s);
}

/* sweepone: the next unswept span in class order, full before partial
 * (11.8.2).  Returns its pages, 0 when sweeping is done. */
static uint64_t sweep_one(struct span_heap *h)
{
	unsigned us = !swept_ix(h);
	for (; h->sweep_spc < SC_NSPANCLASSES; h->sweep_spc++) {
		struct mcentral *c = &h->central[h->sweep_spc];
		struct mspan *s = c->full[us].head ? c->full[us].head
						   : c->partial[us].head;
		if (s) {
			uint64_t np = s->npages;
			sweep_span(h, s, 0);
			return np;
		}
	}
	h->sweep_done = 1;
	h->scav_awake = 1;
	return 0;
}

static void sweep_all(struct span_heap *h)
{
	while (!h->sweep_done)
		sweep_one(h);
}

/* deductSweepCredit (11.8.1): sweep in proportion to heap growth. */
static void sweep_credit(struct span_heap *h, uint64_t bytes, uint64_t pages)
{
	if (h->sweep_done || h->pages_per_byte <= 0)
		return;
	double target = h->pages_per_byte *
			(double)(h->heap_live - h->live_basis + bytes) -
			(double)pages;
	while ((double)(h->pages_swept - h->swept_basis) < target)
		if (!sweep_one(h))
			break;
}

/* mheap.reclaim (11.8.4): sweep unswept spans with no live object, in
 * address order, until npages were freed. */
static void page_reclaim(struct span_heap *h, uint64_t npages)
{
	if (h->reclaim_credit >= npages) {
		h->reclaim_credit -= npages;
		return;
	}
	uint64_t got = h->reclaim_credit;
	uint32_t unswept = h->sweepgen - 2;
	while (got < npages && h->reclaim_cursor < h->pa.npages) {
		struct mspan *s = h->spanmap[h->reclaim_cursor];
		if (!s) {
			h->reclaim_cursor++;
			continue;
		}
		h->reclaim_cursor = page_of(h, s->base) + s->npages;
		if (s->sweepgen == unswept && !s->cached &&
		    s->pending == s->alloc_count) {
			got += s->npages;
			h->c[SPAN_C_pages_reclaimed] += s->npages;
			sweep_span(h, s, 0);
		}
	}
	h->reclaim_credit = got > npages ? got - npages : 0;
}

/* ==== mcentral (7) ======================================================= */

static struct mspan *central_grow(struct span_heap *h, unsigned p,
				  unsigned spc)
{
	unsigned cls = spc >> 1;
	h->c[SPAN_C_mcentral_grow]++;
	return heap_alloc_span(h, p, sc_npages[cls], spc, sc_nelems(cls),
			       sc_size[cls]);
}

/* cacheSpan (7.2): a span of class spc with a free slot, or NULL. */
static struct mspan *central_cache_span(struct span_heap *h, unsigned p,
					unsigned spc)
{
	struct mcentral *c = &h->central[spc];
	unsigned sw = swept_ix(h), us = !sw;
	h->c[SPAN_C_mcentral_cache_span]++;
	sweep_credit(h, sc_npages[spc >> 1] * SC_PAGE, 0);
	struct mspan *s = set_pop(h, &c->partial[sw]);
	if (s)
		return s;
	int budget = SPAN_BUDGET;
	if (!h->sweep_done) {
		if ((s = c->partial[us].head)) {
			sweep_span(h, s, 1);   /* used even when now empty */
			return s;
		}
		for (; budget > 0 && (s = c->full[us].head); budget--) {
			sweep_span(h, s, 1);
			if (s->alloc_count < s->nelems)
				return s;
			set_push(h, &c->full[sw], s);
		}
	}
	return central_grow(h, p, spc);
}

/* uncacheSpan (7.3): stale spans are swept, others go to a swept set. */
static void central_uncache(struct span_heap *h, struct mspan *s)
{
	h->c[SPAN_C_mcentral_uncache_span]++;
	s->cached = 0;
	if (s->sweepgen == h->sweepgen + 1) {
		sweep_span(h, s, 0);
		return;
	}
	uint64_t unused = (uint64_t)(s->nelems - s->alloc_count) * s->elemsize;
	h->heap_live = sub_sat(h->heap_live, unused);
	s->sweepgen = h->sweepgen;
	s->freeindex = 0;
	place_span(h, s);
}

/* ==== mcache (6) ======================================================= */

/* Refill (6.3): swap the full span for one with a free slot. */
static struct mspan *mcache_refill(struct span_heap *h, unsigned p,
				   unsigned spc)
{
	struct mcache *mc = &h->mc[p];
	h->c[SPAN_C_refills]++;
	if (mc->alloc[spc])
		central_uncache(h, mc->alloc[spc]);
	mc->alloc[spc] = NULL;
	struct mspan *s = central_cache_span(h, p, spc);
	if (!s)
		return NULL;
	s->sweepgen = h->sweepgen + 3;
	s->cached = 1;
	s->before_cache = s->alloc_count;
	h->heap_live += s->npages * SC_PAGE -
			(uint64_t)s->alloc_count * s->elemsize;
	mc->alloc[spc] = s;
	return s;
}

/* releaseAll (6.2): every cached span back to mcentral. */
static void mcache_flush(struct span_heap *h, unsigned p)
{
	struct mcache *mc = &h->mc[p];
	h->c[SPAN_C_mcache_flushes]++;
	for (unsigned i = 0; i < SC_NSPANCLASSES; i++) {
		if (mc->alloc[i])
			central_uncache(h, mc->alloc[i]);
		mc->alloc[i] = NULL;
	}
}

/* The lowest free slot at or after freeindex, marked allocated; or
 * NONE_SLOT when the span is full (3.4).  Inline (GCC left the two
 * callers a call): it runs once an allocation. */
static inline unsigned next_free(struct mspan *s)
{
	unsigned i = s->freeindex, w = i >> 6;
	if (i >= s->nelems)
		return NONE_SLOT;
	uint64_t x = ~s->bits[w] & (~UINT64_C(0) << (i & 63));
	while (!x) {
		if (++w >= s->words) {
			s->freeindex = s->nelems;
			return NONE_SLOT;
		}
		x = ~s->bits[w];
	}
	unsigned slot = (w << 6) + (unsigned)__builtin_ctzll(x);
	if (slot >= s->nelems) {
		s->freeindex = s->nelems;
		return NONE_SLOT;
	}
	s->bits[w] |= UINT64_C(1) << (slot & 63);
	s->freeindex = (uint16_t)(slot + 1);
	return slot;
}

/* Go clears a reused block before handing it out: the write of len bytes
 * at addr.  Returns addr, so an allocation ends in a tail call here; out
 * of line (noinline, a GCC/Clang attribute as __builtin_expect is), so
 * the mcache hit saves no registers for the call.  simos_touch's result
 * is not needed: an OOM is the engine's to see. */
__attribute__((noinline)) static uint64_t zero_block(struct span_heap *h,
						     uint64_t addr,
						     uint64_t len)
{
	simos_touch(h->env->os, addr, len, NULL);
	return addr;
}

/* Slot slot of s, found free, to the program (5.2), not cleared. */
static inline uint64_t give_slot(struct span_heap *h, struct mspan *s,
				 unsigned slot)
{
	s->alloc_count++;
	h->mallocs++;
	h->total_alloc += s->elemsize;
	return s->base + slot * s->elemsize;
}

/* The same, cleared if the span needs it. */
static inline uint64_t take_slot(struct span_heap *h, struct mspan *s,
				 unsigned slot)
{
	uint64_t addr = give_slot(h, s, slot);
	return s->needzero ? zero_block(h, addr, s->elemsize) : addr;
}

/* A small object of span class spc when the cached span has no free
 * slot: a refill first.  Out of line, as zero_block, so the mcache hit
 * saves no registers. */
__attribute__((noinline)) static uint64_t alloc_refilled(struct span_heap *h,
							 unsigned p,
							 unsigned spc,
							 int clear)
{
	h->c[SPAN_C_cache_misses]++;
	struct mspan *s = mcache_refill(h, p, spc);
	if (!s)
		return 0;
	unsigned slot = next_free(s);
	return clear ? take_slot(h, s, slot) : give_slot(h, s, slot);
}

/* A small object of span class spc (5.2), cleared as Go's mallocgc
 * clears it when clear is set (a constant at each call). */
static inline uint64_t alloc_spc(struct span_heap *h, unsigned p,
				 unsigned spc, int clear)
{
	struct mspan *s = h->mc[p].alloc[spc];
	unsigned slot = s ? next_free(s) : NONE_SLOT;
	if (slot == NONE_SLOT)
		return alloc_refilled(h, p, spc, clear);
	h->c[SPAN_C_cache_hits]++;
	return clear ? take_slot(h, s, slot) : give_slot(h, s, slot);
}

/* A small object of class cls (5.2). */
static uint64_t alloc_small(struct span_heap *h, unsigned p, unsigned cls,
			    unsigned noscan)
{
	return alloc_spc(h, p, cls << 1 | noscan, 1);
}

/* Go's tinySpanClass: class 2 (16 bytes), noscan. */
#define TINY_SPC (SC_TINY_CLASS << 1 | 1u)

uint64_t span_tiny_block(void *self, uint32_t tid)
{
	struct span_heap *h = self;
	return alloc_spc(h, span_p_of(tid, h->nprocs), TINY_SPC, 0);
}

/* A large object (5.3): its own span of whole pages.  Out of line, as
 * zero_block, so a small allocation saves no registers for it. */
__attribute__((noinline)) static uint64_t alloc_large(struct span_heap *h,
						      unsigned p,
						      uint64_t size,
						      uint64_t align,
						      unsigned noscan,
						      uint64_t *usable)
{
	uint64_t extra = align > SC_PAGE ? align - SC_PAGE : 0;
	uint64_t npages = (size + extra + SC_PAGE - 1) / SC_PAGE;
	sweep_credit(h, npages * SC_PAGE, npages);
	struct mspan *s = heap_alloc_span(h, p, npages, noscan, 1,
					  npages * SC_PAGE);
	if (!s)
		return 0;
	s->alloc_count = 1;
	s->freeindex = 1;
	s->bits[0] = 1;
	set_push(h, &h->central[noscan].full[swept_ix(h)], s);
	h->c[SPAN_C_large_allocs]++;
	h->c[SPAN_C_cache_misses]++;   /* the mcache cannot serve it */
	h->mallocs++;
	h->total_alloc += s->elemsize;
	h->heap_live += s->elemsize;
	uint64_t addr = align > SC_PAGE ? (s->base + align - 1) & ~(align - 1)
					: s->base;
	*usable = s->base + s->elemsize - addr;
	return s->needzero ? zero_block(h, addr, size) : addr;
}

/* The class for an aligned small request, or 0 to go large. */
static unsigned aligned_class(const struct span_heap *h, uint64_t size,
			      uint64_t align)
{
	unsigned c = sc_class_of(&h->sc, size);
	if (align <= 8)
		return c;
	for (; c < SC_NCLASSES; c++)
		if (sc_size[c] % align == 0)
			return c;
	return 0;
}

static uint64_t span_alloc(void *self, uint32_t tid, uint64_t size,
			   uint64_t align, unsigned flags, uint64_t *usable)
{
	struct span_heap *h = self;
	unsigned p = span_p_of(tid, h->nprocs);
	unsigned noscan = (flags & STRAT_NOSCAN) ? 1 : 0;
	if (size == 0)
		size = 8;   /* simplification 5 */
	if (size <= SC_MAX_SMALL && align <= SC_PAGE) {
		unsigned cls = aligned_class(h, size, align);
		if (cls) {
			*usable = sc_size[cls];
			return alloc_small(h, p, cls, noscan);
		}
	}
	return alloc_large(h, p, size, align, noscan, usable);
}

/* ==== free ================================================================ */

static void span_free(void *self, uint32_t tid, uint64_t addr, uint64_t usable)
{
	struct span_heap *h = self;
	(void)tid; (void)usable;
	struct mspan *s = h->spanmap[page_of(h, addr)];
	uint64_t slot = sc_index(&h->sc, s->spc >> 1, addr - s->base);
	s->bits[slot >> 6] &= ~(UINT64_C(1) << (slot & 63));
	if (h->in_mark) {            /* marking: swept later */
		s->pending++;
		h->pending_bytes += s->elemsize;
		return;
	}
	s->alloc_count--;
	s->needzero = 1;
	h->frees++;
	h->total_free += s->elemsize;
	if (s->cached)
		return;
	if (s->alloc_count == 0) {
		heap_free_span(h, s);
	} else if (s->alloc_count == s->nelems - 1) {
		set_remove(h, s);       /* full -> partial */
		set_push(h, &h->central[s->spc].partial[swept_ix(h)], s);
	}
}

/* ==== GC hooks ============================================================ */

/* GC start (11.1.2): finish the previous cycle's sweep; marking begins. */
static void span_gc_begin(void *self)
{
	struct span_heap *h = self;
	sweep_all(h);
	h->in_mark = 1;
}

/* Mark termination (11.1.5) and the start of the sweep phase. */
static void span_gc_end(void *self)
{
	struct span_heap *h = self;
	struct pacer *pc = &h->pacer;
	h->in_mark = 0;
	h->sweepgen += 2;
	h->sweep_done = 0;
	h->sweep_spc = 0;
	h->pages_swept = 0;
	h->reclaim_cursor = 0;
	h->reclaim_credit = 0;
	h->num_gc++;
	uint64_t lo, last_goal = heap_goal(h, &lo);
	pc->marked = h->total_alloc - h->total_free - h->pending_bytes;
	h->heap_live = pc->marked;
	h->last_heap_inuse = h->heap_inuse;
	pc->gogc_goal = gogc_goal(pc, pc->marked);
	pc->min_trigger = h->heap_live + MIB;
	pc->committed = 1;
	h->scav_goal = scav_gogc_goal(h, heap_goal(h, &lo), last_goal);
	h->scav_awake = 1;
	uint64_t trig = heap_trigger(h);
	int64_t dist = (int64_t)trig - (int64_t)h->heap_live - (int64_t)MIB;
	if (dist < (int64_t)SC_PAGE)
		dist = SC_PAGE;
	h->pages_per_byte = (double)h->pages_in_use / (double)dist;
	h->live_basis = h->heap_live;
	h->swept_basis = 0;
	for (unsigned p = 0; p < h->nprocs; p++)
		mcache_flush(h, p);
	if (!h->lazy)
		sweep_all(h);
}

/* ==== checkpoints (ABI v2) ================================================= */

/* ReadMemStats (13) stops the world and releases every P's mcache first
 * (6.2 (b)): the counters are exact anyway, but every class refills at its
 * next allocation. */
static void span_flush(void *self)
{
	struct span_heap *h = self;
	for (unsigned p = 0; p < h->nprocs; p++)
		mcache_flush(h, p);
}

/* debug.FreeOSMemory after its forced GC (10.5): the sweep is finished,
 * then every free page of the page allocator is scavenged; free pages in
 * the P page caches stay (Go measured 9 of them left unreleased). */
static void span_release_os(void *self)
{
	struct span_heap *h = self;
	if (!h->in_mark)
		sweep_all(h);
	scavenge(h, h->heap_free);
}

/* ==== the scavenger on the simulated clock ============================= */

/* Background work on the simulated clock: the background sweeper
 * finishes the cycle's sweep at the first tick after it (Go's bgsweep runs
 * whenever a P is idle), then the scavenger (10.2) releases scav_rate
 * bytes per second per P while the heap retains more than the goals
 * allow. */
static void span_tick(void *self, uint64_t now_ns)
{
	struct span_heap *h = self;
	uint64_t last = h->scav_last_ns;
	h->scav_last_ns = now_ns;
	if (!h->sweep_done && !h->in_mark)
		sweep_all(h);
	if (!h->scavenge || !h->scav_awake) {
		h->scav_credit = 0;  /* a parked scavenger saves no time */
		return;
	}
	uint64_t excess = scav_excess(h);
	uint64_t lg = scav_limit_goal(h), mr = mapped_ready(h);
	if (mr > lg)
		excess = max_u64(excess, mr - lg);
	if (!excess) {
		h->scav_awake = 0;
		return;
	}
	/* Go paces by the work time of what was released, so a step that
	 * released more than asked (a huge page) delays the next ones: the
	 * credit goes negative and has to be earned back. */
	unsigned __int128 earned = (unsigned __int128)h->scav_rate * h->nprocs *
				   (now_ns - last) / 1000000000u;
	h->scav_credit += earned > INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)earned;
	if (h->scav_credit <= 0)
		return;
	uint64_t want = min_u64(excess, (uint64_t)h->scav_credit);
	uint64_t got = scavenge(h, want);
	h->scav_credit = got > want ? h->scav_credit - (int64_t)got : 0;
	if (!got)
		h->scav_awake = 0;
}

/* ==== init, counters, check ================================================ */

static int span_init(void *self, const struct strategy_env *env,
		     const union param_value *params, struct sim_err *err)
{
	struct span_heap *h = self;
	h->env = env;
	h->pa.env = env;
	sc_tables_init(&h->sc);
	h->nprocs = (unsigned)params[SPAN_P_GOMAXPROCS].i;
	h->pacer.gogc = params[SPAN_P_GOGC].i;
	h->pacer.memlimit = (uint64_t)params[SPAN_P_MEMLIMIT].i;
	h->lazy = params[SPAN_P_LAZY].i != 0;
	h->scavenge = params[SPAN_P_SCAVENGE].i != 0;
	h->scav_rate = (uint64_t)params[SPAN_P_SCAV_RATE].i;
	h->nonheap = (uint64_t)params[SPAN_P_NONHEAP].i;
	h->pacer.roots = (uint64_t)params[SPAN_P_STACK_SCAN].i +
			 (uint64_t)params[SPAN_P_GLOBALS_SCAN].i;
	h->pacer.runway = pacer_runway(params);
	h->pacer.gogc_goal = gogc_goal(&h->pacer, 0);
	h->scav_goal = UINT64_MAX;
	h->next_hint = SPAN_HEAP_BASE;
	h->sweepgen = 4;   /* so sweepgen - 2 never wraps */
	h->sweep_done = 1;
	h->mc = strat_halloc(env, h->nprocs * sizeof *h->mc);
	if (!h->mc)
		return SIM_ERR(err, SIM_ENOMEM, "span: out of host memory");
	memset(h->mc, 0, h->nprocs * sizeof *h->mc);
	return SIM_OK;
}

static void span_fini(void *self)
{
	struct span_heap *h = self;
	for (uint64_t i = 0; i < h->pa.npages; i++) {
		struct mspan *s = h->spanmap[i];
		if (s && page_of(h, s->base) == i) {
			h->spanmap[i] = NULL;
			span_recycle(h, s);
		}
	}
	while (h->slabs) {
		struct slab *sl = h->slabs;
		h->slabs = sl->next;
		strat_hfree(h->env, sl, SLAB_BYTES);
	}
	uint64_t cap = h->pa.cap;
	strat_hfree(h->env, h->spanmap, cap * sizeof *h->spanmap);
	strat_hfree(h->env, h->zeroed, cap / ARENA_PAGES * 8);
	strat_hfree(h->env, h->mc, h->nprocs * sizeof *h->mc);
	pa_fini(&h->pa);
}

static uint64_t meta_bytes(const struct span_heap *h)
{
	return h->nspans * MSPAN_BYTES + (uint64_t)h->nprocs * MCACHE_BYTES +
	       h->arenas * ARENA_META;
}

/* Go's mappedReady: Ready heap memory plus metadata and the other memory
 * of the program (simplification 2: the nonheap parameter). */
static uint64_t mapped_ready_meta(const struct span_heap *h, uint64_t meta)
{
	return h->heap_inuse + h->heap_free + meta + h->nonheap;
}

static uint64_t mapped_ready(const struct span_heap *h)
{
	return mapped_ready_meta(h, meta_bytes(h));
}

static void span_counters(void *self, uint64_t *v)
{
	struct span_heap *h = self;
	uint64_t lo;
	/* the event counters up to heap_alloc, then the MemStats (the engine
	 * reads them after every allocation in GC mode) */
	memcpy(v, h->c, SPAN_C_heap_alloc * sizeof *v);
	v[SPAN_C_large_allocs] = h->c[SPAN_C_large_allocs];
	v[SPAN_C_scav_released] = h->c[SPAN_C_scav_released];
	v[SPAN_C_heap_alloc] = h->total_alloc - h->total_free;
	v[SPAN_C_heap_sys] = h->heap_inuse + h->heap_free + h->heap_released;
	v[SPAN_C_heap_idle] = h->heap_free + h->heap_released;
	v[SPAN_C_heap_inuse] = h->heap_inuse;
	v[SPAN_C_heap_released] = h->heap_released;
	v[SPAN_C_heap_objects] = h->mallocs - h->frees;
	v[SPAN_C_mallocs] = h->mallocs;
	v[SPAN_C_frees] = h->frees;
	v[SPAN_C_total_alloc] = h->total_alloc;
	v[SPAN_C_num_gc] = h->num_gc;
	v[SPAN_C_next_gc] = heap_goal(h, &lo);
	v[SPAN_C_heap_live] = h->heap_live;
	v[SPAN_C_heap_marked] = h->pacer.marked;
	uint64_t meta = meta_bytes(h);
	v[SPAN_C_mapped_ready] = mapped_ready_meta(h, meta);
	v[SPAN_C_meta_bytes] = meta;
}

/* One counter: heap_live directly (the pacer reads it after every
 * allocation in GC mode), any other from the whole set. */
static uint64_t span_counter(void *self, size_t i)
{
	struct span_heap *h = self;
	if (i == SPAN_C_heap_live)
		return h->heap_live;
	uint64_t v[SPAN_NCOUNTERS];
	span_counters(self, v);
	return v[i];
}

/* A span's place agrees with its state: cached in its P's mcache, or in
 * the swept or unswept set its sweepgen says. */
static int check_place(const struct span_heap *h, const struct mspan *s,
		       struct sim_err *err)
{
	const struct mcentral *c = &h->central[s->spc];
	unsigned sw = swept_ix(h);
	int ok;
	if (s->cached)
		ok = s->sweepgen == h->sweepgen + 3 || s->sweepgen == h->sweepgen + 1;
	else if (s->sweepgen == h->sweepgen)
		ok = s->set == set_code(h, &c->partial[sw]) ||
		     s->set == set_code(h, &c->full[sw]);
	else
		ok = s->sweepgen == h->sweepgen - 2 &&
		     (s->set == set_code(h, &c->partial[!sw]) ||
		      s->set == set_code(h, &c->full[!sw]));
	if (!ok)
		return SIM_ERR(err, SIM_ECHECK, "span: span at 0x%llx (sweepgen %u, "
			       "heap %u) is in the wrong set",
			       (unsigned long long)s->base, s->sweepgen, h->sweepgen);
	return SIM_OK;
}

/* Free and scavenged pages (the bitmap's and the page caches') agree with
 * heapFree and heapReleased. */
static int check_pages(const struct span_heap *h, struct sim_err *err)
{
	uint64_t freep = 0, scav = 0;
	for (uint64_t w = 0; w < h->pa.npages / 64; w++) {
		uint64_t f = ~h->pa.inuse[w];
		freep += (uint64_t)__builtin_popcountll(f);
		scav += (uint64_t)__builtin_popcountll(f & h->pa.scav[w]);
	}
	for (unsigned p = 0; p < h->nprocs; p++) {
		freep += (uint64_t)__builtin_popcountll(h->mc[p].pc.free);
		scav += (uint64_t)__builtin_popcountll(h->mc[p].pc.scav);
	}
	if (freep * SC_PAGE != h->heap_free + h->heap_released ||
	    scav * SC_PAGE != h->heap_released)
		return SIM_ERR(err, SIM_ECHECK, "span: %llu free pages (%llu "
			       "scavenged), heapFree %llu, heapReleased %llu",
			       (unsigned long long)freep, (unsigned long long)scav,
			       (unsigned long long)h->heap_free,
			       (unsigned long long)h->heap_released);
	return SIM_OK;
}

/* Walk every span: the page map, the bitmaps, the sets and the accounting
 * agree. */
static int span_check(void *self, struct sim_err *err)
{
	struct span_heap *h = self;
	uint64_t inuse = 0, objs = 0;
	for (uint64_t i = 0; i < h->pa.npages;) {
		struct mspan *s = h->spanmap[i];
		if (!s) {
			i++;
			continue;
		}
		if (page_of(h, s->base) != i || s->npages == 0)
			return SIM_ERR(err, SIM_ECHECK, "span: bad span map at page %llu",
				       (unsigned long long)i);
		uint64_t bits = pa_bits_count(s->bits, 0, s->nelems);
		if (bits + s->pending != s->alloc_count)
			return SIM_ERR(err, SIM_ECHECK,
				       "span: span at 0x%llx counts %u objects, bitmap %llu",
				       (unsigned long long)s->base, s->alloc_count,
				       (unsigned long long)bits);
		int rc = check_place(h, s, err);
		if (rc != SIM_OK)
			return rc;
		inuse += s->npages * SC_PAGE;
		objs += s->alloc_count;
		i += s->npages;
	}
	int rc = check_pages(h, err);
	if (rc != SIM_OK)
		return rc;
	if (inuse != h->heap_inuse)
		return SIM_ERR(err, SIM_ECHECK, "span: heap_inuse %llu, spans %llu",
			       (unsigned long long)h->heap_inuse,
			       (unsigned long long)inuse);
	uint64_t sys = h->pa.npages * SC_PAGE;
	if (h->heap_inuse + h->heap_free + h->heap_released != sys)
		return SIM_ERR(err, SIM_ECHECK, "span: heap accounting off");
	if (objs != h->mallocs - h->frees)
		return SIM_ERR(err, SIM_ECHECK, "span: %llu objects in spans, "
			       "mallocs - frees = %llu", (unsigned long long)objs,
			       (unsigned long long)(h->mallocs - h->frees));
	return SIM_OK;
}

const struct strategy_ops strategy_span = {
	.abi_version = STRATEGY_ABI_VERSION,
	.name = "span",
	.summary = "Go 1.19 size classes, spans, mcache/mcentral/mheap (no tiny path)",
	.state_size = sizeof(struct span_heap),
	.params = span_params,
	.counter_names = span_counter_names,
	.reclaim_default = SIM_RECLAIM_GC,
	.max_align = 8,
	.init = span_init,
	.fini = span_fini,
	.alloc = span_alloc,
	.free = span_free,
	.gc_begin = span_gc_begin,
	.gc_end = span_gc_end,
	.tick = span_tick,
	.check = span_check,
	.counters = span_counters,
	.flush = span_flush,
	.release_os = span_release_os,
	.counter = span_counter,
};
