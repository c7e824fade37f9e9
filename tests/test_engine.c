/*
 * test_engine.c - does the core keep its calling contract with strategies?
 *
 * A "spy" strategy defined here records every operation the engine calls
 * (with its arguments) and hands out blocks of a predictable shape: a plain
 * bump pointer in 1 MiB mmap'd chunks, usable size = the request rounded up
 * to 32 bytes plus 32, so a usable size is never the requested size and a
 * free that passes the wrong one is caught.  Switches in the spy let a test
 * make alloc or realloc fail, or hand out a broken block, to see that the
 * engine turns each into the documented error.
 *
 * The expected numbers (addresses, clock values, page faults) are worked
 * out by hand from the spy's placement and the simulated OS's fixed layout
 * and costs, stated beside each assertion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"
#include "harness.h"

/* ---- the spy ------------------------------------------------------------ */

enum spy_op { OP_INIT, OP_ALLOC, OP_FREE, OP_REALLOC, OP_TICK, OP_CHECK,
	      OP_FINI, OP_GC_BEGIN, OP_GC_END };

struct call {
	enum spy_op op;
	uint32_t tid;
	uint64_t addr, size, align, usable, ret, now;
	unsigned flags;
};

#define MAX_CALLS 4096
#define CHUNK (UINT64_C(1) << 20)

/* What the spy does wrong on purpose. */
enum spy_mode { SPY_GOOD, SPY_OVERLAP, SPY_MISALIGN, SPY_OUTSIDE, SPY_SHORT };

static struct {
	struct call calls[MAX_CALLS];
	int n;
	int fail_alloc, fail_realloc, fail_check;  /* make the next ... fail */
	enum spy_mode mode;
	int64_t param0;
	int init_saw_zeroed_state;
} spy;

struct spy_state {
	const struct strategy_env *env;
	uint64_t cur, end, last;     /* bump pointer; last block handed out */
	uint64_t hits, misses, locks;
	void *meta;                  /* some host metadata, via env->halloc */
	uint64_t guard[4];
};

static void record(struct call c)
{
	if (spy.n < MAX_CALLS)
		spy.calls[spy.n++] = c;
}

static uint64_t round_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static uint64_t spy_usable(uint64_t size)
{
	return round_up(size, 32) + 32;
}

static int spy_init(void *self, const struct strategy_env *env,
		    const union param_value *params, struct sim_err *err)
{
	(void)err;
	struct spy_state *s = self;
	static const struct spy_state zero;
	spy.init_saw_zeroed_state = memcmp(s, &zero, sizeof zero) == 0;
	s->env = env;
	spy.param0 = params[0].i;
	s->meta = strat_halloc(env, 1000);
	record((struct call){.op = OP_INIT});
	return s->meta ? SIM_OK : SIM_ENOMEM;
}

static void spy_fini(void *self)
{
	struct spy_state *s = self;
	strat_hfree(s->env, s->meta, 1000);
	record((struct call){.op = OP_FINI});
}

/* Place a block of n usable bytes aligned to a; 0 when out of memory. */
static uint64_t place(struct spy_state *s, uint64_t n, uint64_t a)
{
	uint64_t p = round_up(s->cur, a);
	if (s->cur == 0 || p + n > s->end) {
		uint64_t len = round_up(n + a, CHUNK), at;
		if (simos_mmap(s->env->os, 0, len, SIMOS_PROT_RW, 0, &at) != SIM_OK)
			return 0;
		s->cur = at;
		s->end = at + len;
		p = round_up(s->cur, a);
	}
	s->cur = p + n;
	return p;
}

static uint64_t spy_alloc(void *self, uint32_t tid, uint64_t size,
			  uint64_t align, unsigned flags, uint64_t *usable)
{
	struct spy_state *s = self;
	uint64_t u = spy_usable(size), p = 0;
	if (spy.fail_alloc) {
		spy.fail_alloc = 0;
	} else if (spy.mode == SPY_OVERLAP && s->last) {
		p = s->last;                  /* the previous block again */
	} else {
		p = place(s, u, align > 16 ? align : 16);
		if (p && spy.mode == SPY_MISALIGN)
			p += 8;
		if (p && spy.mode == SPY_OUTSIDE)
			p = s->end;           /* just past the mapping */
		if (spy.mode == SPY_SHORT)
			u = size - 1;
	}
	if (p) {
		*usable = u;
		s->last = p;
		s->misses++;
		s->locks++;
	}
	record((struct call){.op = OP_ALLOC, .tid = tid, .size = size,
			     .align = align, .flags = flags, .ret = p,
			     .usable = p ? u : 0});
	return p;
}

static void spy_free(void *self, uint32_t tid, uint64_t addr, uint64_t usable)
{
	struct spy_state *s = self;
	s->hits++;
	record((struct call){.op = OP_FREE, .tid = tid, .addr = addr,
			     .usable = usable});
}

static uint64_t spy_realloc(void *self, uint32_t tid, uint64_t addr,
			    uint64_t old_usable, uint64_t size, uint64_t *usable)
{
	struct spy_state *s = self;
	uint64_t p = 0, u = spy_usable(size);
	if (spy.fail_realloc)
		spy.fail_realloc = 0;
	else if (u <= old_usable)
		p = addr, u = old_usable;     /* shrink in place */
	else
		p = place(s, u, 16);
	if (p)
		*usable = u;
	record((struct call){.op = OP_REALLOC, .tid = tid, .addr = addr,
			     .usable = old_usable, .size = size, .ret = p});
	return p;
}

static void spy_tick(void *self, uint64_t now_ns)
{
	(void)self;
	record((struct call){.op = OP_TICK, .now = now_ns});
}

static int spy_check(void *self, struct sim_err *err)
{
	(void)self;
	record((struct call){.op = OP_CHECK});
	if (spy.fail_check)
		return SIM_ERR(err, SIM_ECHECK, "spy: invariant broken on purpose");
	return SIM_OK;
}

static void spy_gc_begin(void *self)
{
	(void)self;
	record((struct call){.op = OP_GC_BEGIN});
}

static void spy_gc_end(void *self)
{
	(void)self;
	record((struct call){.op = OP_GC_END});
}

static void spy_counters(void *self, uint64_t *v)
{
	struct spy_state *s = self;
	v[0] = s->hits;
	v[1] = s->misses;
	v[2] = s->locks;
	v[3] = 4242;
}

static const struct strategy_param spy_params[] = {
	{"knob", PARAM_INT, "7", 0, 100, "a parameter init must see"},
	{NULL, 0, NULL, 0, 0, NULL}
};

static const char *const spy_counter_names[] = {
	"cache_hits", "cache_misses", "lock_acquires", "meta_bytes", NULL
};

static const struct strategy_ops spy_ops = {
	.abi_version = STRATEGY_ABI_VERSION,
	.name = "spy",
	.summary = "records every call",
	.state_size = sizeof(struct spy_state),
	.params = spy_params,
	.counter_names = spy_counter_names,
	.reclaim_default = SIM_RECLAIM_IMMEDIATE,
	.max_align = 16,
	.init = spy_init,
	.fini = spy_fini,
	.alloc = spy_alloc,
	.free = spy_free,
	.realloc = spy_realloc,
	.gc_begin = spy_gc_begin,
	.gc_end = spy_gc_end,
	.tick = spy_tick,
	.check = spy_check,
	.counters = spy_counters,
};

/* The same spy without realloc: the engine must fall back. */
static const struct strategy_ops spy_norealloc_ops = {
	.abi_version = STRATEGY_ABI_VERSION,
	.name = "spynr",
	.summary = "records every call, has no realloc",
	.state_size = sizeof(struct spy_state),
	.params = spy_params,
	.counter_names = spy_counter_names,
	.reclaim_default = SIM_RECLAIM_IMMEDIATE,
	.max_align = 16,
	.init = spy_init,
	.fini = spy_fini,
	.alloc = spy_alloc,
	.free = spy_free,
	.counters = spy_counters,
};

/* ---- helpers -------------------------------------------------------------- */

struct fixture {
	struct engine *e;
	struct engine_config cfg;
	union param_value params[1];
	struct sim_err err;
};

/* Chunk of the first mmap: top-down below the mmap base. */
#define FIRST_CHUNK (SIMOS_MMAP_BASE - CHUNK)

static int setup(void **state)
{
	static struct fixture f;
	memset(&f, 0, sizeof f);
	memset(&spy, 0, sizeof spy);
	engine_config_default(&f.cfg);
	f.cfg.tick_ns = 0;
	f.cfg.sample_every = 0;
	f.params[0].i = 7;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	engine_destroy(f->e);
	f->e = NULL;
	return 0;
}

static void open_engine(struct fixture *f, const struct strategy_ops *ops)
{
	int rc = engine_create(&f->cfg, ops, f->params, &f->e, &f->err);
	assert_sim_ok(rc, &f->err);
}

static struct sim_event ev(int kind, uint32_t tid, uint64_t id, uint64_t id2,
			   uint64_t size, uint64_t align)
{
	return (struct sim_event){.kind = (uint8_t)kind, .tid = tid, .id = id,
				  .id2 = id2, .size = size, .align = align};
}

static int step(struct fixture *f, struct sim_event e)
{
	return engine_step(f->e, &e, &f->err);
}

static void step_ok(struct fixture *f, struct sim_event e)
{
	int rc = step(f, e);
	assert_sim_ok(rc, &f->err);
}

/* The i-th recorded call of kind op (from 0), or fail. */
static const struct call *nth_call(enum spy_op op, int i)
{
	for (int k = 0; k < spy.n; k++)
		if (spy.calls[k].op == op && i-- == 0)
			return &spy.calls[k];
	fail_msg("no call %d of kind %d", i, op);
	return NULL;
}

static int count_calls(enum spy_op op)
{
	int n = 0;
	for (int k = 0; k < spy.n; k++)
		n += spy.calls[k].op == op;
	return n;
}

/* ---- the tests -------------------------------------------------------------- */

/* init gets zeroed state and the parameter values; fini runs at destroy. */
static void test_init_and_fini(void **state)
{
	struct fixture *f = *state;
	f->params[0].i = 55;
	open_engine(f, &spy_ops);
	assert_int_equal(spy.calls[0].op, OP_INIT);
	assert_int_equal(spy.init_saw_zeroed_state, 1);
	assert_int_equal(spy.param0, 55);
	/* the spy's 1000 bytes of host metadata are counted */
	assert_true(engine_host_bytes_peak(f->e) >= 1000);
	assert_int_equal(count_calls(OP_FINI), 0);
	engine_destroy(f->e);
	f->e = NULL;
	assert_int_equal(count_calls(OP_FINI), 1);
}

/* free gets the address and the usable size alloc returned, and the tid of
 * the free event, not of the alloc. */
static void test_free_gets_usable(void **state)
{
	struct fixture *f = *state;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 3, 1, 0, 100, 0));
	step_ok(f, ev(EV_ALLOC, 4, 2, 0, 33, 0));
	const struct call *a1 = nth_call(OP_ALLOC, 0), *a2 = nth_call(OP_ALLOC, 1);
	assert_int_equal(a1->tid, 3);
	assert_int_equal(a1->size, 100);
	assert_int_equal(a1->ret, FIRST_CHUNK);
	assert_int_equal(a1->usable, 160);     /* round_up(100, 32) + 32 */
	assert_int_equal(a2->ret, FIRST_CHUNK + 160);
	assert_int_equal(a2->usable, 96);      /* round_up(33, 32) + 32 */
	const struct sim_stats *st = engine_stats(f->e);
	assert_int_equal(st->cur.live_bytes, 133);
	assert_int_equal(st->cur.alloc_bytes, 256);
	assert_int_equal(st->cur.live_objects, 2);
	step_ok(f, ev(EV_FREE, 9, 1, 0, 0, 0));
	const struct call *fr = nth_call(OP_FREE, 0);
	assert_int_equal(fr->tid, 9);
	assert_int_equal(fr->addr, FIRST_CHUNK);
	assert_int_equal(fr->usable, 160);
	assert_int_equal(st->cur.live_bytes, 33);
	assert_int_equal(st->cur.alloc_bytes, 96);
	assert_int_equal(st->cur.live_objects, 1);
	step_ok(f, ev(EV_FREE, 4, 2, 0, 0, 0));
	fr = nth_call(OP_FREE, 1);
	assert_int_equal(fr->addr, FIRST_CHUNK + 160);
	assert_int_equal(fr->usable, 96);
	assert_int_equal(st->cur.alloc_bytes, 0);
	assert_int_equal(st->cur.live_objects, 0);
	assert_int_equal(st->allocs, 2);
	assert_int_equal(st->frees, 2);
	assert_int_equal(st->events, 4);
}

/* Flags and alignment per event kind. */
static void test_alloc_flags(void **state)
{
	struct fixture *f = *state;
	f->cfg.check = 1;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 10, 0));
	step_ok(f, ev(EV_CALLOC, 0, 2, 0, 10, 0));
	step_ok(f, ev(EV_MEMALIGN, 0, 3, 0, 10, 4096));
	const struct call *a = nth_call(OP_ALLOC, 0);
	assert_int_equal(a->flags, 0);
	assert_int_equal(a->align, 0);
	a = nth_call(OP_ALLOC, 1);
	assert_int_equal(a->flags, STRAT_ZERO);
	assert_int_equal(a->align, 0);
	a = nth_call(OP_ALLOC, 2);
	assert_int_equal(a->flags, STRAT_ALIGNED);
	assert_int_equal(a->align, 4096);
	assert_int_equal(a->ret % 4096, 0);
	/* the Lua-side flags (NOSCAN) pass through */
	struct sim_event e = ev(EV_ALLOC, 0, 4, 0, 10, 0);
	e.flags = STRAT_NOSCAN;
	step_ok(f, e);
	assert_int_equal(nth_call(OP_ALLOC, 3)->flags, STRAT_NOSCAN);
}

/* With a realloc op: one realloc call, with the old usable size. */
static void test_realloc_op(void **state)
{
	struct fixture *f = *state;
	f->cfg.check = 1;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 1, 1, 0, 100, 0));          /* usable 160 */
	step_ok(f, ev(EV_REALLOC, 2, 1, 2, 1000, 0));       /* moves */
	assert_int_equal(count_calls(OP_ALLOC), 1);
	assert_int_equal(count_calls(OP_FREE), 0);
	const struct call *r = nth_call(OP_REALLOC, 0);
	assert_int_equal(r->tid, 2);
	assert_int_equal(r->addr, FIRST_CHUNK);
	assert_int_equal(r->usable, 160);
	assert_int_equal(r->size, 1000);
	assert_int_equal(r->ret, FIRST_CHUNK + 160);
	const struct sim_stats *st = engine_stats(f->e);
	assert_int_equal(st->cur.live_bytes, 1000);
	assert_int_equal(st->cur.alloc_bytes, 1056);  /* round_up(1000,32)+32 */
	assert_int_equal(st->cur.live_objects, 1);
	assert_int_equal(st->reallocs, 1);
	assert_int_equal(st->allocs, 1);
	/* shrink in place, same ID */
	step_ok(f, ev(EV_REALLOC, 2, 2, 2, 10, 0));
	r = nth_call(OP_REALLOC, 1);
	assert_int_equal(r->addr, FIRST_CHUNK + 160);
	assert_int_equal(r->usable, 1056);
	assert_int_equal(st->cur.live_bytes, 10);
	assert_int_equal(st->cur.alloc_bytes, 1056);
	/* the old ID is gone */
	assert_int_equal(step(f, ev(EV_FREE, 0, 1, 0, 0, 0)), SIM_EWORKLOAD);
}

static void test_realloc_then_free(void **state)
{
	struct fixture *f = *state;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 1, 1, 0, 100, 0));
	step_ok(f, ev(EV_REALLOC, 2, 1, 2, 1000, 0));
	step_ok(f, ev(EV_FREE, 2, 2, 0, 0, 0));
	const struct call *fr = nth_call(OP_FREE, 0);
	assert_int_equal(fr->addr, FIRST_CHUNK + 160);
	assert_int_equal(fr->usable, 1056);
	assert_int_equal(engine_stats(f->e)->cur.alloc_bytes, 0);
}

/* realloc(NULL, n) is an alloc, never a realloc call. */
static void test_realloc_null(void **state)
{
	struct fixture *f = *state;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_REALLOC, 5, 0, 1, 64, 0));
	assert_int_equal(count_calls(OP_REALLOC), 0);
	const struct call *a = nth_call(OP_ALLOC, 0);
	assert_int_equal(a->tid, 5);
	assert_int_equal(a->size, 64);
	assert_int_equal(a->flags, 0);
	assert_int_equal(engine_stats(f->e)->cur.live_objects, 1);
	step_ok(f, ev(EV_FREE, 5, 1, 0, 0, 0));
	assert_int_equal(nth_call(OP_FREE, 0)->usable, 96);
}

/* Without a realloc op: alloc of the new size, then free of the old block
 * with its usable size, in that order. */
static void test_realloc_fallback(void **state)
{
	struct fixture *f = *state;
	f->cfg.check = 1;
	open_engine(f, &spy_norealloc_ops);
	step_ok(f, ev(EV_ALLOC, 1, 1, 0, 100, 0));
	int before = spy.n;
	step_ok(f, ev(EV_REALLOC, 3, 1, 2, 500, 0));
	assert_int_equal(spy.n, before + 2);
	const struct call *a = &spy.calls[before], *fr = &spy.calls[before + 1];
	assert_int_equal(a->op, OP_ALLOC);
	assert_int_equal(a->tid, 3);
	assert_int_equal(a->size, 500);
	assert_int_equal(a->flags, 0);
	assert_int_equal(a->ret, FIRST_CHUNK + 160);
	assert_int_equal(fr->op, OP_FREE);
	assert_int_equal(fr->tid, 3);
	assert_int_equal(fr->addr, FIRST_CHUNK);
	assert_int_equal(fr->usable, 160);
	const struct sim_stats *st = engine_stats(f->e);
	assert_int_equal(st->cur.live_bytes, 500);
	assert_int_equal(st->cur.alloc_bytes, 544);
	assert_int_equal(st->cur.live_objects, 1);
	/* a failing fallback alloc frees nothing and ends the run with oom */
	spy.fail_alloc = 1;
	before = spy.n;
	assert_int_equal(step(f, ev(EV_REALLOC, 3, 2, 3, 5000, 0)), SIM_EOOM);
	assert_int_equal(spy.n, before + 1);
	assert_int_equal(spy.calls[before].op, OP_ALLOC);
}

/* A free of an ID that is not live is a workload error naming the event. */
static void test_unknown_free(void **state)
{
	struct fixture *f = *state;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 8, 0));
	step_ok(f, ev(EV_ALLOC, 0, 2, 0, 8, 0));
	step_ok(f, ev(EV_FREE, 0, 1, 0, 0, 0));
	int rc = step(f, ev(EV_FREE, 0, 77, 0, 0, 0));
	assert_int_equal(rc, SIM_EWORKLOAD);
	assert_int_equal(f->err.code, SIM_EWORKLOAD);
	assert_non_null(strstr(f->err.msg, "event 3"));
	assert_non_null(strstr(f->err.msg, "77"));
	assert_int_equal(count_calls(OP_FREE), 1);
}

static void test_double_free(void **state)
{
	struct fixture *f = *state;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 8, 0));
	step_ok(f, ev(EV_FREE, 0, 1, 0, 0, 0));
	assert_int_equal(step(f, ev(EV_FREE, 0, 1, 0, 0, 0)), SIM_EWORKLOAD);
	assert_non_null(strstr(f->err.msg, "event 2"));
	assert_int_equal(count_calls(OP_FREE), 1);
	/* the state was not changed by the bad event */
	assert_int_equal(engine_stats(f->e)->events, 2);
	assert_int_equal(engine_stats(f->e)->cur.live_objects, 0);
}

static void test_realloc_unknown(void **state)
{
	struct fixture *f = *state;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 8, 0));
	assert_int_equal(step(f, ev(EV_REALLOC, 0, 9, 10, 8, 0)), SIM_EWORKLOAD);
	assert_non_null(strstr(f->err.msg, "event 1"));
	assert_int_equal(count_calls(OP_REALLOC), 0);
}

/* IDs either side of the object table's 32-bit key (2^32 - 1 and more go
 * whole to its spill map) are objects like any other: each free reaches
 * the strategy with its own block, a realloc moves one to another, a
 * second free of one is an error. */
static void test_big_ids(void **state)
{
	struct fixture *f = *state;
	static const uint64_t ids[] = {
		UINT64_C(0xFFFFFFFE), UINT64_C(0xFFFFFFFF), UINT64_C(1) << 32,
		UINT64_C(1) << 63 | 5, UINT64_MAX,
	};
	const int n = (int)(sizeof ids / sizeof *ids);
	open_engine(f, &spy_ops);
	for (int i = 0; i < n; i++)
		step_ok(f, ev(EV_ALLOC, 0, ids[i], 0, 100 + 32 * (uint64_t)i, 0));
	step_ok(f, ev(EV_REALLOC, 1, ids[3], UINT64_C(1) << 40, 1000, 0));
	assert_int_equal(nth_call(OP_REALLOC, 0)->addr, nth_call(OP_ALLOC, 3)->ret);
	assert_int_equal(step(f, ev(EV_FREE, 0, ids[3], 0, 0, 0)), SIM_EWORKLOAD);
	int frees = 0;
	for (int i = n - 1; i >= 0; i--) {
		if (i == 3)
			continue;
		step_ok(f, ev(EV_FREE, 2, ids[i], 0, 0, 0));
		const struct call *fr = nth_call(OP_FREE, frees++);
		assert_int_equal(fr->addr, nth_call(OP_ALLOC, i)->ret);
		assert_int_equal(fr->usable, nth_call(OP_ALLOC, i)->usable);
		assert_int_equal(step(f, ev(EV_FREE, 0, ids[i], 0, 0, 0)),
				 SIM_EWORKLOAD);
	}
	step_ok(f, ev(EV_FREE, 0, UINT64_C(1) << 40, 0, 0, 0));
	assert_int_equal(nth_call(OP_FREE, frees)->addr,
			 nth_call(OP_REALLOC, 0)->ret);
	/* Enough big IDs that their probe runs meet: each free must still
	 * find its own block, not another big ID's. */
	const int m = 1500, a0 = count_calls(OP_ALLOC), f0 = count_calls(OP_FREE);
	for (int i = 0; i < m; i++)
		step_ok(f, ev(EV_ALLOC, 0, (UINT64_C(1) << 33) * (uint64_t)(i + 1),
			      0, 16, 0));
	for (int i = 0; i < m; i++) {
		step_ok(f, ev(EV_FREE, 0, (UINT64_C(1) << 33) * (uint64_t)(i + 1),
			      0, 0, 0));
		assert_int_equal(nth_call(OP_FREE, f0 + i)->addr,
				 nth_call(OP_ALLOC, a0 + i)->ret);
	}
	const struct sim_stats *st = engine_stats(f->e);
	assert_int_equal(st->cur.live_objects, 0);
	assert_int_equal(st->cur.live_bytes, 0);
	assert_int_equal(st->cur.alloc_bytes, 0);
}

/* Allocating to an ID that is live is an error, and reaches no strategy. */
static void test_reused_id(void **state)
{
	struct fixture *f = *state;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 8, 0));
	step_ok(f, ev(EV_ALLOC, 0, 2, 0, 8, 0));
	assert_int_equal(step(f, ev(EV_CALLOC, 0, 2, 0, 8, 0)), SIM_EWORKLOAD);
	assert_non_null(strstr(f->err.msg, "event 2"));
	assert_int_equal(count_calls(OP_ALLOC), 2);
	assert_int_equal(engine_stats(f->e)->cur.live_objects, 2);
}

static void test_reused_id_realloc(void **state)
{
	struct fixture *f = *state;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 8, 0));
	step_ok(f, ev(EV_ALLOC, 0, 2, 0, 8, 0));
	assert_int_equal(step(f, ev(EV_REALLOC, 0, 1, 2, 80, 0)), SIM_EWORKLOAD);
	assert_int_equal(count_calls(OP_REALLOC), 0);
	assert_int_equal(engine_stats(f->e)->cur.live_bytes, 16);
}

/* ID 0 means "no object" (realloc(NULL)); no object may have it. */
static void test_id_zero(void **state)
{
	struct fixture *f = *state;
	open_engine(f, &spy_ops);
	assert_int_equal(step(f, ev(EV_ALLOC, 0, 0, 0, 8, 0)), SIM_EWORKLOAD);
	assert_non_null(strstr(f->err.msg, "event 0"));
	assert_int_equal(count_calls(OP_ALLOC), 0);
}

/* Sizes beyond 2^48 and alignments that are not powers of two (up to
 * 2^48) are workload errors, whatever the source: no strategy sees them. */
static void test_request_limits(void **state)
{
	struct fixture *f = *state;
	open_engine(f, &spy_ops);
	assert_int_equal(step(f, ev(EV_ALLOC, 0, 1, 0, SIM_MAX_SIZE + 1, 0)),
			 SIM_EWORKLOAD);
	assert_non_null(strstr(f->err.msg, "event 0"));
	assert_int_equal(step(f, ev(EV_CALLOC, 0, 1, 0, UINT64_MAX, 0)),
			 SIM_EWORKLOAD);
	assert_int_equal(step(f, ev(EV_MEMALIGN, 0, 1, 0, 10, 24)), SIM_EWORKLOAD);
	assert_non_null(strstr(f->err.msg, "24"));
	assert_int_equal(step(f, ev(EV_MEMALIGN, 0, 1, 0, 10,
				   SIM_MAX_SIZE << 1)), SIM_EWORKLOAD);
	assert_int_equal(step(f, ev(EV_REALLOC, 0, 0, 1, SIM_MAX_SIZE + 1, 0)),
			 SIM_EWORKLOAD);
	assert_int_equal(count_calls(OP_ALLOC), 0);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 10, 0));
	assert_int_equal(step(f, ev(EV_REALLOC, 0, 1, 2, SIM_MAX_SIZE + 1, 0)),
			 SIM_EWORKLOAD);
	assert_int_equal(count_calls(OP_REALLOC), 0);
	assert_int_equal(engine_stats(f->e)->cur.live_bytes, 10);
	/* 2^48 itself reaches the strategy (which has no room for it) */
	assert_int_equal(step(f, ev(EV_ALLOC, 0, 2, 0, SIM_MAX_SIZE, 0)), SIM_EOOM);
	assert_int_equal(count_calls(OP_ALLOC), 2);
}

/* A strategy that returns 0 ends the run with SIM_EOOM naming the event. */
static void test_alloc_oom(void **state)
{
	struct fixture *f = *state;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 8, 0));
	spy.fail_alloc = 1;
	assert_int_equal(step(f, ev(EV_ALLOC, 0, 2, 0, 12345, 0)), SIM_EOOM);
	assert_int_equal(f->err.code, SIM_EOOM);
	assert_non_null(strstr(f->err.msg, "event 1"));
	assert_non_null(strstr(f->err.msg, "12345"));
	const struct sim_stats *st = engine_stats(f->e);
	assert_int_equal(st->cur.live_objects, 1);
	assert_int_equal(st->allocs, 1);
	assert_int_equal(engine_finish(f->e, &f->err), SIM_OK);
}

static void test_realloc_oom(void **state)
{
	struct fixture *f = *state;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 8, 0));
	spy.fail_realloc = 1;
	assert_int_equal(step(f, ev(EV_REALLOC, 0, 1, 2, 4000, 0)), SIM_EOOM);
	assert_non_null(strstr(f->err.msg, "event 1"));
	/* the old block is intact: nothing was freed */
	assert_int_equal(count_calls(OP_FREE), 0);
	assert_int_equal(engine_stats(f->e)->cur.live_bytes, 8);
}

/* The clock: event_ns an event, plus 1 us a system call and 250 ns a page
 * made resident (the simulated OS's defaults); ticks on the tick period. */
static void test_clock(void **state)
{
	struct fixture *f = *state;
	f->cfg.tick_ns = 1000;
	open_engine(f, &spy_ops);
	const struct sim_stats *st = engine_stats(f->e);
	assert_int_equal(st->cur.t_ns, 0);
	/* mmap (1000) + 1 page touched (250) + 20 */
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 100, 0));
	assert_int_equal(st->cur.t_ns, 1270);
	assert_int_equal(count_calls(OP_TICK), 1);
	assert_int_equal(nth_call(OP_TICK, 0)->now, 1000);
	/* same page, no call: 20 */
	step_ok(f, ev(EV_ALLOC, 0, 2, 0, 100, 0));
	assert_int_equal(st->cur.t_ns, 1290);
	/* block at +320 of 10000 bytes reaches pages 1 and 2: 500 + 20 */
	step_ok(f, ev(EV_ALLOC, 0, 3, 0, 10000, 0));
	assert_int_equal(st->cur.t_ns, 1810);
	assert_int_equal(simos_counts(engine_os(f->e))->page_faults, 3);
	step_ok(f, ev(EV_FREE, 0, 3, 0, 0, 0));
	assert_int_equal(st->cur.t_ns, 1830);
	assert_int_equal(count_calls(OP_TICK), 1);
	/* a clock mark moves the clock to it; ticks catch up in order */
	step_ok(f, ev(EV_CLOCK, 0, 0, 0, 5000, 0));
	assert_true(st->cur.t_ns >= 5000 && st->cur.t_ns <= 5020);
	assert_int_equal(count_calls(OP_TICK), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(nth_call(OP_TICK, i)->now, 1000 * (uint64_t)(i + 1));
	/* a mark in the past never moves the clock back */
	uint64_t t = st->cur.t_ns;
	step_ok(f, ev(EV_CLOCK, 0, 0, 0, 100, 0));
	assert_int_equal(st->cur.t_ns, t + 20);
	step_ok(f, ev(EV_GC, 0, 0, 0, 0, 0));
	assert_int_equal(st->cur.t_ns, t + 40);
	assert_int_equal(st->events, 7);
}

/* A clock mark far ahead (a sparse or broken trace) must not stall the run
 * with one tick per period passed, nor wrap the clock around. */
static void test_clock_jump(void **state)
{
	struct fixture *f = *state;
	f->cfg.tick_ns = 1000;
	open_engine(f, &spy_ops);
	const struct sim_stats *st = engine_stats(f->e);
	step_ok(f, ev(EV_CLOCK, 0, 0, 0, UINT64_C(1000000000000000), 0));
	int n = count_calls(OP_TICK);
	assert_true(n >= 1 && n <= 4096);
	uint64_t last = nth_call(OP_TICK, n - 1)->now;
	assert_true(last <= st->cur.t_ns && last + 1000 > st->cur.t_ns);
	for (int i = 1; i < n; i++)
		assert_true(nth_call(OP_TICK, i)->now > nth_call(OP_TICK, i - 1)->now);
	/* near the end of time the clock stops, it does not wrap */
	step_ok(f, ev(EV_CLOCK, 0, 0, 0, UINT64_MAX - 5, 0));
	assert_true(st->cur.t_ns >= UINT64_MAX - 5);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 10, 0));
	assert_true(st->cur.t_ns >= UINT64_MAX - 5);
}

/* event_ns is a parameter; without touch there are no page faults. */
static void test_clock_no_touch(void **state)
{
	struct fixture *f = *state;
	f->cfg.event_ns = 7;
	f->cfg.touch = 0;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 100000, 0));
	assert_int_equal(engine_stats(f->e)->cur.t_ns, 1007);
	assert_int_equal(engine_stats(f->e)->cur.rss_bytes, 0);
	assert_int_equal(engine_stats(f->e)->cur.heap_bytes, CHUNK);
	step_ok(f, ev(EV_FREE, 0, 1, 0, 0, 0));
	assert_int_equal(engine_stats(f->e)->cur.t_ns, 1014);
}

/* The gauges read from the simulated OS after every event. */
static void test_os_gauges(void **state)
{
	struct fixture *f = *state;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 5000, 0));   /* pages 0 and 1 */
	const struct sim_stats *st = engine_stats(f->e);
	assert_int_equal(st->cur.heap_bytes, CHUNK);
	assert_int_equal(st->cur.rss_bytes, 8192);
	assert_int_equal(st->peak.rss_bytes, 8192);
	/* the strategy's meta_bytes counter becomes the meta_bytes gauge */
	const uint64_t *c = engine_counters(f->e);
	assert_int_equal(engine_counter_count(f->e), 4);
	assert_int_equal(c[1], 1);
	assert_int_equal(c[3], 4242);
}

/* GC mode: a free makes the object dead and reaches the strategy only in
 * the next cycle, between gc_begin and gc_end, with its usable size. */
static void test_gc_mode(void **state)
{
	struct fixture *f = *state;
	f->cfg.reclaim = SIM_RECLAIM_GC;
	f->cfg.check = 1;
	open_engine(f, &spy_ops);
	assert_int_equal(engine_reclaim(f->e), SIM_RECLAIM_GC);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 100, 0));         /* usable 160 */
	step_ok(f, ev(EV_ALLOC, 0, 2, 0, 200, 0));         /* usable 256 */
	step_ok(f, ev(EV_FREE, 4, 1, 0, 0, 0));
	const struct sim_stats *st = engine_stats(f->e);
	assert_int_equal(count_calls(OP_FREE), 0);
	assert_int_equal(st->cur.live_bytes, 200);
	assert_int_equal(st->cur.dead_bytes, 100);
	assert_int_equal(st->cur.alloc_bytes, 416);
	assert_int_equal(st->cur.live_objects, 1);
	/* a dead object cannot be freed again */
	assert_int_equal(step(f, ev(EV_FREE, 0, 1, 0, 0, 0)), SIM_EWORKLOAD);
	engine_destroy(f->e);
	f->e = NULL;
	memset(&spy, 0, sizeof spy);
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 100, 0));
	step_ok(f, ev(EV_ALLOC, 0, 2, 0, 200, 0));
	step_ok(f, ev(EV_FREE, 4, 1, 0, 0, 0));
	int before = spy.n;
	step_ok(f, ev(EV_GC, 0, 0, 0, 0, 0));
	/* the calls of the cycle, background work (ticks) aside */
	struct call cyc[8];
	int n = 0;
	for (int k = before; k < spy.n && n < 8; k++)
		if (spy.calls[k].op != OP_TICK)
			cyc[n++] = spy.calls[k];
	assert_int_equal(n, 3);
	assert_int_equal(cyc[0].op, OP_GC_BEGIN);
	assert_int_equal(cyc[1].op, OP_FREE);
	assert_int_equal(cyc[1].tid, 4);
	assert_int_equal(cyc[1].addr, FIRST_CHUNK);
	assert_int_equal(cyc[1].usable, 160);
	assert_int_equal(cyc[2].op, OP_GC_END);
	st = engine_stats(f->e);
	assert_int_equal(st->cur.dead_bytes, 0);
	assert_int_equal(st->cur.alloc_bytes, 256);
	assert_int_equal(st->gc_cycles, 1);
	assert_int_equal(st->frees, 1);
}

/* GC mode: realloc is a new block; the old one is garbage until a cycle. */
static void test_gc_realloc(void **state)
{
	struct fixture *f = *state;
	f->cfg.reclaim = SIM_RECLAIM_GC;
	f->cfg.check = 1;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 100, 0));
	step_ok(f, ev(EV_REALLOC, 0, 1, 2, 300, 0));
	assert_int_equal(count_calls(OP_REALLOC), 0);
	assert_int_equal(count_calls(OP_ALLOC), 2);
	assert_int_equal(count_calls(OP_FREE), 0);
	const struct sim_stats *st = engine_stats(f->e);
	assert_int_equal(st->cur.live_bytes, 300);
	assert_int_equal(st->cur.dead_bytes, 100);
	assert_int_equal(st->cur.alloc_bytes, 160 + 352);
	step_ok(f, ev(EV_GC, 0, 0, 0, 0, 0));
	assert_int_equal(nth_call(OP_FREE, 0)->addr, FIRST_CHUNK);
	assert_int_equal(st->cur.alloc_bytes, 352);
	step_ok(f, ev(EV_FREE, 0, 2, 0, 0, 0));
	step_ok(f, ev(EV_GC, 0, 0, 0, 0, 0));
	assert_int_equal(nth_call(OP_FREE, 1)->usable, 352);
	assert_int_equal(st->cur.alloc_bytes, 0);
	assert_int_equal(st->gc_cycles, 2);
}

/* The strategy's meta_bytes counter is the meta_bytes gauge, and a gauge's
 * peak is never below its final value. */
static void test_meta_bytes(void **state)
{
	struct fixture *f = *state;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 10, 0));
	assert_sim_ok(engine_finish(f->e, &f->err), &f->err);
	const struct sim_stats *st = engine_stats(f->e);
	assert_int_equal(st->cur.meta_bytes, 4242);
	assert_int_equal(st->peak.meta_bytes, 4242);
}

/* An event of no known kind is a workload error. */
static void test_unknown_kind(void **state)
{
	struct fixture *f = *state;
	open_engine(f, &spy_ops);
	assert_int_equal(step(f, ev('z', 0, 1, 0, 10, 0)), SIM_EWORKLOAD);
	assert_non_null(strstr(f->err.msg, "event 0"));
	assert_int_equal(count_calls(OP_ALLOC), 0);
}

/* The shadow checker catches each broken block, and only with --check. */
static void expect_check_failure(struct fixture *f, enum spy_mode mode,
				 const char *what)
{
	f->cfg.check = 1;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 64, 0));
	spy.mode = mode;
	int rc = step(f, ev(EV_ALLOC, 0, 2, 0, 64, 0));
	assert_int_equal(rc, SIM_ECHECK);
	assert_non_null(strstr(f->err.msg, "event 1"));
	if (!strstr(f->err.msg, what))
		fail_msg("message '%s' does not say '%s'", f->err.msg, what);
}

static void test_check_overlap(void **state)
{
	expect_check_failure(*state, SPY_OVERLAP, "overlaps");
}

static void test_check_misaligned(void **state)
{
	expect_check_failure(*state, SPY_MISALIGN, "aligned");
}

static void test_check_outside(void **state)
{
	expect_check_failure(*state, SPY_OUTSIDE, "mapped");
}

static void test_check_short(void **state)
{
	expect_check_failure(*state, SPY_SHORT, "usable");
}

/* Natural alignment: a 64-byte plain alloc must be 16-aligned (max_align),
 * a 24-byte one 8-aligned; the spy hands out +8, which 24 tolerates. */
static void test_check_natural_align(void **state)
{
	struct fixture *f = *state;
	f->cfg.check = 1;
	open_engine(f, &spy_ops);
	spy.mode = SPY_MISALIGN;
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 24, 0));
	assert_int_equal(step(f, ev(EV_ALLOC, 0, 2, 0, 48, 0)), SIM_ECHECK);
}

/* Without --check a broken block goes unnoticed (the checker costs time). */
static void test_no_check(void **state)
{
	struct fixture *f = *state;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 64, 0));
	spy.mode = SPY_OVERLAP;
	step_ok(f, ev(EV_ALLOC, 0, 2, 0, 64, 0));
	assert_int_equal(count_calls(OP_CHECK), 0);
	assert_int_equal(engine_finish(f->e, &f->err), SIM_OK);
	assert_int_equal(count_calls(OP_CHECK), 0);
}

/* The strategy's own check runs every check_every events and at the end,
 * and its failure is SIM_ECHECK. */
static void test_check_every(void **state)
{
	struct fixture *f = *state;
	f->cfg.check = 1;
	f->cfg.check_every = 3;
	open_engine(f, &spy_ops);
	for (uint64_t i = 1; i <= 7; i++)
		step_ok(f, ev(EV_ALLOC, 0, i, 0, 16, 0));
	assert_int_equal(count_calls(OP_CHECK), 2);      /* after 3 and 6 */
	assert_int_equal(engine_finish(f->e, &f->err), SIM_OK);
	assert_int_equal(count_calls(OP_CHECK), 3);
}

static void test_check_fails(void **state)
{
	struct fixture *f = *state;
	f->cfg.check = 1;
	f->cfg.check_every = 2;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 16, 0));
	spy.fail_check = 1;
	assert_int_equal(step(f, ev(EV_ALLOC, 0, 2, 0, 16, 0)), SIM_ECHECK);
	assert_non_null(strstr(f->err.msg, "on purpose"));
	assert_non_null(strstr(f->err.msg, "event 1"));
}

/* A strategy check that fails at the end is SIM_ECHECK, and the series is
 * still written: a run ending in a failed check keeps its results. */
static void test_finish_check_fails(void **state)
{
	struct fixture *f = *state;
	const char *dir = harness_tmpdir();
	char path[256];
	snprintf(path, sizeof path, "%s/series.csv", dir);
	f->cfg.check = 1;
	f->cfg.series_path = path;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 16, 0));
	spy.fail_check = 1;
	int rc = engine_finish(f->e, &f->err);
	assert_int_equal(rc, SIM_ECHECK);
	assert_non_null(strstr(f->err.msg, "on purpose"));
	assert_non_null(strstr(f->err.msg, "spy"));
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char line[4096];
	int rows = 0;
	while (fgets(line, sizeof line, fp))
		rows++;
	fclose(fp);
	assert_int_equal(rows, 2);    /* the header and the one event */
	harness_rmtree(dir);
}

/* The engine refuses an incomplete ops table. */
static void test_create_rejects_bad_ops(void **state)
{
	struct fixture *f = *state;
	struct strategy_ops bad = spy_ops;
	bad.abi_version = STRATEGY_ABI_VERSION + 1;
	assert_int_equal(engine_create(&f->cfg, &bad, f->params, &f->e, &f->err),
			 SIM_EINVAL);
	f->e = NULL;
	assert_int_equal(count_calls(OP_INIT), 0);
}

/* A memory limit: the write that pushes rss past it ends the run. */
static void test_memory_max(void **state)
{
	struct fixture *f = *state;
	f->cfg.os.memory_max = 3 * 4096;
	open_engine(f, &spy_ops);
	step_ok(f, ev(EV_ALLOC, 0, 1, 0, 8000, 0));   /* pages 0, 1 */
	step_ok(f, ev(EV_ALLOC, 0, 2, 0, 100, 0));    /* +8032: page 1 */
	/* at +8192: 4000 bytes reach page 2 (3 pages: at the limit, ok) */
	step_ok(f, ev(EV_ALLOC, 0, 3, 0, 4000, 0));
	assert_int_equal(engine_stats(f->e)->cur.rss_bytes, 3 * 4096);
	/* at +12224: pages 2 and 3: 4 pages, over the limit */
	int rc = step(f, ev(EV_ALLOC, 0, 4, 0, 100, 0));
	assert_int_equal(rc, SIM_EOOM);
	assert_non_null(strstr(f->err.msg, "event 3"));
	assert_non_null(strstr(f->err.msg, "memory"));
	assert_int_equal(engine_finish(f->e, &f->err), SIM_OK);
	/* the killing event happened: it counts, and its peaks too */
	const struct sim_stats *st = engine_stats(f->e);
	assert_int_equal(st->events, 4);
	assert_int_equal(st->cur.live_bytes, 12200);
	assert_int_equal(st->peak.live_bytes, 12200);
	assert_int_equal(st->cur.rss_bytes, 4 * 4096);
	assert_int_equal(st->peak.rss_bytes, 4 * 4096);
	assert_int_equal(st->at_live_peak.event, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_and_fini, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_gets_usable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_realloc_op, setup, teardown),
		cmocka_unit_test_setup_teardown(test_realloc_then_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_realloc_null, setup, teardown),
		cmocka_unit_test_setup_teardown(test_realloc_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_double_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_realloc_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_id_realloc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_id_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_oom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_realloc_oom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_no_touch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_os_gauges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_realloc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_misaligned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_natural_align, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_every, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_check_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_rejects_bad_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_max, setup, teardown),
	};
	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
