/*
 * test_span.c - unit tests of the Go allocator model (strategies/span and
 * strategies/tiny) against the facts of go-allocator.md: the size-class
 * table (every row of tests/data/go-sizeclasses.csv) and the request
 * mapping, span bitmaps (lowest free slot, refill), the page allocator
 * (first fit, coalescing, scavenged bits, the per-P page cache example of
 * 8.2), heap growth and accounting (2.3, 9), and GC-mode sweeping.
 * Private headers of strategies/span are included directly (white box).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"
#include "gc.h"
#include "harness.h"
#include "pool.h"
#include "strategy.h"
#include "../strategies/span/pagealloc.h"
#include "../strategies/span/sizeclass.h"
#include "../strategies/span/span.h"

#define MIB ((uint64_t)1 << 20)
#define BASE UINT64_C(0xc000000000)

/* ---- a strategy instance on its own simulated OS ----------------------- */

struct fx {
	struct simos *os;
	struct strat s;
	struct strategy_env env;
	size_t live;
	uint64_t now;
	union param_value params[16];
	uint64_t ctr[64];
	struct sim_err err;
};

static void fx_open(struct fx *f, const struct strategy_ops *ops,
		    const char *const *kv)
{
	struct simos_config cfg;
	simos_config_default(&cfg);
	memset(f, 0, sizeof *f);
	assert_sim_ok(simos_create(&cfg, &f->os, &f->err), &f->err);
	f->env = (struct strategy_env){f->os, harness_halloc, &f->live, &f->now};
	assert_sim_ok(strat_params_default(ops, f->params, &f->err), &f->err);
	for (; kv && kv[0]; kv += 2)
		assert_sim_ok(strat_param_set(ops, f->params, kv[0], kv[1], &f->err),
			      &f->err);
	assert_sim_ok(strat_open(&f->s, ops, &f->env, f->params, &f->err),
		      &f->err);
}

static void fx_close(struct fx *f)
{
	assert_sim_ok(strat_check(&f->s, &f->err), &f->err);
	strat_close(&f->s);
	simos_destroy(f->os);
	assert_int_equal(f->live, 0);   /* every host byte given back */
}

static uint64_t ctr(struct fx *f, const char *name)
{
	strat_counters(&f->s, f->ctr);
	for (int i = 0; f->s.ops->counter_names[i]; i++)
		if (strcmp(f->s.ops->counter_names[i], name) == 0)
			return f->ctr[i];
	fail_msg("no counter %s", name);
	return 0;
}

static uint64_t al(struct fx *f, uint32_t tid, uint64_t size, uint64_t *usable)
{
	uint64_t u;
	uint64_t a = strat_alloc(&f->s, tid, size, 0, 0, usable ? usable : &u);
	assert_true(a != 0);
	return a;
}

/* ---- size classes ------------------------------------------------------ */

static void test_sizeclass_csv(void **state)
{
	(void)state;
	FILE *fp = fopen(harness_data("go-sizeclasses.csv"), "r");
	assert_non_null(fp);
	char line[256];
	assert_non_null(fgets(line, sizeof line, fp));   /* header */
	int rows = 0;
	while (fgets(line, sizeof line, fp)) {
		unsigned c, size, span, n, tail;
		double maxw;
		assert_int_equal(sscanf(line, "%u,%u,%u,%u,%u,%lf", &c, &size,
					&span, &n, &tail, &maxw), 6);
		assert_true(c >= 1 && c < SC_NCLASSES);
		assert_int_equal(sc_size[c], size);
		assert_int_equal(sc_npages[c] * SC_PAGE, span);
		assert_int_equal(sc_nelems(c), n);
		assert_int_equal(span - n * size, tail);
		double w = ((double)(size - sc_size[c - 1] - 1) * n + tail) / span;
		assert_true(w * 100 > maxw - 0.006 && w * 100 < maxw + 0.006);
		rows++;
	}
	fclose(fp);
	assert_int_equal(rows, SC_NCLASSES - 1);
}

static void test_sizeclass_mapping(void **state)
{
	(void)state;
	struct sc_tables t;
	sc_tables_init(&t);
	for (uint64_t n = 1; n <= SC_MAX_SMALL; n++) {
		unsigned c = sc_class_of(&t, n);
		assert_true(sc_size[c] >= n);
		assert_true(sc_size[c - 1] < n);
	}
	/* the measured spot checks of 4.2 */
	assert_int_equal(sc_size[sc_class_of(&t, 33)], 48);
	assert_int_equal(sc_size[sc_class_of(&t, 1024)], 1024);
	assert_int_equal(sc_size[sc_class_of(&t, 1025)], 1152);
	assert_int_equal(sc_class_of(&t, 32768), 67);
}

/* divMul gives every byte offset of a span of every class its object's
 * index, as the division would, and 0 for a large span (class 0). */
static void test_sizeclass_divmul(void **state)
{
	(void)state;
	struct sc_tables t;
	sc_tables_init(&t);
	for (unsigned c = 1; c < SC_NCLASSES; c++)
		for (uint64_t off = 0; off < sc_npages[c] * SC_PAGE; off++)
			if (sc_index(&t, c, off) != off / sc_size[c])
				fail_msg("class %u, offset %" PRIu64, c, off);
	assert_int_equal(sc_index(&t, 0, 5 * SC_PAGE + 17), 0);
	assert_int_equal(t.divmul[SC_TINY_CLASS], 268435456);   /* 2^32 / 16 */
}

/* ---- span bitmaps -------------------------------------------------------- */

static void test_span_slots(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, &strategy_span, NULL);
	/* the first span: one page of 1024 8-byte slots at the heap base */
	uint64_t first = al(&f, 0, 8, NULL);
	assert_int_equal(first, BASE);
	for (int i = 1; i < 1024; i++)
		assert_int_equal(al(&f, 0, 8, NULL), BASE + 8 * (uint64_t)i);
	assert_int_equal(ctr(&f, "cache_misses"), 1);
	assert_int_equal(ctr(&f, "cache_hits"), 1023);
	uint64_t b = al(&f, 0, 5, NULL);          /* a new span: refill */
	assert_int_equal(ctr(&f, "refills"), 2);
	assert_true(b >= BASE + 8192);
	/* free two slots of the full, uncached first span: it becomes
	 * partial and the next refill hands out its lowest free slot */
	strat_free(&f.s, 0, BASE + 8 * 700, 8);
	strat_free(&f.s, 0, BASE + 8 * 5, 8);
	for (int i = 1; i < 1024; i++)
		al(&f, 0, 8, NULL);
	assert_int_equal(al(&f, 0, 8, NULL), BASE + 8 * 5);
	assert_int_equal(al(&f, 0, 8, NULL), BASE + 8 * 700);
	assert_int_equal(ctr(&f, "heap_objects"), 2048);
	assert_int_equal(ctr(&f, "heap_alloc"), 2048 * 8);
	fx_close(&f);
}

/* Each P has its own mcache: two threads on two Ps use two spans. */
static void test_span_per_p(void **state)
{
	(void)state;
	struct fx f;
	const char *kv[] = {"gomaxprocs", "2", NULL};
	fx_open(&f, &strategy_span, kv);
	uint64_t a = al(&f, 0, 64, NULL), b = al(&f, 1, 64, NULL);
	uint64_t c = al(&f, 2, 64, NULL);        /* thread 2 runs on P 0 */
	assert_int_equal(c, a + 64);
	assert_true(b / 8192 != a / 8192);
	fx_close(&f);
}

/* ---- the page allocator ------------------------------------------------- */

static void pa_open(struct palloc *pa, struct strategy_env *env, size_t *live,
		    uint64_t pages)
{
	memset(pa, 0, sizeof *pa);
	*env = (struct strategy_env){NULL, harness_halloc, live, NULL};
	pa->env = env;
	assert_int_equal(pa_grow(pa, pages), 0);
}

static void test_pages_first_fit(void **state)
{
	(void)state;
	struct palloc pa;
	struct strategy_env env;
	size_t live = 0;
	pa_open(&pa, &env, &live, 1024);
	/* fresh pages are free and scavenged */
	assert_int_equal(pa_find(&pa, 10), 0);
	assert_int_equal(pa_alloc(&pa, 0, 10), 10);
	assert_int_equal(pa_alloc(&pa, 10, 10), 10);
	assert_int_equal(pa_alloc(&pa, 20, 10), 10);
	/* free the middle run: a 10-page request fits it, 11 pages do not */
	pa_free(&pa, 10, 10);
	assert_int_equal(pa_find(&pa, 10), 10);
	assert_int_equal(pa_find(&pa, 11), 30);
	/* freeing the first run coalesces: 20 pages at 0 */
	pa_free(&pa, 0, 10);
	assert_int_equal(pa_find(&pa, 20), 0);
	assert_int_equal(pa_find(&pa, 21), 30);
	/* freed pages are not scavenged: reusing them releases nothing */
	assert_int_equal(pa_alloc(&pa, 0, 20), 0);
	/* a run across the chunk boundary at page 512 */
	assert_int_equal(pa_alloc(&pa, 30, 470), 470);
	assert_int_equal(pa_alloc(&pa, 520, 100), 100);
	assert_int_equal(pa_find(&pa, 20), 500);
	assert_int_equal(pa_find(&pa, 21), 620);
	pa_fini(&pa);
	assert_int_equal(live, 0);
}

/* A chunk's summary as a page-by-page walk finds it. */
static struct pa_sum naive_sum(const struct palloc *pa, uint64_t c)
{
	uint64_t run = 0, max = 0, start = PA_CHUNK_PAGES;
	for (uint64_t i = 0; i < PA_CHUNK_PAGES; i++) {
		uint64_t p = c * PA_CHUNK_PAGES + i;
		if (!(pa->inuse[p >> 6] >> (p & 63) & 1)) {
			run++;
			max = run > max ? run : max;
		} else {
			start = start == PA_CHUNK_PAGES ? i : start;
			run = 0;
		}
	}
	return (struct pa_sum){(uint16_t)start, (uint16_t)max,
			       (uint16_t)(start == PA_CHUNK_PAGES ? PA_CHUNK_PAGES
								  : run)};
}

/* Summaries after runs of every length are taken and given back in a
 * fixed pseudo-random order, across word and chunk edges. */
static void test_pages_summaries(void **state)
{
	(void)state;
	struct palloc pa;
	struct strategy_env env;
	size_t live = 0;
	pa_open(&pa, &env, &live, 4 * PA_CHUNK_PAGES);
	uint64_t x = 88172645463325252u;
	for (int k = 0; k < 4000; k++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;   /* xorshift64 */
		uint64_t n = 1 + (x >> 8) % (k % 7 == 0 ? 600 : 40);
		uint64_t p = (x >> 24) % (pa.npages - n + 1);
		if (x & 1)
			pa_free(&pa, p, n);
		else
			pa_alloc(&pa, p, n);
		for (uint64_t c = 0; c < pa.npages / PA_CHUNK_PAGES; c++) {
			struct pa_sum want = naive_sum(&pa, c);
			assert_int_equal(pa.sum[c].start, want.start);
			assert_int_equal(pa.sum[c].max, want.max);
			assert_int_equal(pa.sum[c].end, want.end);
		}
	}
	pa_fini(&pa);
	assert_int_equal(live, 0);
}

/* The measured example of 8.2 (GOMAXPROCS=1). */
static void test_pages_cache(void **state)
{
	(void)state;
	struct palloc pa;
	struct strategy_env env;
	size_t live = 0;
	pa_open(&pa, &env, &live, 512);
	pa_alloc(&pa, 0, 57);
	struct pa_cache c;
	pa_cache_fill(&pa, &c);
	assert_int_equal(c.base, 0);
	assert_int_equal(__builtin_popcountll(c.free), 7);
	uint64_t scav = 0;
	assert_int_equal(pa_cache_alloc(&c, 5, &scav), 57);
	assert_int_equal(scav, 5);
	assert_int_equal(pa_cache_alloc(&c, 5, &scav), PA_NONE);
	assert_int_equal(pa_find(&pa, 5), 64);   /* global first fit */
	pa_alloc(&pa, 64, 5);
	assert_int_equal(pa_cache_alloc(&c, 1, &scav), 62);
	pa_fini(&pa);
	assert_int_equal(live, 0);
}

static void test_pages_scavenged(void **state)
{
	(void)state;
	struct palloc pa;
	struct strategy_env env;
	size_t live = 0;
	pa_open(&pa, &env, &live, 512);
	pa_alloc(&pa, 0, 512);
	pa_free(&pa, 100, 50);
	assert_int_equal(pa_scav_top(&pa, 512), 149);
	pa_bits_set(pa.scav, 140, 10, 1);       /* the scavenger took 10 */
	assert_int_equal(pa_scav_top(&pa, 512), 139);
	assert_int_equal(pa_alloc(&pa, 100, 50), 10);
	assert_int_equal(pa_bits_count(pa.scav, 0, 512), 0);
	pa_fini(&pa);
	assert_int_equal(live, 0);
}

/* ---- heap growth and accounting ------------------------------------------ */

static void test_heap_growth(void **state)
{
	(void)state;
	struct fx f;
	const char *kv[] = {"scavenge", "false", NULL};
	fx_open(&f, &strategy_span, kv);
	al(&f, 0, 100, NULL);
	/* one 4 MiB chunk mapped; one 8 KiB span in use */
	assert_int_equal(ctr(&f, "heap_sys"), 4 * MIB);
	assert_int_equal(ctr(&f, "heap_inuse"), 8192);
	assert_int_equal(ctr(&f, "heap_released"), 4 * MIB - 8192);
	assert_int_equal(ctr(&f, "heap_idle"), 4 * MIB - 8192);
	assert_int_equal(ctr(&f, "heap_alloc"), 112);
	/* a 5 MiB object adds exactly 8 MiB (2.3, measured) */
	uint64_t u;
	uint64_t big = al(&f, 0, 5 * MIB, &u);
	assert_int_equal(u, 5 * MIB);
	assert_int_equal(big, BASE + 8192);       /* first fit: page 1 */
	assert_int_equal(ctr(&f, "heap_sys"), 12 * MIB);
	/* a 70 MiB object adds 72 MiB and a second reservation of 64 MiB
	 * (two arenas of metadata in all) */
	uint64_t meta0 = ctr(&f, "meta_bytes");
	al(&f, 0, 70 * MIB, NULL);
	assert_int_equal(ctr(&f, "heap_sys"), 84 * MIB);
	assert_int_equal(ctr(&f, "meta_bytes") - meta0, 2 * 2165776 + 144);
	/* freeing a large object returns its pages as heapFree */
	strat_free(&f.s, 0, big, u);
	assert_int_equal(ctr(&f, "heap_inuse"), 8192 + 70 * MIB);
	assert_int_equal(ctr(&f, "heap_idle") - ctr(&f, "heap_released"), 5 * MIB);
	/* beyond the 256 GiB heap cap: out of memory, nothing changes */
	uint64_t sys0 = ctr(&f, "heap_sys");
	assert_int_equal(strat_alloc(&f.s, 0, (uint64_t)1 << 40, 0, 0, &u), 0);
	assert_int_equal(ctr(&f, "heap_sys"), sys0);
	/* large: 32769 bytes take 5 pages (4.2) and count whole pages */
	uint64_t a0 = ctr(&f, "heap_alloc");
	al(&f, 0, 32769, &u);
	assert_int_equal(u, 40960);
	assert_int_equal(ctr(&f, "heap_alloc") - a0, 40960);
	fx_close(&f);
}

/* Reused memory is zeroed (touched) by the allocator; fresh is not. */
static void test_needzero(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, &strategy_span, NULL);
	uint64_t a = al(&f, 0, 4096, NULL);
	assert_int_equal(simos_rss_bytes(f.os), 0);
	strat_free(&f.s, 0, a, 4096);
	uint64_t b = al(&f, 0, 4096, NULL);
	assert_int_equal(b, a + 4096);            /* the span's second slot */
	assert_int_equal(simos_rss_bytes(f.os), 4096);   /* needzero: cleared */
	strat_free(&f.s, 0, b, 4096);
	/* the empty cached span goes back to the heap at the flush of a GC
	 * cycle; its page comes back below zeroedBase, so needzero again */
	strat_gc_begin(&f.s);
	strat_gc_end(&f.s);
	assert_int_equal(ctr(&f, "heap_inuse"), 0);
	uint64_t c = al(&f, 0, 4096, NULL);
	assert_int_equal(c, a);
	assert_int_equal(simos_rss_bytes(f.os), 8192);
	fx_close(&f);
}

/* ---- GC-mode sweeping ------------------------------------------------------ */

static void test_gc_sweep(void **state)
{
	(void)state;
	struct fx f;
	const char *kv[] = {"lazy_sweep", "true", NULL};
	fx_open(&f, &strategy_span, kv);
	uint64_t obj[100];
	for (int i = 0; i < 100; i++)
		obj[i] = al(&f, 0, 1000, NULL);   /* class 1024: 8 per span */
	assert_int_equal(ctr(&f, "heap_inuse"), 13 * 8192);
	/* mark: all but object 0 die */
	strat_gc_begin(&f.s);
	for (int i = 1; i < 100; i++)
		strat_free(&f.s, 0, obj[i], 1024);
	assert_int_equal(ctr(&f, "heap_alloc"), 100 * 1024);   /* not swept */
	strat_gc_end(&f.s);
	assert_int_equal(ctr(&f, "num_gc"), 1);
	assert_int_equal(ctr(&f, "heap_marked"), 1024);
	assert_int_equal(ctr(&f, "heap_live"), 1024);
	/* the cached span was swept at the flush; the others lazily */
	assert_true(ctr(&f, "heap_alloc") > 1024);
	strat_gc_begin(&f.s);    /* the next cycle finishes the sweep */
	assert_int_equal(ctr(&f, "heap_alloc"), 1024);
	assert_int_equal(ctr(&f, "heap_inuse"), 8192);
	assert_int_equal(ctr(&f, "heap_objects"), 1);
	strat_gc_end(&f.s);
	assert_int_equal(ctr(&f, "next_gc"), 4 * MIB);
	fx_close(&f);
}

/* ---- the pacer (11.2-11.4) ------------------------------------------------- */

static void test_pacer_goals(void **state)
{
	(void)state;
	struct gc_pacer p;
	struct gc_heap h = {0, 0, 0, 0};
	uint64_t lo;
	gc_pacer_init(&p, 100, 0, NULL);
	assert_int_equal(gc_goal(&p, &h, &lo), 4 * MIB);
	assert_int_equal(gc_trigger(&p, &h), 3997696);   /* measured in Go */
	/* marked 10 MiB: goal 20 MiB, trigger at 61/64 of the way */
	gc_pacer_commit(&p, 10 * MIB, 10 * MIB);
	assert_int_equal(gc_goal(&p, &h, &lo), 20 * MIB);
	assert_int_equal(lo, 11 * MIB);
	assert_int_equal(gc_trigger(&p, &h), 10 * MIB + (10 * MIB / 64) * 61);
	/* marked 100 MiB: goal - 4 MiB is above the 61/64 point */
	gc_pacer_commit(&p, 100 * MIB, 100 * MIB);
	assert_int_equal(gc_trigger(&p, &h), 200 * MIB - 4 * MIB);
	/* a small marked heap: the 4 MiB minimum, raised to marked + 1 MiB */
	gc_pacer_commit(&p, 3 * MIB + MIB / 2, 3 * MIB + MIB / 2);
	assert_int_equal(gc_goal(&p, &h, &lo), 7 * MIB);
	gc_pacer_commit(&p, MIB, MIB);
	assert_int_equal(gc_goal(&p, &h, &lo), 4 * MIB);
	/* GOGC scales the minimum heap; 0 collects continuously */
	assert_int_equal(gc_gogc_goal(50, 0, 0), 2 * MIB);
	assert_int_equal(gc_gogc_goal(200, 3 * MIB, 0), 9 * MIB);
	assert_int_equal(gc_gogc_goal(0, 5 * MIB, 0), 5 * MIB);
	/* stacks and globals count in the goal (Go 1.19: NextGC 7,553,728 =
	 * 2 * 3,659,568 (HeapAlloc) + 226,672 (globals) + 7,920 (stack)) */
	assert_int_equal(gc_gogc_goal(100, 3659568, 7920 + 226672), 7553728);
	assert_int_equal(gc_gogc_goal(50, 10 * MIB, 2 * MIB), 16 * MIB);
	/* GOGC off: no goal, no trigger */
	gc_pacer_init(&p, -1, 0, NULL);
	assert_int_equal(gc_goal(&p, &h, &lo), UINT64_MAX);
	assert_true(gc_trigger(&p, &h) > UINT64_MAX / 2);
}

static void test_pacer_memlimit(void **state)
{
	(void)state;
	struct gc_pacer p;
	uint64_t lo;
	gc_pacer_init(&p, 100, 64 * MIB, NULL);
	/* 10 MiB of non-heap memory: goal = limit - 10 MiB - 1 MiB headroom */
	struct gc_heap h = {0, 40 * MIB, 60 * MIB, 10 * MIB};
	assert_int_equal(gc_limit_goal(&p, &h), 53 * MIB);
	gc_pacer_commit(&p, 10 * MIB, 10 * MIB);
	assert_int_equal(gc_goal(&p, &h, &lo), 20 * MIB);   /* GOGC wins */
	gc_pacer_commit(&p, 30 * MIB, 30 * MIB);
	assert_int_equal(gc_goal(&p, &h, &lo), 53 * MIB);   /* the limit */
	assert_int_equal(lo, 0);
	/* over the limit: the excess comes off too */
	struct gc_heap over = {0, 60 * MIB, 70 * MIB, 0};
	assert_int_equal(gc_limit_goal(&p, &over), 47 * MIB);
	/* nothing left: the goal is the marked heap */
	struct gc_heap full = {0, 0, 200 * MIB, 0};
	assert_int_equal(gc_limit_goal(&p, &full), 30 * MIB);
	/* GOGC off still respects the limit */
	gc_pacer_init(&p, -1, 64 * MIB, NULL);
	assert_int_equal(gc_goal(&p, &h, &lo), 53 * MIB);
	/* a goal below 2 MiB becomes 1 MiB */
	struct gc_heap tight = {0, 0, 63 * MIB, 0};
	assert_int_equal(gc_limit_goal(&p, &tight), MIB);
}

/* The trigger is goal - runway (11.3), runway = cons_mark * 3 * scan work,
 * inside [45/64, 61/64] of the way from the marked heap to the goal
 * (numbers of the first cycle of scripts/validate-go's "tiny" replay in
 * real Go 1.19, gcstoptheworld=1). */
static void test_pacer_runway(void **state)
{
	(void)state;
	struct gc_pacer p;
	struct gc_heap h = {0, 0, 0, 0};
	uint64_t lo;
	struct gc_scan scan = {0.5, 1000000, 0, 0};
	assert_int_equal(gc_runway(&scan), 1500000);
	scan.cons_mark = 0;
	assert_int_equal(gc_runway(&scan), 0);
	scan = (struct gc_scan){1e300, UINT64_MAX / 2, 0, 0};
	assert_int_equal(gc_runway(&scan), UINT64_MAX);
	/* marked 10 MiB, 256 KiB of stacks and globals: goal 20.25 MiB; a
	 * runway of 3 * 512 KiB triggers 1.5 MiB before it */
	scan = (struct gc_scan){1, MIB / 4, MIB / 8, MIB / 8};
	gc_pacer_init(&p, 100, 0, &scan);
	assert_int_equal(gc_trigger(&p, &h), 3997696);  /* consMark starts 0 */
	gc_pacer_commit(&p, 10 * MIB, 10 * MIB);
	assert_int_equal(gc_goal(&p, &h, &lo), 20 * MIB + MIB / 4);
	assert_int_equal(gc_trigger(&p, &h), 20 * MIB + MIB / 4 - 3 * MIB / 2);
	/* a runway longer than the bounds allow: the low bound, 45/64 */
	scan.cons_mark = 3;
	gc_pacer_init(&p, 100, 0, &scan);
	gc_pacer_commit(&p, 10 * MIB, 10 * MIB);
	assert_int_equal(gc_trigger(&p, &h), 10 * MIB + (41 * MIB / 4 / 64) * 45);
	/* longer than the goal: the low bound too */
	scan.cons_mark = 100;
	gc_pacer_init(&p, 100, 0, &scan);
	gc_pacer_commit(&p, 10 * MIB, 10 * MIB);
	assert_int_equal(gc_trigger(&p, &h), 10 * MIB + (41 * MIB / 4 / 64) * 45);
	/* a short one: the high bound, 61/64 */
	scan.cons_mark = 0.1;
	gc_pacer_init(&p, 100, 0, &scan);
	gc_pacer_commit(&p, 10 * MIB, 10 * MIB);
	assert_int_equal(gc_trigger(&p, &h), 10 * MIB + (41 * MIB / 4 / 64) * 61);
	/* Go 1.19 (gcpacertrace): scan work 1,636,360 + 7,632 + 226,672 B,
	 * cons/mark 7.75, the first replay cycle started at 3,438,968 B: the
	 * low bound of the 4 MiB goal for a marked heap of 1,650,038 B
	 * (HeapAlloc after the collection before it: 1,649,872 B) */
	scan = (struct gc_scan){7.75, 1636360, 7632, 226672};
	gc_pacer_init(&p, 100, 0, &scan);
	gc_pacer_commit(&p, 1650038, 1650038);
	assert_int_equal(gc_goal(&p, &h, &lo), 4 * MIB);
	assert_int_equal(gc_trigger(&p, &h), 3438968);
}

/* span's own copy of the arithmetic (for NextGC) agrees with gc.c. */
static void test_pacer_span_agrees(void **state)
{
	(void)state;
	struct fx f;
	const char *kv[] = {"memlimit", "48M", "stack_scan", "8000",
			    "globals_scan", "200K", NULL};
	fx_open(&f, &strategy_span, kv);
	uint64_t obj[3000];
	for (int i = 0; i < 3000; i++)
		obj[i] = al(&f, 0, 4000, NULL);
	strat_gc_begin(&f.s);
	for (int i = 0; i < 3000; i += 3)
		strat_free(&f.s, 0, obj[i], 4096);
	strat_gc_end(&f.s);
	struct gc_pacer p;
	struct gc_scan scan = {0.6, 0, 8000, 200 << 10};
	gc_pacer_init(&p, 100, 48 * MIB, &scan);
	gc_pacer_commit(&p, ctr(&f, "heap_marked"), ctr(&f, "heap_marked"));
	struct gc_heap h = {ctr(&f, "heap_live"), ctr(&f, "heap_alloc"),
			    ctr(&f, "mapped_ready"),
			    ctr(&f, "heap_idle") - ctr(&f, "heap_released")};
	uint64_t lo;
	assert_int_equal(ctr(&f, "heap_marked"), 2000 * 4096);
	assert_int_equal(ctr(&f, "next_gc"), gc_goal(&p, &h, &lo));
	assert_int_equal(ctr(&f, "next_gc"), 2 * 2000 * 4096 + 8000 + 204800);
	fx_close(&f);
}

/* ---- GC mode in the engine ---------------------------------------------- */

static struct engine *gc_engine(const struct strategy_ops *ops,
				union param_value *params, struct sim_err *err)
{
	struct engine_config cfg;
	engine_config_default(&cfg);
	cfg.reclaim = SIM_RECLAIM_GC;
	cfg.check = 1;
	struct engine *e = NULL;
	assert_sim_ok(strat_params_default(ops, params, err), err);
	assert_sim_ok(engine_create(&cfg, ops, params, &e, err), err);
	return e;
}

static void step(struct engine *e, uint8_t kind, uint64_t id, uint64_t size)
{
	struct sim_err err;
	struct sim_event ev = {kind, 0, 0, id, id, size, 0, NULL};
	assert_sim_ok(engine_step(e, &ev, &err), &err);
}

/* The first cycle starts at the refill that takes heapLive to 3,997,696
 * bytes: 488 spans of 128 64-byte objects. */
static void test_gc_first_trigger(void **state)
{
	(void)state;
	union param_value params[16];
	struct sim_err err;
	struct engine *e = gc_engine(&strategy_span, params, &err);
	uint64_t id = 1;
	for (; id <= 487 * 128; id++)
		step(e, EV_ALLOC, id, 64);
	assert_int_equal(engine_stats(e)->gc_cycles, 0);
	step(e, EV_ALLOC, id++, 64);
	assert_int_equal(engine_stats(e)->gc_cycles, 1);
	/* a forced cycle */
	step(e, EV_GC, 0, 0);
	assert_int_equal(engine_stats(e)->gc_cycles, 2);
	assert_sim_ok(engine_finish(e, &err), &err);
	engine_destroy(e);
}

/* Garbage is collected: a churning workload stays within a small heap
 * (span), and dead bytes are gone after a forced cycle, with any strategy. */
static void gc_churn(const struct strategy_ops *ops, uint64_t max_heap)
{
	union param_value params[16];
	struct sim_err err;
	struct engine *e = gc_engine(ops, params, &err);
	for (uint64_t i = 1; i <= 200000; i++) {
		step(e, EV_ALLOC, i, 16 + i % 2000);
		if (i > 100)
			step(e, EV_FREE, i - 100, 0);
	}
	const struct sim_stats *st = engine_stats(e);
	assert_true(st->gc_cycles > 10);
	assert_true(st->peak.heap_bytes <= max_heap);
	step(e, EV_GC, 0, 0);
	assert_int_equal(st->cur.dead_bytes, 0);
	assert_int_equal(st->cur.live_objects, 100);
	assert_sim_ok(engine_finish(e, &err), &err);
	engine_destroy(e);
}

static void test_gc_churn(void **state)
{
	(void)state;
	gc_churn(&strategy_span, 16 * MIB);
	gc_churn(strategy_find("bump"), UINT64_MAX);   /* bump never reuses */
}

/* ---- the tiny allocator (5.1) ------------------------------------------ */

extern const struct strategy_ops strategy_tiny;

static uint64_t tal(struct fx *f, uint64_t size)
{
	uint64_t u;
	uint64_t a = strat_alloc(&f->s, 0, size, 0, STRAT_NOSCAN, &u);
	assert_true(a != 0);
	assert_int_equal(u, size);
	return a;
}

/* The measured sequence of 5.1. */
static void test_tiny_alignment(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, &strategy_tiny, NULL);
	uint64_t b = tal(&f, 1);
	assert_int_equal(b % 16, 0);
	assert_int_equal(tal(&f, 3), b + 1);
	assert_int_equal(tal(&f, 4), b + 4);
	assert_int_equal(tal(&f, 8), b + 8);
	uint64_t b2 = tal(&f, 12);               /* new block, now current */
	assert_int_equal(b2, b + 16);
	assert_int_equal(tal(&f, 1), b2 + 12);
	uint64_t b3 = tal(&f, 15);               /* new block, old kept */
	assert_int_equal(b3, b + 32);
	assert_int_equal(tal(&f, 2), b2 + 14);
	uint64_t b4 = tal(&f, 8);                /* new block, current */
	assert_int_equal(b4, b + 48);
	assert_int_equal(tal(&f, 8), b4 + 8);
	/* 16 bytes and pointerful requests do not take the tiny path */
	uint64_t u;
	assert_int_equal(strat_alloc(&f.s, 0, 16, 0, STRAT_NOSCAN, &u), b + 64);
	assert_int_equal(ctr(&f, "tiny_blocks"), 4);
	assert_int_equal(ctr(&f, "tiny_allocs"), 6);
	fx_close(&f);
}

/* 1600 8-byte noscan allocations: Mallocs +1600, HeapObjects +800,
 * HeapAlloc +12800 (measured). */
static void test_tiny_memstats(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, &strategy_tiny, NULL);
	for (int i = 0; i < 1600; i++)
		tal(&f, 8);
	assert_int_equal(ctr(&f, "mallocs"), 1600);
	assert_int_equal(ctr(&f, "heap_objects"), 800);
	assert_int_equal(ctr(&f, "heap_alloc"), 12800);
	fx_close(&f);
}

/* A block lives while a sub-object does; the current block survives the
 * cycle that finds it empty, and the next one collects it. */
static void test_tiny_gc(void **state)
{
	(void)state;
	struct fx f;
	const char *kv[] = {"lazy_sweep", "false", NULL};
	fx_open(&f, &strategy_tiny, kv);
	uint64_t x = tal(&f, 8);                 /* block 1, current */
	uint64_t y = tal(&f, 12);                /* block 2 (12 >= 8) */
	uint64_t z = tal(&f, 4);                 /* block 1 again */
	uint64_t w = tal(&f, 12);                /* block 3 */
	assert_int_equal(z, x + 8);
	strat_gc_begin(&f.s);
	strat_free(&f.s, 0, x, 8);
	strat_free(&f.s, 0, z, 4);               /* block 1: marked current */
	strat_free(&f.s, 0, y, 12);              /* block 2 dies */
	strat_gc_end(&f.s);
	assert_int_equal(ctr(&f, "heap_objects"), 2);
	strat_gc_begin(&f.s);                    /* block 1 is garbage now */
	strat_free(&f.s, 0, w, 12);
	strat_gc_end(&f.s);
	assert_int_equal(ctr(&f, "heap_objects"), 0);
	assert_int_equal(ctr(&f, "heap_alloc"), 0);
	assert_int_equal(ctr(&f, "tiny_live_blocks"), 0);
	fx_close(&f);
}

/* Immediate mode: a block goes back when its last sub-object is freed and
 * it is not current. */
static void test_tiny_immediate(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, &strategy_tiny, NULL);
	uint64_t a = tal(&f, 12);                /* block 1, current */
	strat_free(&f.s, 0, a, 12);
	assert_int_equal(ctr(&f, "heap_objects"), 1);   /* still current */
	uint64_t b = tal(&f, 8);                 /* block 2 becomes current */
	assert_int_equal(ctr(&f, "heap_objects"), 1);   /* block 1 went back */
	assert_int_equal(b, a + 16);
	strat_free(&f.s, 0, b, 8);
	fx_close(&f);
}

/* The block map (tiny.c): 2000 blocks, four 8 KiB windows of it, beside
 * an aligned 4-byte object that is span's (8 bytes, class 1) and freed
 * through tiny; when the blocks die their windows are spared, and a second
 * round of blocks reuses them without new host memory. */
static void test_tiny_block_map(void **state)
{
	(void)state;
	enum { N = 2000 };
	struct fx f;
	fx_open(&f, &strategy_tiny, NULL);
	uint64_t a[N], u;
	for (int round = 0; round < 2; round++) {
		size_t before = f.live;
		for (int i = 0; i < N; i++)
			a[i] = tal(&f, 12);          /* 12 + 12 > 16: a block each */
		uint64_t s = strat_alloc(&f.s, 0, 4, 8, STRAT_NOSCAN, &u);
		assert_int_equal(u, 8);
		assert_int_equal(ctr(&f, "tiny_live_blocks"), round ? N + 1 : N);
		assert_sim_ok(strat_check(&f.s, &f.err), &f.err);
		if (round)
			assert_true(f.live <= before);
		strat_free(&f.s, 0, s, 8);
		assert_int_equal(ctr(&f, "heap_objects"), round ? N + 1 : N);
		for (int i = 0; i < N; i++)
			strat_free(&f.s, 0, a[i], 12);
		/* the first block stays current (12 < 12 does not hold) */
		assert_int_equal(ctr(&f, "tiny_live_blocks"), 1);
		assert_int_equal(ctr(&f, "heap_objects"), 1);
		assert_sim_ok(strat_check(&f.s, &f.err), &f.err);
	}
	fx_close(&f);
}

/* ---- the scavenger (10) ----------------------------------------------- */

/* After the retention goal drops, ticks give the excess back, highest
 * addresses first, with madvise(DONTNEED): RSS falls. */
static void test_scavenger_background(void **state)
{
	(void)state;
	struct fx f;
	const char *kv[] = {"lazy_sweep", "false", NULL};
	fx_open(&f, &strategy_span, kv);
	uint64_t obj[100], u;
	for (int i = 0; i < 100; i++) {
		obj[i] = al(&f, 0, 65536, &u);
		assert_sim_ok(simos_touch(f.os, obj[i], 65536, &f.err), &f.err);
	}
	uint64_t rss0 = simos_rss_bytes(f.os);
	assert_int_equal(rss0, 100 * 65536);
	strat_gc_begin(&f.s);
	for (int i = 10; i < 100; i++)
		strat_free(&f.s, 0, obj[i], 65536);
	strat_gc_end(&f.s);
	/* the first goal is heapInUse at the cycle, plus 10 %: nothing to do */
	strat_tick(&f.s, 1000000000);
	assert_int_equal(ctr(&f, "scav_released"), 0);
	strat_gc_begin(&f.s);
	strat_gc_end(&f.s);
	/* now goal = 640 KiB * 1.1 rounded up; a second of ticks at 4 MB/s
	 * releases the ~5.6 MiB excess */
	uint64_t goal = (10 * 65536 + 10 * 65536 / 10 + 4095) / 4096 * 4096;
	uint64_t retained = ctr(&f, "heap_inuse") + ctr(&f, "heap_idle") -
			    ctr(&f, "heap_released");
	assert_true(retained > goal + MIB);
	strat_tick(&f.s, 1500000000);
	strat_tick(&f.s, 2500000000);
	uint64_t rel = ctr(&f, "scav_released");
	assert_true(rel >= retained - goal);
	assert_int_equal(simos_released_bytes(f.os), rel);
	assert_true(simos_rss_bytes(f.os) <= rss0 - (retained - goal));
	/* highest first: what stays resident is the live objects (lowest)
	 * and the 64 KiB of free memory the goal allows, just above them */
	assert_int_equal(simos_rss_bytes(f.os), 11 * 65536);
	/* idle: the scavenger parks */
	strat_tick(&f.s, 3500000000);
	assert_int_equal(ctr(&f, "scav_released"), rel);
	fx_close(&f);
}

/* The 1.19 memory-limit goal is limit * 95 (golang/go#62449): the
 * background scavenger does not work for the limit; allocation does. */
static void test_scavenger_memlimit(void **state)
{
	(void)state;
	struct fx f;
	const char *kv[] = {"gogc", "off", "memlimit", "16M", NULL};
	fx_open(&f, &strategy_span, kv);
	uint64_t obj[4], u;
	for (int i = 0; i < 4; i++)
		obj[i] = al(&f, 0, 8 * MIB, &u);
	for (int i = 0; i < 4; i++)
		strat_free(&f.s, 0, obj[i], u);
	uint64_t rel0 = ctr(&f, "scav_released");
	assert_true(ctr(&f, "mapped_ready") > 32 * MIB);
	strat_tick(&f.s, 1000000000);
	strat_tick(&f.s, 5000000000);
	assert_int_equal(ctr(&f, "scav_released"), rel0);   /* the quirk */
	al(&f, 0, 64, NULL);       /* allocSpan scavenges down to the limit */
	assert_true(ctr(&f, "mapped_ready") <= 16 * MIB);
	assert_true(ctr(&f, "scav_released") - rel0 >= 16 * MIB);
	fx_close(&f);
}

/* ---- sync.Pool (12) ------------------------------------------------------ */

static void drop_count(void *ud, uint64_t id)
{
	(void)id;
	++*(int *)ud;
}

/* The measured sequences of 12.3 and 12.4. */
static void test_pool_victim(void **state)
{
	(void)state;
	int dropped = 0;
	struct pool *p = pool_create(1);
	pool_put(p, 0, 10);
	pool_put(p, 0, 11);
	pool_put(p, 0, 12);
	assert_int_equal(pool_get(p, 0), 10);    /* private */
	assert_int_equal(pool_get(p, 0), 12);    /* shared head: LIFO */
	assert_int_equal(pool_get(p, 0), 11);
	assert_int_equal(pool_get(p, 0), 0);     /* miss: New */
	pool_put(p, 0, 20);
	pool_put(p, 0, 21);
	pool_put(p, 0, 22);
	pool_cleanup(p, drop_count, &dropped);
	assert_int_equal(pool_get(p, 0), 20);    /* victim private */
	assert_int_equal(pool_get(p, 0), 21);    /* victim shared tail */
	assert_int_equal(pool_get(p, 0), 22);
	assert_int_equal(pool_get(p, 0), 0);
	/* Put, GC, Get hits; Put, GC, GC, Get misses (dropped at GC 2) */
	pool_put(p, 0, 30);
	pool_cleanup(p, drop_count, &dropped);
	assert_int_equal(pool_get(p, 0), 30);
	pool_put(p, 0, 31);
	pool_cleanup(p, drop_count, &dropped);
	pool_cleanup(p, drop_count, &dropped);
	assert_int_equal(dropped, 1);
	assert_int_equal(pool_get(p, 0), 0);
	const struct pool_stats *st = pool_stats(p);
	assert_int_equal(st->victim_hits, 4);
	assert_int_equal(st->news, 3);
	pool_destroy(p);
	/* GOMAXPROCS=4, the getter on another P: the victim's private item
	 * is out of reach */
	p = pool_create(4);
	pool_put(p, 0, 20);
	pool_put(p, 0, 21);
	pool_put(p, 0, 22);
	pool_cleanup(p, drop_count, &dropped);
	assert_int_equal(pool_get(p, 1), 21);
	assert_int_equal(pool_get(p, 1), 22);
	assert_int_equal(pool_get(p, 1), 0);
	/* stealing from another P's primary: its tail */
	pool_put(p, 2, 40);
	pool_put(p, 2, 41);
	pool_put(p, 2, 42);
	assert_int_equal(pool_get(p, 3), 41);
	pool_destroy(p);
}

/* In the engine: a pooled object stays live through one GC and is
 * garbage after the second. */
static void test_pool_engine(void **state)
{
	(void)state;
	union param_value params[16];
	struct sim_err err;
	struct engine *e = gc_engine(&strategy_span, params, &err);
	int pool = engine_pool_new(e);
	assert_true(pool >= 0);
	step(e, EV_ALLOC, 1, 100);
	assert_int_equal(engine_pool_get(e, pool, 0), 0);
	assert_sim_ok(engine_pool_put(e, pool, 0, 1, &err), &err);
	step(e, EV_GC, 0, 0);
	assert_int_equal(engine_stats(e)->cur.live_objects, 1);
	assert_int_equal(engine_pool_get(e, pool, 0), 1);   /* victim hit */
	assert_sim_ok(engine_pool_put(e, pool, 0, 1, &err), &err);
	step(e, EV_GC, 0, 0);
	step(e, EV_GC, 0, 0);
	assert_int_equal(engine_stats(e)->cur.live_objects, 0);
	assert_int_equal(engine_pool_get(e, pool, 0), 0);
	assert_int_equal(engine_pool_stats(e, pool)->victim_hits, 1);
	assert_sim_ok(engine_finish(e, &err), &err);
	engine_destroy(e);
}

/* ---- a seeded stress run in GC mode ------------------------------------- */

static uint64_t xs_state;
static uint64_t xs(void)
{
	xs_state ^= xs_state << 13;
	xs_state ^= xs_state >> 7;
	xs_state ^= xs_state << 17;
	return xs_state;
}

/* Random allocations (tiny to large, aligned, reallocs) from 8 threads on
 * 4 Ps, frees, forced collections, clock jumps (periodic GC, scavenger),
 * checkpoints and FreeOSMemory, with the shadow checker and the
 * strategy's own check every 997 events, lazily and eagerly swept. */
static void stress(const struct strategy_ops *ops, const char *lazy)
{
	union param_value params[16];
	struct sim_err err;
	struct engine_config cfg;
	engine_config_default(&cfg);
	cfg.reclaim = SIM_RECLAIM_GC;
	cfg.check = 1;
	cfg.check_every = 997;
	cfg.tick_ns = 100000;
	assert_sim_ok(strat_params_default(ops, params, &err), &err);
	assert_sim_ok(strat_param_set(ops, params, "gomaxprocs", "4", &err), &err);
	assert_sim_ok(strat_param_set(ops, params, "lazy_sweep", lazy, &err), &err);
	assert_sim_ok(strat_param_set(ops, params, "memlimit", "64M", &err), &err);
	struct engine *e = NULL;
	assert_sim_ok(engine_create(&cfg, ops, params, &e, &err), &err);
	xs_state = 0x9e3779b97f4a7c15u;
	enum { LIVE = 3000 };
	uint64_t live[LIVE], nlive = 0, next = 1, t = 0;
	for (int i = 0; i < 150000; i++) {
		uint64_t r = xs() % 1000;
		struct sim_event ev = {0, 0, (uint32_t)(xs() % 8), 0, 0, 0, 0, NULL};
		if (r == 4 || (r == 5 && i % 4 == 0)) {   /* ReadMemStats, FreeOSMemory */
			assert_sim_ok(r == 4 ? engine_checkpoint(e, &err)
					     : engine_free_os_memory(e, &err), &err);
			continue;
		}
		if (r < 2) {
			ev.kind = EV_GC;
		} else if (r < 4) {
			ev.kind = EV_CLOCK;
			ev.size = t += (xs() % 3) * 60000000000u;
		} else if (nlive && (r < 450 || nlive == LIVE)) {
			uint64_t k = xs() % nlive;
			ev.kind = r < 420 ? EV_FREE : EV_REALLOC;
			ev.id = live[k];
			ev.id2 = next;
			ev.size = xs() % 300;
			if (ev.kind == EV_REALLOC)
				live[k] = next++;
			else
				live[k] = live[--nlive];
		} else {
			uint64_t c = xs() % 100;
			ev.kind = c < 5 ? EV_MEMALIGN : c < 10 ? EV_CALLOC : EV_ALLOC;
			ev.size = c < 40 ? xs() % 16 : c < 97 ? xs() % 4096
				  : xs() % (1u << 20);
			ev.align = ev.kind == EV_MEMALIGN ? (uint64_t)1 << (xs() % 15) : 0;
			ev.id = next;
			live[nlive++] = next++;
		}
		assert_sim_ok(engine_step(e, &ev, &err), &err);
	}
	assert_true(engine_stats(e)->gc_cycles > 3);
	assert_sim_ok(engine_finish(e, &err), &err);
	engine_destroy(e);
}

static void test_stress_gc(void **state)
{
	(void)state;
	stress(&strategy_span, "true");
	stress(&strategy_span, "false");
	stress(&strategy_tiny, "true");
	stress(&strategy_tiny, "false");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizeclass_csv),
		cmocka_unit_test(test_sizeclass_mapping),
		cmocka_unit_test(test_sizeclass_divmul),
		cmocka_unit_test(test_span_slots),
		cmocka_unit_test(test_span_per_p),
		cmocka_unit_test(test_pages_first_fit),
		cmocka_unit_test(test_pages_summaries),
		cmocka_unit_test(test_pages_cache),
		cmocka_unit_test(test_pages_scavenged),
		cmocka_unit_test(test_heap_growth),
		cmocka_unit_test(test_needzero),
		cmocka_unit_test(test_gc_sweep),
		cmocka_unit_test(test_pacer_goals),
		cmocka_unit_test(test_pacer_runway),
		cmocka_unit_test(test_pacer_memlimit),
		cmocka_unit_test(test_pacer_span_agrees),
		cmocka_unit_test(test_gc_first_trigger),
		cmocka_unit_test(test_gc_churn),
		cmocka_unit_test(test_tiny_alignment),
		cmocka_unit_test(test_tiny_memstats),
		cmocka_unit_test(test_tiny_gc),
		cmocka_unit_test(test_tiny_immediate),
		cmocka_unit_test(test_tiny_block_map),
		cmocka_unit_test(test_scavenger_background),
		cmocka_unit_test(test_scavenger_memlimit),
		cmocka_unit_test(test_pool_victim),
		cmocka_unit_test(test_pool_engine),
		cmocka_unit_test(test_stress_gc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
