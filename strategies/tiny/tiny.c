/*
 * tiny.c - Go 1.19's tiny allocator (go-allocator.md 5.1, malloc.go
 * mallocgc) as a front end composed over the span strategy: pointer-free
 * requests under 16 bytes are packed into 16-byte blocks; everything else
 * goes to span unchanged.  `tiny` is what a Go program runs; `span` is the
 * same allocator without this path.
 *
 * Composition: tiny holds a span instance (span's state, obtained through
 * env->halloc) and calls it through span's own ops table, strategy_span;
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
#include <string.h>

#include "../span/span.h"

#define TINY_BLOCK 16u
#define T_CURRENT  1u
#define T_PINNED   2u

/* Packed (a GCC/Clang attribute), 10 bytes a slot instead of 16: the
 * table is tiny's largest host structure, and x86 loads the unaligned
 * address in the same one instruction. */
struct __attribute__((packed)) tblk {   /* one live tiny block */
	uint64_t addr;           /* 0: empty slot */
	uint8_t count;           /* live sub-objects */
	uint8_t flags;           /* T_CURRENT, T_PINNED */
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
	struct tblk *tab;        /* open addressing, linear probing */
	uint64_t mask, count;
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

/* ---- the block table ------------------------------------------------------ */

static uint64_t slot_of(const struct tiny *t, uint64_t addr)
{
	return ((addr >> 4) * UINT64_C(0x9e3779b97f4a7c15)) >> 20 & t->mask;
}

static struct tblk *blk_find(const struct tiny *t, uint64_t addr)
{
	for (uint64_t i = slot_of(t, addr);; i = (i + 1) & t->mask) {
		if (t->tab[i].addr == addr)
			return &t->tab[i];
		if (!t->tab[i].addr)
			return NULL;
	}
}

static int blk_grow(struct tiny *t)
{
	uint64_t ncap = (t->mask + 1) * 2;
	struct tblk *old = t->tab;
	uint64_t ocap = t->mask + 1;
	struct tblk *tab = strat_halloc(t->env, ncap * sizeof *tab);
	if (!tab)
		return -1;
	memset(tab, 0, ncap * sizeof *tab);
	t->tab = tab;
	t->mask = ncap - 1;
	for (uint64_t i = 0; i < ocap; i++)
		if (old[i].addr) {
			uint64_t j = slot_of(t, old[i].addr);
			while (tab[j].addr)
				j = (j + 1) & t->mask;
			tab[j] = old[i];
		}
	strat_hfree(t->env, old, ocap * sizeof *old);
	return 0;
}

static struct tblk *blk_add(struct tiny *t, uint64_t addr)
{
	if ((t->count + 1) * 4 > (t->mask + 1) * 3 && blk_grow(t) != 0)
		return NULL;
	uint64_t i = slot_of(t, addr);
	while (t->tab[i].addr)
		i = (i + 1) & t->mask;
	t->tab[i] = (struct tblk){addr, 0, 0};
	t->count++;
	return &t->tab[i];
}

/* Remove e, shifting later entries of its probe run back. */
static void blk_remove(struct tiny *t, struct tblk *e)
{
	uint64_t i = (uint64_t)(e - t->tab);
	t->tab[i].addr = 0;
	t->count--;
	for (uint64_t j = (i + 1) & t->mask; t->tab[j].addr; j = (j + 1) & t->mask) {
		uint64_t h = slot_of(t, t->tab[j].addr);
		/* move j to i when its home h is not within (i, j]: j is at
		 * least as far from h as from i, cyclically */
		if (((j - h) & t->mask) >= ((j - i) & t->mask)) {
			t->tab[i] = t->tab[j];
			t->tab[j].addr = 0;
			i = j;
		}
	}
}

/* ---- blocks ------------------------------------------------------------- */

/* The block goes back to span (a free, or a mark during GC). */
static void blk_release(struct tiny *t, struct tblk *e)
{
	uint64_t addr = e->addr;
	blk_remove(t, e);
	strategy_span.free(t->span, 0, addr, TINY_BLOCK);
}

/* Block addr stops being some P's current block. */
static void uncurrent(struct tiny *t, uint64_t addr)
{
	struct tblk *e = blk_find(t, addr);
	e->flags &= (uint8_t)~T_CURRENT;
	if (!e->count && !(e->flags & T_PINNED))
		blk_release(t, e);
}

/* Go's rule (8 if size%8 == 0, else 4 if size%4 == 0, else 2 if even)
 * is, for 1 <= size < 16, the lowest set bit of size: computed without a
 * branch, since the sizes a workload draws leave no pattern to predict. */
static uint64_t align_in_block(uint64_t off, uint64_t size)
{
	uint64_t a = size & -size;
	return (off + a - 1) & ~(a - 1);
}

/* The tiny path (5.1) for 1 <= size < 16. */
static uint64_t tiny_path(struct tiny *t, uint32_t tid, uint64_t size)
{
	struct tiny_p *tp = &t->ps[span_p_of(tid, t->nprocs)];
	uint64_t off = align_in_block(tp->off, size);
	if (tp->tiny && off + size <= TINY_BLOCK) {
		tp->off = off + size;
		t->tiny_allocs++;
		blk_find(t, tp->tiny)->count++;
		return tp->tiny + off;
	}
	uint64_t u;
	uint64_t b = strategy_span.alloc(t->span, tid, TINY_BLOCK, 0,
					 STRAT_NOSCAN, &u);
	struct tblk *e = b ? blk_add(t, b) : NULL;
	if (!e)
		return 0;
	struct sim_err err;
	simos_touch(t->env->os, b, TINY_BLOCK, &err);   /* zeroed */
	e->count = 1;
	t->tiny_blocks++;
	if (!tp->tiny || size < tp->off) {
		uint64_t old = tp->tiny;
		e->flags |= T_CURRENT;
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
	struct tblk *e = blk_find(t, addr & ~UINT64_C(15));
	if (!e) {
		strategy_span.free(t->span, tid, addr, usable);
		return;
	}
	if (--e->count == 0 && !(e->flags & (T_CURRENT | T_PINNED)))
		blk_release(t, e);
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
		struct tblk *e = blk_find(t, t->garbage[i]);
		if (e && !e->count && !(e->flags & (T_CURRENT | T_PINNED)))
			blk_release(t, e);
	}
	t->ngarbage = 0;
	for (unsigned p = 0; p < t->nprocs; p++) {
		struct tiny_p *tp = &t->ps[p];
		tp->pinned = tp->tiny;
		if (tp->tiny)
			blk_find(t, tp->tiny)->flags |= T_PINNED;
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
		struct tblk *e = blk_find(t, tp->pinned);
		e->flags &= (uint8_t)~T_PINNED;
		if (!e->count)
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

static int tiny_init(void *self, const struct strategy_env *env,
		     const union param_value *params, struct sim_err *err)
{
	struct tiny *t = self;
	t->env = env;
	t->nprocs = (unsigned)params[SPAN_P_GOMAXPROCS].i;
	t->noscan_only = params[TINY_P_NOSCAN_ONLY].i != 0;
	t->span = strat_halloc(env, strategy_span.state_size);
	t->ps = strat_halloc(env, t->nprocs * sizeof *t->ps);
	t->mask = 1023;
	t->tab = strat_halloc(env, (t->mask + 1) * sizeof *t->tab);
	if (!t->span || !t->ps || !t->tab) {
		strat_hfree(env, t->span, strategy_span.state_size);
		strat_hfree(env, t->ps, t->nprocs * sizeof *t->ps);
		strat_hfree(env, t->tab, (t->mask + 1) * sizeof *t->tab);
		t->span = NULL;
		return SIM_ERR(err, SIM_ENOMEM, "tiny: out of host memory");
	}
	memset(t->span, 0, strategy_span.state_size);
	memset(t->ps, 0, t->nprocs * sizeof *t->ps);
	memset(t->tab, 0, (t->mask + 1) * sizeof *t->tab);
	int rc = strategy_span.init(t->span, env, params, err);
	if (rc != SIM_OK) {
		strat_hfree(env, t->span, strategy_span.state_size);
		strat_hfree(env, t->ps, t->nprocs * sizeof *t->ps);
		strat_hfree(env, t->tab, (t->mask + 1) * sizeof *t->tab);
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
	strat_hfree(t->env, t->tab, (t->mask + 1) * sizeof *t->tab);
	strat_hfree(t->env, t->garbage, t->gcap * 8);
}

static void tiny_tick(void *self, uint64_t now_ns)
{
	struct tiny *t = self;
	strategy_span.tick(t->span, now_ns);
}

static int tiny_check(void *self, struct sim_err *err)
{
	struct tiny *t = self;
	uint64_t n = 0;
	for (uint64_t i = 0; i <= t->mask; i++)
		if (t->tab[i].addr) {
			n++;
			if (blk_find(t, t->tab[i].addr) != &t->tab[i])
				return SIM_ERR(err, SIM_ECHECK,
					       "tiny: block table probe broken");
		}
	if (n != t->count)
		return SIM_ERR(err, SIM_ECHECK, "tiny: block table count off");
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
