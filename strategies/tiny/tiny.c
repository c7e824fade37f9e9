/*
 * tiny.c - Go 1.19's tiny allocator (go-allocator.md 5.1, malloc.go
 * mallocgc) as a front end composed over the span strategy: pointer-free
 * requests under 16 bytes are packed into 16-byte blocks; everything else
 * goes to span unchanged.  `tiny` is what a Go program runs; `span` is the
 * same allocator without this path.
 *
 * Composition: tiny holds a span instance (span's state, obtained through
 * env->halloc) and calls it through span's own ops table, strategy_span,
 * except for a new tiny block, which span_tiny_block (span.h) hands out;
 * the parameters and counters are span's (strategies/span/span.h) plus
 * tiny's own.  A tiny block is an ordinary 16-byte noscan object of span
 * class 5, so HeapAlloc counts 16 bytes per block.
 *
 * Per P: the current block and the offset of its free tail.  A request of
 * size 1..15 is aligned within the block to 8 if size%8 == 0, else 4 if
 * size%4 == 0, else 2 if even; it takes the current block when it fits
 * (a "tiny alloc": no span touched), else a new block, which becomes
 * current only when it has more room left than the old one (size <
 * old offset).  New blocks are zeroed (16 bytes written).
 *
 * Freeing: a block lives while any of its sub-objects does (Go's GC sees
 * only the block).  Each block has a count of live sub-objects; when it
 * falls to 0 and the block is not current, the block goes back to span.
 * In GC mode (between gc_begin and gc_end) this is marking, as for span.
 * At GC start the current block of every P is marked (it survives the
 * cycle even if all its sub-objects died); the mcache flush at mark
 * termination drops the current blocks; a marked block with no live
 * sub-object is then garbage for the next cycle, as in Go.
 *
 * Simplifications:
 *  1. Traces carry no pointer information: a request without
 *     STRAT_NOSCAN takes the tiny path too (as if every small object were
 *     pointer-free, which is what tools/goreplay allocates: []byte), unless
 *     noscan_only is set, when only STRAT_NOSCAN requests do.
 *  2. Size 0 is served as a 1-byte tiny object (Go returns one shared
 *     address); aligned requests above the tiny alignment go to span.
 *  3. A tiny sub-object reports its requested size as usable size.
 */
#include <inttypes.h>
#include <string.h>

#include "../span/span.h"

#define TINY_BLOCK 16u

/* A tiny block's state is one byte, in a map of the heap by 8 KiB window
 * (span's page: tiny blocks come from one-page spans of 512 16-byte
 * slots, so a window is a span and its blocks sit together).  The map is
 * indexed by address: a free of a sub-object finds its block's byte in
 * two dependent loads, with no probe run whose length branches. */
#define T_COUNT    0x1fu   /* live sub-objects, 0..16 */
#define T_LIVE     0x20u   /* the slot holds a tiny block */
#define T_CURRENT  0x40u   /* some P's current block */
#define T_PINNED   0x80u   /* current at GC start (marked) */
#define T_HELD     (T_COUNT | T_CURRENT | T_PINNED)   /* not garbage */

#define WIN_SHIFT  13u
#define WIN_SLOTS  (1u << (WIN_SHIFT - 4))

/* One window with a live tiny block; windows with none are not kept. */
struct twin {
	union {
		uint64_t nblocks;    /* T_LIVE slots */
		struct twin *next;   /* on the spare list */
	} u;
	uint8_t slot[WIN_SLOTS];
};

struct tiny_p {
	uint64_t tiny, off;      /* current block, its used bytes */
	uint64_t pinned;         /* the block current at GC start, or 0 */
};

struct tiny {
	const struct strategy_env *env;
	void *span;
	unsigned nprocs;
	int noscan_only, in_mark;
	struct tiny_p *ps;
	struct twin **wins;      /* by window index from SPAN_HEAP_BASE */
	uint64_t nwins;          /* entries in wins */
	struct twin *spare;      /* emptied windows, for reuse */
	uint64_t nalloced;       /* windows allocated (in use or spare) */
	uint64_t count;          /* live blocks */
	uint64_t *garbage;       /* blocks to free at the next marking */
	uint64_t ngarbage, gcap;
	uint64_t tiny_allocs, tiny_blocks;
};

static const struct strategy_param tiny_params[] = {
	SPAN_PARAMS,
	{"noscan_only", PARAM_BOOL, "false", 0, 1,
	 "only requests flagged noscan take the tiny path (traces carry no flags)"},
	{NULL, 0, NULL, 0, 0, NULL}
};
enum { TINY_P_NOSCAN_ONLY = SPAN_NPARAMS };

static const char *const tiny_counter_names[] = {
#define TINY_CTR_NAME(n) #n,
	SPAN_COUNTERS(TINY_CTR_NAME)
#undef TINY_CTR_NAME
	"tiny_allocs", "tiny_blocks", "tiny_live_blocks", NULL
};

/* ---- the block map -------------------------------------------------------- */

static uint64_t win_index(uint64_t addr)
{
	return (addr - SPAN_HEAP_BASE) >> WIN_SHIFT;
}

static uint8_t *slot_in(struct twin *w, uint64_t addr)
{
	return &w->slot[(addr >> 4) & (WIN_SLOTS - 1)];
}

/* addr's window, or NULL (no live block there, or not a heap address:
 * below the base the index wraps past nwins). */
static struct twin *win_at(const struct tiny *t, uint64_t addr)
{
	uint64_t i = win_index(addr);
	return i < t->nwins ? t->wins[i] : NULL;
}

/* The state byte of the live tiny block at addr, or NULL. */
static uint8_t *blk_find(const struct tiny *t, uint64_t addr)
{
	struct twin *w = win_at(t, addr);
	if (!w)
		return NULL;
	uint8_t *b = slot_in(w, addr);
	return *b & T_LIVE ? b : NULL;
}

/* Make the map cover window i.  0, or -1 when out of host memory. */
static int map_cover(struct tiny *t, uint64_t i)
{
	if (i < t->nwins)
		return 0;
	uint64_t n = t->nwins ? t->nwins : 1024;
	while (n <= i)
		n *= 2;
	struct twin **w = strat_hrealloc(t->env, t->wins,
					 t->nwins * sizeof *w, n * sizeof *w);
	if (!w)
		return -1;
	memset(w + t->nwins, 0, (n - t->nwins) * sizeof *w);
	t->wins = w;
	t->nwins = n;
	return 0;
}

/* A zeroed window: a spare one (whose slots its blocks' releases left 0)
 * or a new one. */
static struct twin *win_new(struct tiny *t)
{
	struct twin *w = t->spare;
	if (w) {
		t->spare = w->u.next;
		w->u.nblocks = 0;
		return w;
	}
	w = strat_halloc(t->env, sizeof *w);
	if (w) {
		memset(w, 0, sizeof *w);
		t->nalloced++;
	}
	return w;
}

/* Record a new block at addr: its state byte, or NULL when out of host
 * memory. */
static uint8_t *blk_add(struct tiny *t, uint64_t addr)
{
	uint64_t i = win_index(addr);
	if (map_cover(t, i) != 0)
		return NULL;
	if (!t->wins[i] && !(t->wins[i] = win_new(t)))
		return NULL;
	t->wins[i]->u.nblocks++;
	t->count++;
	uint8_t *b = slot_in(t->wins[i], addr);
	*b = T_LIVE;
	return b;
}

/* Forget the block at addr (its byte b); an emptied window is spared. */
static void blk_remove(struct tiny *t, uint64_t addr, uint8_t *b)
{
	uint64_t i = win_index(addr);
	struct twin *w = t->wins[i];
	*b = 0;
	t->count--;
	if (--w->u.nblocks == 0) {
		t->wins[i] = NULL;
		w->u.next = t->spare;
		t->spare = w;
	}
}

/* ---- blocks ------------------------------------------------------------- */

/* The block goes back to span (a free, or a mark during GC). */
static void blk_release(struct tiny *t, uint64_t addr, uint8_t *b)
{
	blk_remove(t, addr, b);
	strategy_span.free(t->span, 0, addr, TINY_BLOCK);
}

/* Block addr stops being some P's current block. */
static void uncurrent(struct tiny *t, uint64_t addr)
{
	uint8_t *b = blk_find(t, addr);
	*b &= (uint8_t)~T_CURRENT;
	if (!(*b & T_HELD))
		blk_release(t, addr, b);
}

/* Go's rule (8 if size%8 == 0, else 4 if size%4 == 0, else 2 if even)
 * is, for 1 <= size < 16, the lowest set bit of size: computed without a
 * branch, since the sizes a workload draws leave no pattern to predict. */
static uint64_t align_in_block(uint64_t off, uint64_t size)
{
	uint64_t a = size & -size;
	return (off + a - 1) & ~(a - 1);
}

/* The tiny path (5.1) for 1 <= size < 16.  Out of line (noinline, a
 * GCC/Clang attribute as __builtin_expect is), so tiny_alloc's other
 * requests, span's, are a tail call that saves no registers. */
__attribute__((noinline)) static uint64_t tiny_path(struct tiny *t,
						    uint32_t tid,
						    uint64_t size)
{
	struct tiny_p *tp = &t->ps[span_p_of(tid, t->nprocs)];
	uint64_t off = align_in_block(tp->off, size);
	if (tp->tiny && off + size <= TINY_BLOCK) {
		tp->off = off + size;
		t->tiny_allocs++;
		++*blk_find(t, tp->tiny);
		return tp->tiny + off;
	}
	uint64_t b = span_tiny_block(t->span, tid);
	uint8_t *e = b ? blk_add(t, b) : NULL;
	if (!e)
		return 0;
	/* its two words written (zeroed); an OOM is the engine's to see */
	simos_touch(t->env->os, b, TINY_BLOCK, NULL);
	*e |= 1;
	t->tiny_blocks++;
	if (!tp->tiny || size < tp->off) {
		uint64_t old = tp->tiny;
		*e |= T_CURRENT;
		tp->tiny = b;
		tp->off = size;
		if (old)
			uncurrent(t, old);
	}
	return b;
}

static uint64_t tiny_alloc(void *self, uint32_t tid, uint64_t size,
			   uint64_t align, unsigned flags, uint64_t *usable)
{
	struct tiny *t = self;
	uint64_t n = size ? size : 1;
	int ok = n < TINY_BLOCK && (!t->noscan_only || (flags & STRAT_NOSCAN));
	if (ok && (!align || align <= (n & -n))) {
		*usable = n;
		return tiny_path(t, tid, n);
	}
	return strategy_span.alloc(t->span, tid, size, align, flags, usable);
}

/* A free of an object smaller than a tiny block: inside one, or span's.
 * Out of line (noinline, a GCC/Clang attribute as __builtin_expect is),
 * so tiny_free's usual case, a free of span's own object, is a tail call
 * that saves no registers. */
__attribute__((noinline)) static void free_small(struct tiny *t, uint32_t tid,
						 uint64_t addr,
						 uint64_t usable)
{
	uint64_t block = addr & ~UINT64_C(15);
	uint8_t *b = blk_find(t, block);
	if (!b) {
		strategy_span.free(t->span, tid, addr, usable);
		return;
	}
	if (!(--*b & T_HELD))
		blk_release(t, block, b);
}

static void tiny_free(void *self, uint32_t tid, uint64_t addr, uint64_t usable)
{
	struct tiny *t = self;
	if (usable < TINY_BLOCK)
		free_small(t, tid, addr, usable);
	else
		strategy_span.free(t->span, tid, addr, usable);
}

/* ---- GC hooks ------------------------------------------------------------- */

/* GC start: last cycle's garbage blocks are freed by this marking; the
 * current block of every P is marked. */
static void tiny_gc_begin(void *self)
{
	struct tiny *t = self;
	strategy_span.gc_begin(t->span);
	t->in_mark = 1;
	for (uint64_t i = 0; i < t->ngarbage; i++) {
		uint8_t *b = blk_find(t, t->garbage[i]);
		if (b && !(*b & T_HELD))
			blk_release(t, t->garbage[i], b);
	}
	t->ngarbage = 0;
	for (unsigned p = 0; p < t->nprocs; p++) {
		struct tiny_p *tp = &t->ps[p];
		tp->pinned = tp->tiny;
		if (tp->tiny)
			*blk_find(t, tp->tiny) |= T_PINNED;
	}
}

static void add_garbage(struct tiny *t, uint64_t addr)
{
	if (t->ngarbage == t->gcap) {
		uint64_t ncap = t->gcap ? t->gcap * 2 : 16;
		uint64_t *g = strat_hrealloc(t->env, t->garbage, t->gcap * 8,
					     ncap * 8);
		if (!g)
			return;   /* host OOM: the block is kept (a leak) */
		t->garbage = g;
		t->gcap = ncap;
	}
	t->garbage[t->ngarbage++] = addr;
}

/* Drop every P's current block (the mcache flush). */
static void drop_current(struct tiny *t)
{
	for (unsigned p = 0; p < t->nprocs; p++) {
		struct tiny_p *tp = &t->ps[p];
		if (tp->tiny)
			uncurrent(t, tp->tiny);
		tp->tiny = tp->off = 0;
	}
}

/* Mark termination: the flush drops the current blocks; marked blocks
 * with no live sub-object are garbage for the next cycle. */
static void tiny_gc_end(void *self)
{
	struct tiny *t = self;
	t->in_mark = 0;
	drop_current(t);         /* marked blocks are pinned: none is freed */
	for (unsigned p = 0; p < t->nprocs; p++) {
		struct tiny_p *tp = &t->ps[p];
		if (!tp->pinned)
			continue;
		uint8_t *b = blk_find(t, tp->pinned);
		*b &= (uint8_t)~T_PINNED;
		if (!(*b & T_COUNT))
			add_garbage(t, tp->pinned);
		tp->pinned = 0;
	}
	strategy_span.gc_end(t->span);
}

/* ---- checkpoints (ABI v2) -------------------------------------------------- */

/* ReadMemStats: every P's current tiny block is dropped, then span
 * flushes the mcaches.  In immediate mode a dropped block whose
 * sub-objects are all freed goes back to span at once; in GC mode a
 * current block always holds a live sub-object between cycles (frees
 * arrive only while marking), so it lives on until they die. */
static void tiny_flush(void *self)
{
	struct tiny *t = self;
	drop_current(t);
	strategy_span.flush(t->span);
}

static void tiny_release_os(void *self)
{
	struct tiny *t = self;
	strategy_span.release_os(t->span);
}

/* ---- the rest of the ops ------------------------------------------------ */

/* Free the block map: its windows, in use and spare, and the map. */
static void map_free(struct tiny *t)
{
	for (uint64_t i = 0; i < t->nwins; i++)
		strat_hfree(t->env, t->wins[i], sizeof *t->wins[i]);
	while (t->spare) {
		struct twin *w = t->spare;
		t->spare = w->u.next;
		strat_hfree(t->env, w, sizeof *w);
	}
	strat_hfree(t->env, t->wins, t->nwins * sizeof *t->wins);
}

static int tiny_init(void *self, const struct strategy_env *env,
		     const union param_value *params, struct sim_err *err)
{
	struct tiny *t = self;
	t->env = env;
	t->nprocs = (unsigned)params[SPAN_P_GOMAXPROCS].i;
	t->noscan_only = params[TINY_P_NOSCAN_ONLY].i != 0;
	t->span = strat_halloc(env, strategy_span.state_size);
	t->ps = strat_halloc(env, t->nprocs * sizeof *t->ps);
	int rc = t->span && t->ps ? SIM_OK
				  : SIM_ERR(err, SIM_ENOMEM, "tiny: out of host memory");
	if (rc == SIM_OK) {
		memset(t->span, 0, strategy_span.state_size);
		memset(t->ps, 0, t->nprocs * sizeof *t->ps);
		rc = strategy_span.init(t->span, env, params, err);
	}
	if (rc != SIM_OK) {
		strat_hfree(env, t->span, strategy_span.state_size);
		strat_hfree(env, t->ps, t->nprocs * sizeof *t->ps);
		t->span = NULL;
	}
	return rc;
}

static void tiny_fini(void *self)
{
	struct tiny *t = self;
	if (!t->span)
		return;
	strategy_span.fini(t->span);
	strat_hfree(t->env, t->span, strategy_span.state_size);
	strat_hfree(t->env, t->ps, t->nprocs * sizeof *t->ps);
	map_free(t);
	strat_hfree(t->env, t->garbage, t->gcap * 8);
}

static void tiny_tick(void *self, uint64_t now_ns)
{
	struct tiny *t = self;
	strategy_span.tick(t->span, now_ns);
}

/* One window of the map: every slot's state is a block's (T_LIVE) or
 * 0, a live block holds at most 16 sub-objects, and the window's block
 * count is its T_LIVE slots.  Returns that count, or -1. */
static int64_t check_window(const struct twin *w)
{
	uint64_t n = 0;
	for (unsigned k = 0; k < WIN_SLOTS; k++) {
		uint8_t b = w->slot[k];
		if (b && (!(b & T_LIVE) || (b & T_COUNT) > TINY_BLOCK))
			return -1;
		n += b != 0;
	}
	return n && n == w->u.nblocks ? (int64_t)n : -1;
}

/* The block map against the live-block count and the Ps' current blocks;
 * spare windows are all zero. */
static int tiny_check(void *self, struct sim_err *err)
{
	struct tiny *t = self;
	uint64_t n = 0, nwin = 0;
	for (uint64_t i = 0; i < t->nwins; i++) {
		if (!t->wins[i])
			continue;
		int64_t k = check_window(t->wins[i]);
		if (k < 0)
			return SIM_ERR(err, SIM_ECHECK, "tiny: block map window "
				       "%" PRIu64 " inconsistent", i);
		n += (uint64_t)k;
		nwin++;
	}
	for (const struct twin *w = t->spare; w; w = w->u.next, nwin++)
		for (unsigned k = 0; k < WIN_SLOTS; k++)
			if (w->slot[k])
				return SIM_ERR(err, SIM_ECHECK,
					       "tiny: a spare window holds a block");
	if (n != t->count || nwin != t->nalloced)
		return SIM_ERR(err, SIM_ECHECK, "tiny: block map count off "
			       "(%" PRIu64 " blocks, %" PRIu64 " counted)",
			       t->count, n);
	for (unsigned p = 0; p < t->nprocs; p++) {
		const uint8_t *b = t->ps[p].tiny ? blk_find(t, t->ps[p].tiny) : NULL;
		if (t->ps[p].tiny && (!b || !(*b & T_CURRENT)))
			return SIM_ERR(err, SIM_ECHECK, "tiny: P %u's current "
				       "block is not marked current", p);
	}
	return strategy_span.check(t->span, err);
}

/* span's counters, with the tiny allocations Go counts in Mallocs and
 * Frees (sub-allocations are counted as freed at once, 13) and as mcache
 * hits. */
static void tiny_counters(void *self, uint64_t *v)
{
	struct tiny *t = self;
	strategy_span.counters(t->span, v);
	v[SPAN_C_mallocs] += t->tiny_allocs;
	v[SPAN_C_frees] += t->tiny_allocs;
	v[SPAN_C_cache_hits] += t->tiny_allocs;
	v[SPAN_NCOUNTERS] = t->tiny_allocs;
	v[SPAN_NCOUNTERS + 1] = t->tiny_blocks;
	v[SPAN_NCOUNTERS + 2] = t->count;
}

/* Counter i from the whole set.  Out of line (noinline, a GCC/Clang
 * attribute as __builtin_expect is): its array made tiny_counter set up a
 * stack frame for every read of heap_live, which now is a tail call. */
__attribute__((noinline)) static uint64_t adjusted_counter(void *self,
							   size_t i)
{
	uint64_t v[SPAN_NCOUNTERS + 3];
	tiny_counters(self, v);
	return v[i];
}

/* One counter: span's own for those tiny does not adjust (heap_live,
 * which the pacer reads after every allocation, among them). */
static uint64_t tiny_counter(void *self, size_t i)
{
	struct tiny *t = self;
	/* heap_live first: the pacer's read after every allocation */
	if (i == SPAN_C_heap_live ||
	    (i < SPAN_NCOUNTERS && i != SPAN_C_mallocs && i != SPAN_C_frees &&
	     i != SPAN_C_cache_hits))
		return strategy_span.counter(t->span, i);
	return adjusted_counter(self, i);
}

const struct strategy_ops strategy_tiny = {
	.abi_version = STRATEGY_ABI_VERSION,
	.name = "tiny",
	.summary = "Go 1.19 allocator with the tiny allocator (span + 16-byte tiny blocks)",
	.state_size = sizeof(struct tiny),
	.params = tiny_params,
	.counter_names = tiny_counter_names,
	.reclaim_default = SIM_RECLAIM_GC,
	.max_align = 8,
	.init = tiny_init,
	.fini = tiny_fini,
	.alloc = tiny_alloc,
	.free = tiny_free,
	.gc_begin = tiny_gc_begin,
	.gc_end = tiny_gc_end,
	.tick = tiny_tick,
	.check = tiny_check,
	.counters = tiny_counters,
	.flush = tiny_flush,
	.release_os = tiny_release_os,
	.counter = tiny_counter,
};
