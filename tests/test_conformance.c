/*
 * test_conformance.c - the conformance suite every registered strategy
 * must pass, run once per entry of strategy_registry with no per-strategy
 * code: a new strategy is tested by registering it.
 *
 * Each group (named after the strategy) replays seeded random operation
 * sequences (GSL mt19937, fixed seeds) through the engine with the shadow
 * checker on (every block aligned, at least the size asked, inside
 * read/write mapped memory, overlapping no live block) and the strategy's
 * own check every few hundred events, and checks the accounting after
 * every event against a model kept here: live bytes and objects as the
 * workload sees them, live <= alloc <= heap, rss <= mapped read/write, the
 * required counters present and never decreasing.  Then: everything freed
 * leaves nothing allocated; checkpoints (thread caches flushed) and
 * FreeOSMemory mid-run keep every check; two runs of one sequence give
 * byte-identical series (and run_one on a trace written from it,
 * identical summaries);
 * workload errors, the memory limit and a fault plan end runs cleanly.
 *
 * The sequences: sizes from 0 to 8 MiB (mostly small, log-uniform above
 * 256 bytes), malloc, calloc, memalign with alignments 16 B .. 64 KiB,
 * realloc that grows, shrinks, moves or stays and realloc(NULL), frees in
 * random order, thread ids 0..31, clock marks and collection requests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_rng.h>

#include "engine.h"
#include "harness.h"
#include "run.h"

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)

#define LIVE_CAP   (48 * MiB)   /* the generator frees above this */
#define MAX_LIVE   1500         /* ... and above this many objects */
#define NTHREADS   32

/* ---- the sequence generator ------------------------------------------------ */

struct gen {
	gsl_rng *r;
	uint64_t *ids;              /* live IDs, unordered */
	uint64_t *pos;              /* pos[id]: index of id in ids */
	uint64_t *size;             /* size[id] */
	size_t nlive, cap_ids;
	uint64_t next_id, live_bytes, clock;
	struct sim_event *ev;
	uint64_t *live_after;       /* live bytes after event i */
	uint64_t *objs_after;       /* live objects after event i */
	size_t n, cap;
};

static uint64_t log_uniform(gsl_rng *r, uint64_t lo, uint64_t hi)
{
	double x = exp(log((double)lo) +
		       gsl_rng_uniform(r) * (log((double)hi) - log((double)lo)));
	uint64_t v = (uint64_t)x;
	return v < lo ? lo : v > hi ? hi : v;
}

/* Mostly small: 2% zero, 70% 1..256, then log-uniform to 64 KiB, 1 MiB and
 * (1%) 8 MiB. */
static uint64_t gen_size(gsl_rng *r)
{
	double u = gsl_rng_uniform(r);
	if (u < 0.02)
		return 0;
	if (u < 0.72)
		return 1 + gsl_rng_uniform_int(r, 256);
	if (u < 0.92)
		return log_uniform(r, 257, 64 * KiB);
	if (u < 0.99)
		return log_uniform(r, 64 * KiB + 1, MiB);
	return log_uniform(r, MiB + 1, 8 * MiB);
}

static void gen_push(struct gen *g, struct sim_event e)
{
	assert_true(g->n < g->cap);
	g->ev[g->n] = e;
	g->live_after[g->n] = g->live_bytes;
	g->objs_after[g->n] = g->nlive;
	g->n++;
}

static void live_add(struct gen *g, uint64_t id, uint64_t size)
{
	assert_true(id < g->cap_ids);
	g->pos[id] = g->nlive;
	g->ids[g->nlive++] = id;
	g->size[id] = size;
	g->live_bytes += size;
}

static void live_remove(struct gen *g, uint64_t id)
{
	uint64_t i = g->pos[id], last = g->ids[--g->nlive];
	g->ids[i] = last;
	g->pos[last] = i;
	g->live_bytes -= g->size[id];
}

static uint64_t pick_live(struct gen *g)
{
	return g->ids[gsl_rng_uniform_int(g->r, g->nlive)];
}

static uint32_t pick_tid(struct gen *g)
{
	return (uint32_t)gsl_rng_uniform_int(g->r, NTHREADS);
}

static void gen_alloc(struct gen *g, int kind)
{
	struct sim_event e = {.kind = (uint8_t)kind, .tid = pick_tid(g),
			      .id = g->next_id++, .size = gen_size(g->r)};
	if (kind == EV_MEMALIGN) {
		e.align = UINT64_C(16) << gsl_rng_uniform_int(g->r, 13);
		if (e.size > MiB)
			e.size = MiB;
	}
	live_add(g, e.id, e.size);
	gen_push(g, e);
}

static void gen_free(struct gen *g)
{
	struct sim_event e = {.kind = EV_FREE, .tid = pick_tid(g),
			      .id = pick_live(g)};
	live_remove(g, e.id);
	gen_push(g, e);
}

/* grow: 1 .. 2x + 64, at most 8 MiB; shrink: half, at least 1 byte.
 * Half the time the object keeps its ID (resized in place), otherwise it
 * gets the next ID, as the trace format records a move. */
static void gen_realloc(struct gen *g, int grow)
{
	uint64_t id = pick_live(g), old = g->size[id], n;
	if (grow) {
		n = old * 2 + 1 + gsl_rng_uniform_int(g->r, 64);
		n = n > 8 * MiB ? 8 * MiB : n;
	} else {
		n = old / 2 ? old / 2 : 1;
	}
	struct sim_event e = {.kind = EV_REALLOC, .tid = pick_tid(g), .id = id,
			      .size = n};
	e.id2 = gsl_rng_uniform(g->r) < 0.5 ? id : g->next_id++;
	live_remove(g, id);
	live_add(g, e.id2, n);
	gen_push(g, e);
}

static void gen_realloc_null(struct gen *g)
{
	struct sim_event e = {.kind = EV_REALLOC, .tid = pick_tid(g), .id = 0,
			      .id2 = g->next_id++, .size = gen_size(g->r)};
	live_add(g, e.id2, e.size);
	gen_push(g, e);
}

static void gen_one(struct gen *g)
{
	double u = gsl_rng_uniform(g->r);
	if (g->nlive == 0)
		u = 0;
	else if (g->live_bytes > LIVE_CAP || g->nlive >= MAX_LIVE)
		u = 1;
	if (u < 0.36)
		gen_alloc(g, EV_ALLOC);
	else if (u < 0.41)
		gen_alloc(g, EV_CALLOC);
	else if (u < 0.46)
		gen_alloc(g, EV_MEMALIGN);
	else if (u < 0.50)
		gen_realloc(g, 1);
	else if (u < 0.53)
		gen_realloc(g, 0);
	else if (u < 0.55)
		gen_realloc_null(g);
	else if (u < 0.56) {
		g->clock += 1 + gsl_rng_uniform_int(g->r, 2000000);
		gen_push(g, (struct sim_event){.kind = EV_CLOCK, .size = g->clock});
	} else if (u < 0.565)
		gen_push(g, (struct sim_event){.kind = EV_GC, .tid = pick_tid(g)});
	else
		gen_free(g);
}

/* n random events from seed, then (when drain) frees of every object
 * still live, in random order. */
static struct gen *gen_make(unsigned long seed, size_t n, int drain)
{
	struct gen *g = calloc(1, sizeof *g);
	assert_non_null(g);
	g->r = gsl_rng_alloc(gsl_rng_mt19937);
	assert_non_null(g->r);
	gsl_rng_set(g->r, seed);
	g->cap = 2 * n + 16;
	g->cap_ids = n + 2;
	g->ids = calloc(g->cap_ids, sizeof *g->ids);
	g->pos = calloc(g->cap_ids, sizeof *g->pos);
	g->size = calloc(g->cap_ids, sizeof *g->size);
	g->ev = calloc(g->cap, sizeof *g->ev);
	g->live_after = calloc(g->cap, sizeof *g->live_after);
	g->objs_after = calloc(g->cap, sizeof *g->objs_after);
	assert_true(g->ids && g->pos && g->size && g->ev && g->live_after &&
		    g->objs_after);
	g->next_id = 1;
	while (g->n < n)
		gen_one(g);
	while (drain && g->nlive)
		gen_free(g);
	return g;
}

static void gen_destroy(struct gen *g)
{
	gsl_rng_free(g->r);
	free(g->ids);
	free(g->pos);
	free(g->size);
	free(g->ev);
	free(g->live_after);
	free(g->objs_after);
	free(g);
}

/* Write the sequence as a text trace (trace-format.md). */
static void gen_write_trace(const struct gen *g, const char *path)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "# allocsim-trace v1\n# program: test_conformance\n");
	for (size_t i = 0; i < g->n; i++) {
		const struct sim_event *e = &g->ev[i];
		switch (e->kind) {
		case EV_ALLOC:
		case EV_CALLOC:
			fprintf(f, "%c %u %" PRIu64 " %" PRIu64 "\n", e->kind,
				e->tid, e->id, e->size);
			break;
		case EV_MEMALIGN:
			fprintf(f, "m %u %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
				e->tid, e->id, e->align, e->size);
			break;
		case EV_REALLOC:
			fprintf(f, "r %u %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
				e->tid, e->id, e->id2, e->size);
			break;
		case EV_FREE:
			fprintf(f, "f %u %" PRIu64 "\n", e->tid, e->id);
			break;
		case EV_GC:
			fprintf(f, "g %u\n", e->tid);
			break;
		case EV_CLOCK:
			fprintf(f, "t %" PRIu64 "\n", e->size);
			break;
		}
	}
	assert_int_equal(fclose(f), 0);
}

/* ---- running a sequence with checks ---------------------------------------- */

/* Indices of the counters every strategy reports. */
enum { C_HITS, C_MISSES, C_LOCKS, NREQ };
static const char *const required[NREQ] = {
	"cache_hits", "cache_misses", "lock_acquires"
};

struct checker {
	const struct strategy_ops *ops;
	struct engine *e;
	int ix[NREQ];
	uint64_t last[NREQ];
	int gc;                    /* GC reclamation: dead bytes allowed */
	uint64_t last_t;           /* the clock after the previous event */
	struct sim_err err;
};

static void find_counters(struct checker *c)
{
	for (int k = 0; k < NREQ; k++) {
		c->ix[k] = -1;
		for (int i = 0; c->ops->counter_names[i]; i++)
			if (strcmp(c->ops->counter_names[i], required[k]) == 0)
				c->ix[k] = i;
		if (c->ix[k] < 0)
			fail_msg("%s reports no counter %s", c->ops->name, required[k]);
		c->last[k] = 0;
	}
}

static void check_counters(struct checker *c)
{
	const uint64_t *v = engine_counters(c->e);
	const struct sim_stats *st = engine_stats(c->e);
	for (int k = 0; k < NREQ; k++) {
		uint64_t x = v[c->ix[k]];
		if (x < c->last[k])
			fail_msg("%s: counter %s went down from %" PRIu64 " to %" PRIu64,
				 c->ops->name, required[k], c->last[k], x);
		c->last[k] = x;
	}
	/* a hit is an allocation served from a cache */
	if (v[c->ix[C_HITS]] > st->allocs + st->reallocs)
		fail_msg("%s: %" PRIu64 " cache hits for %" PRIu64 " allocations",
			 c->ops->name, v[c->ix[C_HITS]], st->allocs + st->reallocs);
}

/* The accounting after event i of g. */
static void check_accounting(struct checker *c, const struct gen *g, size_t i)
{
	const struct sim_stats *st = engine_stats(c->e);
	const struct simos *os = engine_os(c->e);
	const struct stats_snap *s = &st->cur;
	if (s->live_bytes != g->live_after[i])
		fail_msg("event %zu: live_bytes %" PRIu64 ", the workload holds %"
			 PRIu64, i, s->live_bytes, g->live_after[i]);
	assert_int_equal(s->live_objects, g->objs_after[i]);
	if (!c->gc)
		assert_int_equal(s->dead_bytes, 0);
	assert_true(st->peak.live_bytes >= s->live_bytes);
	assert_true(st->peak.alloc_bytes >= s->alloc_bytes);
	assert_true(st->peak.heap_bytes >= s->heap_bytes);
	assert_true(st->peak.rss_bytes >= s->rss_bytes);
	if (s->t_ns < c->last_t)
		fail_msg("event %zu: the clock went back from %" PRIu64 " to %"
			 PRIu64, i, c->last_t, s->t_ns);
	c->last_t = s->t_ns;
	if (s->alloc_bytes < s->live_bytes + s->dead_bytes)
		fail_msg("event %zu: alloc_bytes %" PRIu64 " < live %" PRIu64
			 " + dead %" PRIu64, i, s->alloc_bytes, s->live_bytes,
			 s->dead_bytes);
	if (s->alloc_bytes > s->heap_bytes)
		fail_msg("%s event %zu: alloc_bytes %" PRIu64 " > heap_bytes %"
			 PRIu64, c->ops->name, i, s->alloc_bytes, s->heap_bytes);
	assert_int_equal(s->heap_bytes, simos_heap_bytes(os));
	assert_int_equal(s->rss_bytes, simos_rss_bytes(os));
	if (simos_rss_bytes(os) > simos_rw_bytes(os))
		fail_msg("event %zu: rss %" PRIu64 " > read/write mapped %" PRIu64,
			 i, simos_rss_bytes(os), simos_rw_bytes(os));
	assert_true(s->heap_bytes <= simos_rw_bytes(os));
	assert_int_equal(st->events, i + 1);
}

static void checker_open(struct checker *c, const struct strategy_ops *ops,
			 const struct engine_config *cfg)
{
	memset(c, 0, sizeof *c);
	c->ops = ops;
	union param_value pv[64];
	assert_true(strat_param_count(ops) <= 64);
	assert_sim_ok(strat_params_default(ops, pv, &c->err), &c->err);
	int rc = engine_create(cfg, ops, pv, &c->e, &c->err);
	assert_sim_ok(rc, &c->err);
	c->gc = engine_reclaim(c->e) == SIM_RECLAIM_GC;
	find_counters(c);
}

/* Feed all of g, checking after every event. */
static void feed_checked(struct checker *c, const struct gen *g)
{
	for (size_t i = 0; i < g->n; i++) {
		int rc = engine_step(c->e, &g->ev[i], &c->err);
		if (rc != SIM_OK)
			fail_msg("%s: event %zu (kind %c, size %" PRIu64 ", align %"
				 PRIu64 "): %s: %s", c->ops->name, i, g->ev[i].kind,
				 g->ev[i].size, g->ev[i].align, sim_rc_name(rc),
				 c->err.msg);
		check_accounting(c, g, i);
		if (i % 16 == 0)
			check_counters(c);
	}
	check_counters(c);
}

static void checked_config(struct engine_config *cfg)
{
	engine_config_default(cfg);
	cfg->reclaim = SIM_RECLAIM_IMMEDIATE;
	cfg->check = 1;
	cfg->check_every = 499;
	cfg->sample_every = 0;
}

/* ---- the tests ---------------------------------------------------------- */

#define OPS(state) ((const struct strategy_ops *)*(state))

static void random_run(const struct strategy_ops *ops, unsigned long seed,
		       size_t n)
{
	struct engine_config cfg;
	checked_config(&cfg);
	struct gen *g = gen_make(seed, n, 1);
	struct checker c;
	checker_open(&c, ops, &cfg);
	feed_checked(&c, g);
	const struct sim_stats *st = engine_stats(c.e);
	/* everything freed: nothing is allocated */
	assert_int_equal(st->cur.live_bytes, 0);
	assert_int_equal(st->cur.live_objects, 0);
	assert_int_equal(st->cur.alloc_bytes, 0);
	assert_true(st->allocs > n / 4);
	assert_sim_ok(engine_finish(c.e, &c.err), &c.err);
	engine_destroy(c.e);
	gen_destroy(g);
}

static void test_random_1(void **state)
{
	random_run(OPS(state), 1, 60000);
}

static void test_random_2(void **state)
{
	random_run(OPS(state), 20260101, 60000);
}

static void test_random_3(void **state)
{
	random_run(OPS(state), 777, 60000);
}

/* The default reclamation mode is the strategy's own. */
static void test_default_reclaim(void **state)
{
	const struct strategy_ops *ops = OPS(state);
	struct engine_config cfg;
	checked_config(&cfg);
	cfg.reclaim = SIM_RECLAIM_DEFAULT;
	struct checker c;
	checker_open(&c, ops, &cfg);
	assert_int_equal(engine_reclaim(c.e), ops->reclaim_default);
	engine_destroy(c.e);
}

/* GC reclamation, which any strategy can run under: the same checks with
 * dead bytes allowed until a collection (the pacer's, or the sequence's
 * explicit ones); after the last free and a collection, nothing is left. */
static void test_gc_reclaim(void **state)
{
	const struct strategy_ops *ops = OPS(state);
	struct engine_config cfg;
	checked_config(&cfg);
	cfg.reclaim = SIM_RECLAIM_GC;
	struct gen *g = gen_make(5, 20000, 1);
	gen_push(g, (struct sim_event){.kind = EV_GC});
	struct checker c;
	checker_open(&c, ops, &cfg);
	assert_int_equal(c.gc, 1);
	feed_checked(&c, g);
	const struct sim_stats *st = engine_stats(c.e);
	assert_true(st->gc_cycles >= 2);
	assert_true(st->peak.dead_bytes > 0);
	assert_int_equal(st->cur.live_bytes, 0);
	assert_int_equal(st->cur.dead_bytes, 0);
	assert_int_equal(st->cur.alloc_bytes, 0);
	assert_sim_ok(engine_finish(c.e, &c.err), &c.err);
	engine_destroy(c.e);
	gen_destroy(g);
}

/* Checkpoints (the ABI v2 flush: every 97 events and after every forced
 * collection) and FreeOSMemory (a forced collection, then release_os)
 * every 1500 events, in immediate and GC mode: the accounting, the shadow
 * checker and the strategy's own checks hold across them, FreeOSMemory
 * never grows the heap, and after everything is freed nothing is left. */
static void test_checkpoints(void **state)
{
	const struct strategy_ops *ops = OPS(state);
	for (int gc = 0; gc < 2; gc++) {
		struct engine_config cfg;
		checked_config(&cfg);
		cfg.reclaim = gc ? SIM_RECLAIM_GC : SIM_RECLAIM_IMMEDIATE;
		cfg.checkpoint_every = 97;
		cfg.checkpoint_gc = 1;
		struct gen *g = gen_make(11 + (unsigned long)gc, 12000, 1);
		gen_push(g, (struct sim_event){.kind = EV_GC});
		struct checker c;
		checker_open(&c, ops, &cfg);
		for (size_t i = 0; i < g->n; i++) {
			assert_sim_ok(engine_step(c.e, &g->ev[i], &c.err), &c.err);
			check_accounting(&c, g, i);
			if (i % 1500 != 1499)
				continue;
			uint64_t heap = engine_stats(c.e)->cur.heap_bytes;
			assert_sim_ok(engine_free_os_memory(c.e, &c.err), &c.err);
			assert_int_equal(engine_stats(c.e)->cur.dead_bytes, 0);
			assert_true(engine_stats(c.e)->cur.heap_bytes <= heap);
			check_accounting(&c, g, i);
			check_counters(&c);
		}
		const struct sim_stats *st = engine_stats(c.e);
		assert_int_equal(st->cur.live_bytes, 0);
		assert_int_equal(st->cur.alloc_bytes, 0);
		assert_sim_ok(engine_finish(c.e, &c.err), &c.err);
		engine_destroy(c.e);
		gen_destroy(g);
	}
}

/* Phases that fragment a heap: many small and medium blocks, every other
 * one freed, then larger blocks that fit none of the holes, then all freed;
 * three rounds, so freed memory is reused. */
static void test_phases(void **state)
{
	const struct strategy_ops *ops = OPS(state);
	struct engine_config cfg;
	checked_config(&cfg);
	struct checker c;
	checker_open(&c, ops, &cfg);
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	gsl_rng_set(r, 31337);
	uint64_t id = 0, live = 0;
	static uint64_t size[8192];
	for (int round = 0; round < 3; round++) {
		uint64_t first = id + 1;
		for (int i = 0; i < 3000; i++) {
			struct sim_event e = {.kind = EV_ALLOC, .tid = (uint32_t)(i % 8),
					      .id = ++id,
					      .size = 16 + gsl_rng_uniform_int(r, 2048)};
			size[id % 8192] = e.size;
			live += e.size;
			assert_sim_ok(engine_step(c.e, &e, &c.err), &c.err);
		}
		for (uint64_t k = first; k <= id; k += 2) {
			struct sim_event e = {.kind = EV_FREE, .tid = 3, .id = k};
			live -= size[k % 8192];
			assert_sim_ok(engine_step(c.e, &e, &c.err), &c.err);
		}
		uint64_t big = id + 1;
		for (int i = 0; i < 300; i++) {
			struct sim_event e = {.kind = EV_ALLOC, .tid = (uint32_t)(i % 5),
					      .id = ++id,
					      .size = 4096 + gsl_rng_uniform_int(r, 60000)};
			size[id % 8192] = e.size;
			live += e.size;
			assert_sim_ok(engine_step(c.e, &e, &c.err), &c.err);
		}
		assert_int_equal(engine_stats(c.e)->cur.live_bytes, live);
		for (uint64_t k = first + 1; k < big; k += 2) {
			struct sim_event e = {.kind = EV_FREE, .tid = 1, .id = k};
			live -= size[k % 8192];
			assert_sim_ok(engine_step(c.e, &e, &c.err), &c.err);
		}
		for (uint64_t k = id; k >= big; k--) {
			struct sim_event e = {.kind = EV_FREE, .tid = 2, .id = k};
			live -= size[k % 8192];
			assert_sim_ok(engine_step(c.e, &e, &c.err), &c.err);
		}
		assert_int_equal(live, 0);
		assert_int_equal(engine_stats(c.e)->cur.alloc_bytes, 0);
	}
	gsl_rng_free(r);
	assert_sim_ok(engine_finish(c.e, &c.err), &c.err);
	engine_destroy(c.e);
}

/* One object grown by realloc from 1 byte to 16 MiB and shrunk back, in
 * place (same ID) and moved (new ID), between other allocations. */
static void test_realloc_chain(void **state)
{
	const struct strategy_ops *ops = OPS(state);
	struct engine_config cfg;
	checked_config(&cfg);
	cfg.check_every = 7;
	struct checker c;
	checker_open(&c, ops, &cfg);
	uint64_t obj = 1, next = 2, n = 1;
	struct sim_event e = {.kind = EV_ALLOC, .id = obj, .size = 1};
	assert_sim_ok(engine_step(c.e, &e, &c.err), &c.err);
	for (int up = 1; up >= 0; up--) {
		for (int i = 0; i < 24; i++) {
			n = up ? n * 2 : n / 2 ? n / 2 : 1;
			uint64_t id2 = i % 3 ? obj : next++;
			e = (struct sim_event){.kind = EV_REALLOC, .tid = (uint32_t)i,
					       .id = obj, .id2 = id2, .size = n};
			assert_sim_ok(engine_step(c.e, &e, &c.err), &c.err);
			obj = id2;
			/* a neighbour that may block growth in place */
			e = (struct sim_event){.kind = EV_ALLOC, .id = next++,
					       .size = 48};
			assert_sim_ok(engine_step(c.e, &e, &c.err), &c.err);
			assert_int_equal(engine_stats(c.e)->cur.live_bytes,
					 n + 48 * (uint64_t)(up ? i + 1 : 25 + i));
		}
	}
	assert_sim_ok(engine_finish(c.e, &c.err), &c.err);
	engine_destroy(c.e);
}

/* Size 0 and 1 byte: distinct blocks every time (the shadow checker
 * counts a zero-usable block as one byte). */
static void test_tiny_sizes(void **state)
{
	const struct strategy_ops *ops = OPS(state);
	struct engine_config cfg;
	checked_config(&cfg);
	cfg.check_every = 1;
	struct checker c;
	checker_open(&c, ops, &cfg);
	for (uint64_t id = 1; id <= 200; id++) {
		struct sim_event e = {.kind = id % 3 ? EV_ALLOC : EV_CALLOC,
				      .tid = (uint32_t)(id % NTHREADS), .id = id,
				      .size = id % 2};
		assert_sim_ok(engine_step(c.e, &e, &c.err), &c.err);
	}
	const struct sim_stats *st = engine_stats(c.e);
	assert_int_equal(st->cur.live_objects, 200);
	assert_int_equal(st->cur.live_bytes, 100);
	for (uint64_t id = 200; id >= 1; id--) {
		struct sim_event e = {.kind = EV_FREE, .tid = (uint32_t)(id % 7),
				      .id = id};
		assert_sim_ok(engine_step(c.e, &e, &c.err), &c.err);
	}
	assert_int_equal(st->cur.alloc_bytes, 0);
	assert_sim_ok(engine_finish(c.e, &c.err), &c.err);
	engine_destroy(c.e);
}

/* Thread ids are the workload's: any 32-bit value, sparse, and a block
 * freed by a thread other than the one that allocated it. */
static void test_extreme_tids(void **state)
{
	const struct strategy_ops *ops = OPS(state);
	static const uint32_t tids[] = {0, 1, 1000, 65535, 65536, UINT32_MAX - 1,
					UINT32_MAX};
	const int nt = (int)(sizeof tids / sizeof tids[0]);
	struct engine_config cfg;
	checked_config(&cfg);
	cfg.check_every = 1;
	struct checker c;
	checker_open(&c, ops, &cfg);
	uint64_t id = 0;
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < nt; i++) {
			struct sim_event e = {.kind = EV_ALLOC, .tid = tids[i],
					      .id = ++id, .size = 10 + 1000 * (uint64_t)round};
			int rc = engine_step(c.e, &e, &c.err);
			if (rc != SIM_OK)
				fail_msg("%s: alloc by tid %u: %s", ops->name, tids[i],
					 c.err.msg);
		}
	for (uint64_t k = 1; k <= id; k++) {
		struct sim_event e = {.kind = EV_FREE, .tid = tids[(k + 3) % nt],
				      .id = k};
		int rc = engine_step(c.e, &e, &c.err);
		if (rc != SIM_OK)
			fail_msg("%s: free by tid %u: %s", ops->name, e.tid, c.err.msg);
	}
	assert_int_equal(engine_stats(c.e)->cur.alloc_bytes, 0);
	assert_sim_ok(engine_finish(c.e, &c.err), &c.err);
	engine_destroy(c.e);
}

/* Every alignment from 16 B to 64 KiB, for sizes below, at and above it. */
static void test_alignments(void **state)
{
	const struct strategy_ops *ops = OPS(state);
	struct engine_config cfg;
	checked_config(&cfg);
	struct checker c;
	checker_open(&c, ops, &cfg);
	uint64_t id = 0;
	for (uint64_t a = 16; a <= 64 * KiB; a *= 2) {
		uint64_t sizes[] = {1, a / 2, a, a + 1, 3 * a};
		for (int k = 0; k < 5; k++) {
			struct sim_event e = {.kind = EV_MEMALIGN, .tid = (uint32_t)k,
					      .id = ++id, .align = a, .size = sizes[k]};
			assert_sim_ok(engine_step(c.e, &e, &c.err), &c.err);
		}
	}
	for (uint64_t i = 1; i <= id; i += 2) {
		struct sim_event e = {.kind = EV_FREE, .id = i};
		assert_sim_ok(engine_step(c.e, &e, &c.err), &c.err);
	}
	for (uint64_t i = 2; i <= id; i += 2) {
		struct sim_event e = {.kind = EV_FREE, .id = i};
		assert_sim_ok(engine_step(c.e, &e, &c.err), &c.err);
	}
	assert_int_equal(engine_stats(c.e)->cur.alloc_bytes, 0);
	assert_sim_ok(engine_finish(c.e, &c.err), &c.err);
	engine_destroy(c.e);
}

/* Same sequence twice: byte-identical series and identical stats. */
static void test_determinism(void **state)
{
	const struct strategy_ops *ops = OPS(state);
	const char *dir = harness_tmpdir();
	char path[2][256];
	struct sim_stats st[2];
	uint64_t ctr[2][64];
	struct gen *g = gen_make(42, 3000, 0);
	for (int k = 0; k < 2; k++) {
		struct engine_config cfg;
		engine_config_default(&cfg);
		cfg.reclaim = SIM_RECLAIM_IMMEDIATE;
		cfg.sample_every = 50;
		snprintf(path[k], sizeof path[k], "%s/series%d.csv", dir, k);
		cfg.series_path = path[k];
		struct checker c;
		checker_open(&c, ops, &cfg);
		for (size_t i = 0; i < g->n; i++)
			assert_sim_ok(engine_step(c.e, &g->ev[i], &c.err), &c.err);
		assert_sim_ok(engine_finish(c.e, &c.err), &c.err);
		st[k] = *engine_stats(c.e);
		size_t nc = engine_counter_count(c.e);
		assert_true(nc <= 64);
		memset(ctr[k], 0, sizeof ctr[k]);
		memcpy(ctr[k], engine_counters(c.e), nc * sizeof(uint64_t));
		engine_destroy(c.e);
	}
	assert_memory_equal(&st[0], &st[1], sizeof st[0]);
	assert_memory_equal(ctr[0], ctr[1], sizeof ctr[0]);
	char cmd[1024], out[512];
	snprintf(cmd, sizeof cmd, "cmp '%s' '%s'", path[0], path[1]);
	if (harness_run(cmd, out, sizeof out) != 0)
		fail_msg("%s: series differ: %s", ops->name, out);
	/* the series has the samples: 3000 events / 50 at least */
	snprintf(cmd, sizeof cmd, "test $(wc -l < '%s') -ge 61", path[0]);
	assert_int_equal(harness_run(cmd, out, sizeof out), 0);
	gen_destroy(g);
	harness_rmtree(dir);
}

/* run_one twice on one trace: identical summary.json and series.csv, and
 * no temporary file left beside them. */
static void test_run_one_determinism(void **state)
{
	const struct strategy_ops *ops = OPS(state);
	const char *tmp = harness_tmpdir();
	char dir[256], trace[300], out[2][300];
	snprintf(dir, sizeof dir, "%s", tmp);
	snprintf(trace, sizeof trace, "%s/conf.trace", dir);
	struct gen *g = gen_make(4242, 3000, 0);
	gen_write_trace(g, trace);
	union param_value pv[64];
	struct sim_err err;
	assert_sim_ok(strat_params_default(ops, pv, &err), &err);
	for (int k = 0; k < 2; k++) {
		snprintf(out[k], sizeof out[k], "%s/out%d/%s", dir, k, ops->name);
		struct run_spec spec;
		memset(&spec, 0, sizeof spec);
		spec.source = trace;
		spec.run_name = "conf";
		spec.out_dir = out[k];
		spec.ops = ops;
		spec.params = pv;
		engine_config_default(&spec.cfg);
		spec.cfg.reclaim = SIM_RECLAIM_IMMEDIATE;
		spec.cfg.sample_every = 100;
		spec.seed = 1;
		static struct run_result res;
		assert_sim_ok(run_one(&spec, &res, &err), &err);
		if (res.status != SIM_OK)
			fail_msg("%s: run status %s: %s", ops->name,
				 sim_rc_name(res.status), res.message);
		assert_int_equal(res.end_event, g->n);
		assert_int_equal(res.st.cur.live_bytes, g->live_after[g->n - 1]);
	}
	char cmd[2048], text[512];
	static const char *const files[] = {"summary.json", "series.csv"};
	for (int f = 0; f < 2; f++) {
		snprintf(cmd, sizeof cmd, "cmp '%s/%s' '%s/%s'", out[0], files[f],
			 out[1], files[f]);
		if (harness_run(cmd, text, sizeof text) != 0)
			fail_msg("%s: %s differs between runs: %s", ops->name,
				 files[f], text);
	}
	snprintf(cmd, sizeof cmd, "ls -A '%s'", out[0]);
	assert_int_equal(harness_run(cmd, text, sizeof text), 0);
	assert_string_equal(text, "series.csv\nsummary.json\n");
	gen_destroy(g);
	harness_rmtree(dir);
}

/* A double free is a workload error, and the strategy never sees it. */
static void test_double_free(void **state)
{
	const struct strategy_ops *ops = OPS(state);
	struct engine_config cfg;
	checked_config(&cfg);
	struct checker c;
	checker_open(&c, ops, &cfg);
	struct sim_event evs[] = {
		{.kind = EV_ALLOC, .tid = 0, .id = 1, .size = 100},
		{.kind = EV_ALLOC, .tid = 1, .id = 2, .size = 200},
		{.kind = EV_FREE, .tid = 1, .id = 1},
	};
	for (int i = 0; i < 3; i++)
		assert_sim_ok(engine_step(c.e, &evs[i], &c.err), &c.err);
	struct sim_event again = {.kind = EV_FREE, .tid = 0, .id = 1};
	assert_int_equal(engine_step(c.e, &again, &c.err), SIM_EWORKLOAD);
	assert_non_null(strstr(c.err.msg, "event 3"));
	assert_int_equal(engine_stats(c.e)->cur.alloc_bytes >= 200, 1);
	assert_int_equal(engine_stats(c.e)->frees, 1);
	engine_destroy(c.e);
}

/* Allocate blocks of size until engine_step fails; returns its code and
 * the number of events that succeeded (at most max). */
static int allocate_until_failure(struct checker *c, uint64_t size, int max,
				  int *ok)
{
	for (int i = 0; i < max; i++) {
		struct sim_event e = {.kind = EV_ALLOC, .tid = (uint32_t)(i % 4),
				      .id = (uint64_t)i + 1, .size = size};
		int rc = engine_step(c->e, &e, &c->err);
		if (rc != SIM_OK) {
			*ok = i;
			return rc;
		}
	}
	*ok = max;
	return SIM_OK;
}

/* memory.max: the run ends with SIM_EOOM, cleanly, near the limit. */
static void test_memory_limit(void **state)
{
	const struct strategy_ops *ops = OPS(state);
	struct engine_config cfg;
	checked_config(&cfg);
	cfg.os.memory_max = 2 * MiB;
	struct checker c;
	checker_open(&c, ops, &cfg);
	int ok;
	int rc = allocate_until_failure(&c, 256 * KiB, 64, &ok);
	if (rc != SIM_EOOM)
		fail_msg("%s: %d blocks of 256 KiB under memory.max 2 MiB: %s %s",
			 ops->name, ok, sim_rc_name(rc), c.err.msg);
	assert_true(ok <= 8);      /* 8 x 256 KiB fill 2 MiB of rss */
	assert_non_null(strstr(c.err.msg, "memory"));
	assert_true(simos_oom_killed(engine_os(c.e)));
	assert_sim_ok(engine_finish(c.e, &c.err), &c.err);
	/* the killing event counts, and so do its peaks */
	const struct sim_stats *st = engine_stats(c.e);
	assert_int_equal(st->events, (uint64_t)ok + 1);
	assert_true(st->cur.rss_bytes > 2 * MiB);
	assert_true(st->peak.rss_bytes >= st->cur.rss_bytes);
	assert_true(st->peak.live_bytes >= st->cur.live_bytes);
	assert_true(st->peak.heap_bytes >= st->cur.heap_bytes);
	engine_destroy(c.e);
}

/* A cap on mapped bytes: allocations fail with SIM_EOOM, no crash. */
static void test_fault_cap(void **state)
{
	const struct strategy_ops *ops = OPS(state);
	struct engine_config cfg;
	checked_config(&cfg);
	cfg.os.faults.max_mapped_bytes = 64 * MiB;
	struct checker c;
	checker_open(&c, ops, &cfg);
	int ok;
	int rc = allocate_until_failure(&c, 4 * MiB, 64, &ok);
	if (rc != SIM_EOOM)
		fail_msg("%s: %d blocks of 4 MiB with 64 MiB mappable: %s %s",
			 ops->name, ok, sim_rc_name(rc), c.err.msg);
	assert_true(ok <= 16);     /* 16 x 4 MiB fill the cap exactly */
	assert_false(simos_oom_killed(engine_os(c.e)));
	assert_true(simos_rw_bytes(engine_os(c.e)) <= 64 * MiB);
	assert_sim_ok(engine_finish(c.e, &c.err), &c.err);
	engine_destroy(c.e);
}

/* After a run ended with SIM_EOOM at event i: the message names the
 * event, the accounting is consistent (what the strategy holds is mapped
 * read/write, nothing it handed out lies outside it) and the strategy's
 * own check passes (engine_finish runs it under --check). */
static void check_after_oom(struct checker *c, size_t i)
{
	char want[48];
	snprintf(want, sizeof want, "event %zu:", i);
	if (!strstr(c->err.msg, want))
		fail_msg("%s: OOM message does not name %s: %s", c->ops->name,
			 want, c->err.msg);
	const struct sim_stats *st = engine_stats(c->e);
	const struct simos *os = engine_os(c->e);
	assert_int_equal(st->events, i);
	assert_true(st->cur.alloc_bytes <= st->cur.heap_bytes);
	assert_true(simos_heap_bytes(os) <= simos_rw_bytes(os));
	assert_true(simos_rss_bytes(os) <= simos_rw_bytes(os));
	assert_sim_ok(engine_finish(c->e, &c->err), &c->err);
}

/* The n-th mmap or brk fails (and every k-th): each event either succeeds
 * or ends the run with SIM_EOOM; the strategy stays consistent. */
static void fault_run(const struct strategy_ops *ops,
		      const struct simos_faults *f, const struct gen *g)
{
	struct engine_config cfg;
	checked_config(&cfg);
	cfg.os.faults = *f;
	struct checker c;
	checker_open(&c, ops, &cfg);
	for (size_t i = 0; i < g->n; i++) {
		int rc = engine_step(c.e, &g->ev[i], &c.err);
		if (rc == SIM_EOOM) {
			check_after_oom(&c, i);
			engine_destroy(c.e);
			return;
		}
		if (rc != SIM_OK)
			fail_msg("%s: event %zu under a fault plan: %s: %s", ops->name,
				 i, sim_rc_name(rc), c.err.msg);
		check_accounting(&c, g, i);
	}
	assert_sim_ok(engine_finish(c.e, &c.err), &c.err);
	engine_destroy(c.e);
}

/* Plans that leave no way out: every mmap and brk fails (the first
 * allocation fails), or the mapped bytes are capped well below what a
 * sequence that never frees needs.  Every strategy must end the run with
 * SIM_EOOM at a named event, consistent, its check passing, and never map
 * past the cap. */
static void test_fault_must_oom(void **state)
{
	const struct strategy_ops *ops = OPS(state);
	static const uint64_t caps[] = {0, 1 * MiB, 8 * MiB, 40 * MiB};
	static const uint64_t sizes[] = {24, 3000, 70 * KiB, 1 * MiB};
	for (size_t k = 0; k < sizeof caps / sizeof *caps; k++) {
		struct engine_config cfg;
		checked_config(&cfg);
		if (caps[k] == 0)
			cfg.os.faults.fail_every_mmap = cfg.os.faults.fail_every_brk = 1;
		cfg.os.faults.max_mapped_bytes = caps[k];
		struct checker c;
		checker_open(&c, ops, &cfg);
		int ok;
		uint64_t size = sizes[k];
		int rc = allocate_until_failure(&c, size, 200000, &ok);
		if (rc != SIM_EOOM)
			fail_msg("%s: cap %" PRIu64 ": %d blocks of %" PRIu64 " bytes: "
				 "%s %s", ops->name, caps[k], ok, size,
				 sim_rc_name(rc), c.err.msg);
		if (caps[k] == 0)
			assert_int_equal(ok, 0);
		const struct simos *os = engine_os(c.e);
		if (caps[k])
			assert_true(simos_rw_bytes(os) + simos_reserved_bytes(os) <=
				    caps[k]);
		assert_false(simos_oom_killed(os));
		check_after_oom(&c, (size_t)ok);
		engine_destroy(c.e);
	}
}

static void test_fault_plan(void **state)
{
	const struct strategy_ops *ops = OPS(state);
	struct gen *g = gen_make(99, 1500, 1);
	for (uint64_t k = 1; k <= 6; k++) {
		struct simos_faults f;
		memset(&f, 0, sizeof f);
		f.fail_nth_mmap = k;
		fault_run(ops, &f, g);
		memset(&f, 0, sizeof f);
		f.fail_nth_brk = k;
		fault_run(ops, &f, g);
		memset(&f, 0, sizeof f);
		f.fail_nth_madvise = k;
		f.fail_nth_mremap = k;
		fault_run(ops, &f, g);
	}
	struct simos_faults f;
	memset(&f, 0, sizeof f);
	f.fail_every_mmap = 2;
	f.fail_every_brk = 2;
	fault_run(ops, &f, g);
	gen_destroy(g);
}

/* ---- one group per registered strategy ------------------------------------- */

static int run_group(const struct strategy_ops *ops)
{
	void *s = (void *)(uintptr_t)ops;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_random_1, s),
		cmocka_unit_test_prestate(test_random_2, s),
		cmocka_unit_test_prestate(test_random_3, s),
		cmocka_unit_test_prestate(test_default_reclaim, s),
		cmocka_unit_test_prestate(test_gc_reclaim, s),
		cmocka_unit_test_prestate(test_checkpoints, s),
		cmocka_unit_test_prestate(test_phases, s),
		cmocka_unit_test_prestate(test_realloc_chain, s),
		cmocka_unit_test_prestate(test_tiny_sizes, s),
		cmocka_unit_test_prestate(test_extreme_tids, s),
		cmocka_unit_test_prestate(test_alignments, s),
		cmocka_unit_test_prestate(test_determinism, s),
		cmocka_unit_test_prestate(test_run_one_determinism, s),
		cmocka_unit_test_prestate(test_double_free, s),
		cmocka_unit_test_prestate(test_memory_limit, s),
		cmocka_unit_test_prestate(test_fault_cap, s),
		cmocka_unit_test_prestate(test_fault_plan, s),
		cmocka_unit_test_prestate(test_fault_must_oom, s),
	};
	return cmocka_run_group_tests_name(ops->name, tests, NULL, NULL);
}

int main(int argc, char **argv)
{
	int failed = 0, n = 0;
	for (int i = 0; strategy_registry[i]; i++) {
		/* an optional argument restricts the run to one strategy */
		if (argc > 1 && strcmp(argv[1], strategy_registry[i]->name) != 0)
			continue;
		printf("# conformance: strategy %s\n", strategy_registry[i]->name);
		fflush(stdout);
		failed += run_group(strategy_registry[i]);
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "test_conformance: no strategy to test\n");
		return 1;
	}
	return failed ? 1 : 0;
}
