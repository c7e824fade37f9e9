/*
 * test_pool.c - sync.Pool from Lua (pool(), p:get, p:put, p:stats),
 * ReadMemStats checkpoints (engine_checkpoint, read_memstats(),
 * --checkpoint-every/--checkpoint-gc) and debug.FreeOSMemory
 * (engine_free_os_memory, free_os_memory()), and the strategy ABI v2
 * operations behind them (flush, release_os), v1 tables included.
 *
 * Lua scripts are written to a temporary folder and run through run_one;
 * most check themselves with assert() and the tests check what the
 * engine and the result files saw.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"
#include "harness.h"
#include "pool.h"
#include "run.h"
#include "strategy.h"

#define MIB ((uint64_t)1 << 20)

/* ---- helpers ------------------------------------------------------------ */

struct outcome {
	int rc;
	struct run_result res;
	struct sim_err err;
	char dir[256];
};

static union param_value params[64];

/* Write text as dir/name.lua and run it through strategy sname with the
 * parameters kv (NULL-terminated pairs); results in dir/out when files. */
static void run_text(const char *sname, const char *text, const char *const *kv,
		     int reclaim, int files, struct outcome *o)
{
	const struct strategy_ops *ops = strategy_find(sname);
	assert_non_null(ops);
	snprintf(o->dir, sizeof o->dir, "%s", harness_tmpdir());
	char path[512], out[512];
	snprintf(path, sizeof path, "%s/w.lua", o->dir);
	snprintf(out, sizeof out, "%s/out", o->dir);
	assert_int_equal(harness_write_file(path, text), 0);
	assert_sim_ok(strat_params_default(ops, params, &o->err), &o->err);
	for (; kv && kv[0]; kv += 2)
		assert_sim_ok(strat_param_set(ops, params, kv[0], kv[1], &o->err),
			      &o->err);
	struct run_spec spec = {.source = path, .run_name = "w",
				.out_dir = files ? out : NULL, .ops = ops,
				.params = params, .seed = 1};
	engine_config_default(&spec.cfg);
	spec.cfg.reclaim = reclaim;
	spec.cfg.check = 1;
	sim_err_clear(&o->err);
	o->rc = run_one(&spec, &o->res, &o->err);
}

/* The script must run to the end with status ok. */
static void run_ok(const char *sname, const char *text, const char *const *kv,
		   int reclaim, struct outcome *o)
{
	run_text(sname, text, kv, reclaim, 0, o);
	assert_sim_ok(o->rc, &o->err);
	if (o->res.status != SIM_OK)
		fail_msg("%s: status %s: %s", sname, sim_rc_name(o->res.status),
			 o->res.message);
	harness_rmtree(o->dir);
}

static void run_fails(const char *text, const char *part)
{
	struct outcome o;
	run_text("span", text, NULL, SIM_RECLAIM_DEFAULT, 0, &o);
	harness_rmtree(o.dir);
	if (o.rc == SIM_OK || !strstr(o.err.msg, part))
		fail_msg("expected an error with '%s', got %s '%s'", part,
			 sim_rc_name(o.rc), o.err.msg);
}

/* ---- sync.Pool from Lua --------------------------------------------------- */

/* Victim rotation (12.4): an object put before a GC is in the victim
 * cache through that GC (a get still finds it), and a second GC drops it:
 * it becomes garbage and the next get allocates.  In GC mode (span) and
 * in immediate mode (bump: the dropped object is freed at once). */
static const char victim_script[] =
	"local p = pool()\n"
	"local o = p:get(100)\n"                      /* miss: New */
	"assert(size(o) == 100)\n"
	"p:put(o)\n"
	"gc()\n"
	"local v = p:get(100)\n"
	"assert(v == o, 'one GC: a victim hit')\n"
	"p:put(v)\n"
	"gc()\n"                                      /* o: the victim's */
	"gc()\n"                                      /* dropped */
	"local n = p:get(100)\n"
	"assert(n ~= o, 'two GCs: dropped, so New')\n"
	"local s = p:stats()\n"
	"assert(s.gets == 3 and s.hits == 1 and s.victim_hits == 1)\n"
	"assert(s.news == 2 and s.puts == 2 and s.dropped == 1)\n"
	"free(n)\n";

static void test_pool_victim(void **state)
{
	(void)state;
	struct outcome o;
	run_ok("span", victim_script, NULL, SIM_RECLAIM_DEFAULT, &o);
	assert_int_equal(o.res.st.cur.live_objects, 0);
	/* o was dropped and swept by GC 3; n dies after the last GC */
	assert_int_equal(o.res.st.cur.dead_bytes, 100);
	run_ok("bump", victim_script, NULL, SIM_RECLAIM_DEFAULT, &o);
	assert_int_equal(o.res.st.cur.live_objects, 0);
	assert_int_equal(o.res.st.frees, 1);             /* free(n) only */
}

/* Get after put on the same thread (P) hits the private slot, LIFO
 * beyond it; with two Ps another thread cannot take the private slot
 * but steals from the shared tail. */
static void test_pool_same_thread(void **state)
{
	(void)state;
	static const char script[] =
		"local p = pool()\n"
		"local a, b = alloc(64), alloc(64)\n"
		"spawn(function()\n"                      /* thread 1: P 1 */
		"  p:put(a)\n"                            /* private */
		"  p:put(b)\n"                            /* shared head */
		"  assert(p:get(64) == a)\n"
		"  p:put(a)\n"
		"end)\n"
		"wait()\n"
		"spawn(function()\n"                      /* thread 2: P 0 */
		"  assert(p:get(64) == b, 'steals the shared tail')\n"
		"  local n = p:get(64)\n"
		"  assert(n ~= a, 'the private slot is P 1s only')\n"
		"  free(n)\n"
		"  free(b)\n"
		"end)\n"
		"wait()\n"
		"local s = p:stats()\n"
		"assert(s.hits == 2 and s.news == 1)\n";
	static const char *const kv[] = {"gomaxprocs", "2", NULL};
	struct outcome o;
	run_ok("span", script, kv, SIM_RECLAIM_DEFAULT, &o);
	assert_int_equal(o.res.st.cur.live_objects, 1);  /* a, in the pool */
	run_ok("tiny", script, kv, SIM_RECLAIM_IMMEDIATE, &o);
}

/* A pooled handle is the pool's: free, size, realloc and a second put
 * are errors naming the line; so is a method called on a non-pool. */
static void test_pool_errors(void **state)
{
	(void)state;
	run_fails("local p = pool()\nlocal o = alloc(8)\np:put(o)\nfree(o)\n",
		  "w.lua:4: free: object 1 was handed to a pool by put");
	run_fails("local p = pool()\nlocal o = alloc(8)\np:put(o)\np:put(o)\n",
		  "w.lua:4: put: object 1 was handed to a pool");
	run_fails("local p = pool()\nlocal o = alloc(8)\np:put(o)\nsize(o)\n",
		  "w.lua:4: size: object 1 was handed to a pool");
	run_fails("local p = pool()\np.get({}, 8)\n",
		  "w.lua:2: bad argument #1 to 'get' (allocsim.pool expected");
	run_fails("local p = pool()\np:put(7)\n", "w.lua:2: put: 7 is not a handle");
}

/* Many puts whose objects the pool drops: the script's map of pooled
 * handles is pruned, and every pooled object is either got back or
 * swept. */
static void test_pool_churn(void **state)
{
	(void)state;
	static const char script[] =
		"local p = pool()\n"
		"for i = 1, 20000 do\n"
		"  local o = p:get(256)\n"
		"  if i % 3 == 0 then p:put(alloc(256)) end\n"
		"  p:put(o)\n"
		"  if i % 500 == 0 then gc() end\n"
		"end\n"
		"local s = p:stats()\n"
		"assert(s.dropped > 1000 and s.hits > 10000)\n";
	struct outcome o;
	run_ok("span", script, NULL, SIM_RECLAIM_DEFAULT, &o);
	run_ok("glibc", script, NULL, SIM_RECLAIM_DEFAULT, &o);
}

/* The pool counters land in summary.json ("pools") and, summed, in the
 * last columns of series.csv. */
static void test_pool_results(void **state)
{
	(void)state;
	struct outcome o;
	run_text("span", victim_script, NULL, SIM_RECLAIM_DEFAULT, 1, &o);
	assert_sim_ok(o.rc, &o.err);
	char path[600], cmd[800], out[4096];
	snprintf(path, sizeof path, "%s/out/summary.json", o.dir);
	snprintf(cmd, sizeof cmd, "grep '\"pools\"' %s", path);
	assert_int_equal(harness_run(cmd, out, sizeof out), 0);
	assert_non_null(strstr(out, "\"pools\": [{\"gets\": 3, \"hits\": 1, "
				"\"victim_hits\": 1, \"news\": 2, \"puts\": 2, "
				"\"dropped\": 1}],"));
	snprintf(cmd, sizeof cmd, "head -1 %s/out/series.csv | tr , '\\n' | "
		 "tail -4 | tr '\\n' ' '; tail -1 %s/out/series.csv | tr , '\\n' "
		 "| tail -4 | tr '\\n' ' '", o.dir, o.dir);
	assert_int_equal(harness_run(cmd, out, sizeof out), 0);
	assert_string_equal(out, "pool_gets pool_hits pool_victim_hits "
				 "pool_news 3 1 1 2 ");
	harness_rmtree(o.dir);
}

/* workloads/pool.lua runs (small) and its pool saves collections: the
 * pool phase's garbage is 3 small objects a request, the no-pool phase's
 * also the 8 KiB buffer. */
static void test_pool_workload(void **state)
{
	(void)state;
	static const char *const wp[] = {"requests=8000", "live=1"};
	const struct strategy_ops *ops = strategy_find("span");
	struct sim_err err;
	struct run_result res;
	assert_sim_ok(strat_params_default(ops, params, &err), &err);
	struct run_spec spec = {.source = "workloads/pool.lua", .run_name = "p",
				.ops = ops, .params = params, .seed = 1};
	engine_config_default(&spec.cfg);
	spec.wl.params = wp;
	spec.wl.nparams = 2;
	assert_sim_ok(run_one(&spec, &res, &err), &err);
	assert_int_equal(res.status, SIM_OK);
	assert_true(res.st.gc_cycles > 10);
	assert_int_equal(res.st.cur.live_objects, 4);   /* the pooled buffers */
}

/* ---- checkpoints and FreeOSMemory ------------------------------------------ */

static uint64_t ctr(struct engine *e, const char *sname, const char *name)
{
	const char *const *names = strategy_find(sname)->counter_names;
	for (size_t i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return engine_counters(e)[i];
	fail_msg("%s has no counter %s", sname, name);
	return 0;
}

static struct engine *new_engine(const char *sname, int reclaim,
				 const char *series)
{
	const struct strategy_ops *ops = strategy_find(sname);
	struct engine_config cfg;
	struct sim_err err;
	engine_config_default(&cfg);
	cfg.reclaim = reclaim;
	cfg.check = 1;
	cfg.sample_every = 0;
	cfg.series_path = series;
	assert_sim_ok(strat_params_default(ops, params, &err), &err);
	struct engine *e = NULL;
	assert_sim_ok(engine_create(&cfg, ops, params, &e, &err), &err);
	return e;
}

static void ev(struct engine *e, int kind, uint64_t id, uint64_t size)
{
	struct sim_event x = {(uint8_t)kind, 0, 0, id, 0, size, 0, NULL};
	struct sim_err err;
	assert_sim_ok(engine_step(e, &x, &err), &err);
}

/* engine_checkpoint is ReadMemStats: every cached span goes back to
 * mcentral (counted in mcache_flushes and mcentral_uncache_span), the
 * refill's optimistic charge leaves heap_live, and the next allocation
 * of each class refills (a cache miss).  MemStats counters do not move. */
static void test_checkpoint_span(void **state)
{
	(void)state;
	struct sim_err err;
	struct engine *e = new_engine("span", SIM_RECLAIM_GC, NULL);
	ev(e, EV_ALLOC, 1, 64);
	ev(e, EV_ALLOC, 2, 1000);
	uint64_t live = ctr(e, "span", "heap_live");
	uint64_t unc = ctr(e, "span", "mcentral_uncache_span");
	uint64_t fl = ctr(e, "span", "mcache_flushes");
	uint64_t alloc = ctr(e, "span", "heap_alloc");
	uint64_t misses = ctr(e, "span", "cache_misses");
	assert_sim_ok(engine_checkpoint(e, &err), &err);
	assert_int_equal(ctr(e, "span", "mcache_flushes"), fl + 1);
	assert_int_equal(ctr(e, "span", "mcentral_uncache_span"), unc + 2);
	assert_int_equal(ctr(e, "span", "heap_live"), 64 + 1024);
	assert_true(live > 64 + 1024);   /* whole spans were charged */
	assert_int_equal(ctr(e, "span", "heap_alloc"), alloc);
	ev(e, EV_ALLOC, 3, 64);
	assert_int_equal(ctr(e, "span", "cache_misses"), misses + 1);
	ev(e, EV_ALLOC, 4, 64);
	assert_int_equal(ctr(e, "span", "cache_misses"), misses + 1);
	assert_sim_ok(engine_finish(e, &err), &err);
	engine_destroy(e);
}

/* tiny: the checkpoint drops the current tiny block, so the next tiny
 * request starts a new block although the old one had room. */
static void test_checkpoint_tiny(void **state)
{
	(void)state;
	struct sim_err err;
	for (int reclaim = SIM_RECLAIM_IMMEDIATE; reclaim <= SIM_RECLAIM_GC;
	     reclaim++) {
		struct engine *e = new_engine("tiny", reclaim, NULL);
		ev(e, EV_ALLOC, 1, 4);
		ev(e, EV_ALLOC, 2, 4);
		assert_int_equal(ctr(e, "tiny", "tiny_blocks"), 1);
		assert_sim_ok(engine_checkpoint(e, &err), &err);
		ev(e, EV_ALLOC, 3, 4);
		assert_int_equal(ctr(e, "tiny", "tiny_blocks"), 2);
		ev(e, EV_FREE, 3, 0);     /* its block is current: kept */
		ev(e, EV_FREE, 1, 0);
		ev(e, EV_FREE, 2, 0);     /* immediate: block 1 back to span */
		assert_sim_ok(engine_checkpoint(e, &err), &err);
		if (reclaim == SIM_RECLAIM_IMMEDIATE)
			assert_int_equal(ctr(e, "tiny", "tiny_live_blocks"), 0);
		ev(e, EV_GC, 0, 0);
		ev(e, EV_GC, 0, 0);
		assert_int_equal(ctr(e, "tiny", "tiny_live_blocks"), 0);
		assert_int_equal(ctr(e, "tiny", "heap_alloc"), 0);
		assert_sim_ok(engine_finish(e, &err), &err);
		engine_destroy(e);
	}
}

/* FreeOSMemory: after a ramp and a drop to a tenth, rss falls to about
 * the live set (span: the in-use spans, a page cache and the partly
 * used spans at the edge), and heap_released takes the rest. */
static void test_free_os_memory(void **state)
{
	(void)state;
	static const char script[] =
		"local keep = {}\n"
		"for i = 1, 200000 do keep[i] = alloc(64) end\n"
		"for i = 1, 180000 do free(keep[i]) end\n"
		"gc()\n"
		"local before = read_memstats()\n"
		"free_os_memory()\n"
		"local m = read_memstats()\n"
		"assert(m.live_bytes == 20000 * 64)\n"
		"assert(RELEASES == 0 or m.rss_bytes < before.rss_bytes / 5)\n";
	char text[1024];
	snprintf(text, sizeof text, "RELEASES = 1\n%s", script);
	for (int s = 0; s < 2; s++) {
		const char *sname = s ? "tiny" : "span";
		struct outcome o;
		run_ok(sname, text, NULL, SIM_RECLAIM_DEFAULT, &o);
		const struct stats_snap *g = &o.res.st.cur;
		assert_true(g->rss_bytes >= g->live_bytes);
		/* the in-use spans (8 KiB each), plus up to a 64-page cache */
		assert_true(g->rss_bytes < g->live_bytes + 64 * 8192 + 16384);
		assert_true(o.res.st.peak.rss_bytes > 5 * g->rss_bytes);
		run_ok(sname, text, NULL, SIM_RECLAIM_IMMEDIATE, &o);
		assert_true(o.res.st.cur.rss_bytes < g->live_bytes + 64 * 8192 +
						     16384);
	}
	/* strategies without release_os: nothing happens, nothing breaks */
	struct outcome o;
	snprintf(text, sizeof text, "RELEASES = 0\n%s", script);
	run_ok("bump", text, NULL, SIM_RECLAIM_DEFAULT, &o);
	run_ok("glibc", text, NULL, SIM_RECLAIM_GC, &o);
}

/* A checkpoint writes a row after the event it follows, even when a row
 * of that event is in the file; --checkpoint-every and --checkpoint-gc
 * (engine_config) take them at their events. */
static void test_checkpoint_rows(void **state)
{
	(void)state;
	const char *dir = harness_tmpdir();
	char path[512], cmd[700], out[8192];
	snprintf(path, sizeof path, "%s/series.csv", dir);
	const struct strategy_ops *ops = strategy_find("span");
	struct engine_config cfg;
	struct sim_err err;
	engine_config_default(&cfg);
	cfg.sample_every = 4;
	cfg.checkpoint_every = 3;
	cfg.checkpoint_gc = 1;
	cfg.series_path = path;
	assert_sim_ok(strat_params_default(ops, params, &err), &err);
	struct engine *e = NULL;
	assert_sim_ok(engine_create(&cfg, ops, params, &e, &err), &err);
	for (uint64_t i = 1; i <= 4; i++)            /* events 0-3 */
		ev(e, EV_ALLOC, i, 32);
	ev(e, EV_GC, 0, 0);                          /* event 4 */
	assert_sim_ok(engine_free_os_memory(e, &err), &err);
	ev(e, EV_ALLOC, 5, 32);                      /* event 5 */
	assert_sim_ok(engine_finish(e, &err), &err);
	engine_destroy(e);
	snprintf(cmd, sizeof cmd, "cut -d, -f1 %s | tr '\\n' ' '", path);
	assert_int_equal(harness_run(cmd, out, sizeof out), 0);
	/* 0: the heap's peak; 2: the live peak (before), the 3rd event's
	 * checkpoint; 3: a sample; 4: the GC's checkpoint and FreeOSMemory;
	 * 5: the live peak, the 6th event's checkpoint (the end row is the
	 * same as that one: not repeated) */
	assert_string_equal(out, "event 0 2 2 3 4 4 5 5 ");
	harness_rmtree(dir);
}

/* ---- ABI v2 and v1 tables ----------------------------------------------------- */

static int v2_calls;
static void bad_flush(void *self) { (void)self; v2_calls++; }

/* A v1 table ends before the v2 band: whatever follows its counters
 * field in memory is not an operation, and the wrappers must not call it.
 * Versions 1 and 2 validate, 3 does not. */
static void test_abi_v1(void **state)
{
	(void)state;
	struct strategy_ops v1 = *strategy_find("bump");
	struct sim_err err;
	v1.abi_version = 1;
	v1.flush = bad_flush;         /* stands for the bytes after a v1 table */
	v1.release_os = bad_flush;
	assert_sim_ok(strategy_validate(&v1, &err), &err);
	struct simos *os;
	struct simos_config oc;
	simos_config_default(&oc);
	assert_sim_ok(simos_create(&oc, &os, &err), &err);
	size_t live = 0;
	uint64_t now = 0;
	struct strategy_env env = {os, harness_halloc, &live, &now};
	struct strat s;
	assert_sim_ok(strat_params_default(&v1, params, &err), &err);
	assert_sim_ok(strat_open(&s, &v1, &env, params, &err), &err);
	strat_flush(&s);
	strat_release_os(&s);
	assert_int_equal(v2_calls, 0);
	strat_close(&s);
	struct strategy_ops v2 = v1;
	v2.abi_version = 2;
	assert_sim_ok(strat_open(&s, &v2, &env, params, &err), &err);
	strat_flush(&s);
	strat_release_os(&s);
	assert_int_equal(v2_calls, 2);
	strat_close(&s);
	simos_destroy(os);
	v2.abi_version = STRATEGY_ABI_VERSION + 1;
	assert_int_equal(strategy_validate(&v2, &err), SIM_EINVAL);
	assert_int_equal(STRATEGY_ABI_VERSION, 3);
}

static int v3_calls;
static uint64_t bad_counter(void *self, size_t i)
{
	(void)self;
	(void)i;
	v3_calls++;
	return 12345;
}

/* The v3 counter operation: a v2 table's is never called (strat_counter
 * fills every counter instead), and a strategy's agrees with counters()
 * for every counter, after allocations and frees on two threads. */
static void test_abi_v3_counter(void **state)
{
	(void)state;
	struct sim_err err;
	struct simos *os;
	struct simos_config oc;
	simos_config_default(&oc);
	size_t live = 0;
	uint64_t now = 0;
	const char *names[] = {"span", "tiny", "bump"};
	for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
		struct strategy_ops o = *strategy_find(names[k]);
		if (k == 2) {
			o.abi_version = 2;
			o.counter = bad_counter;
		}
		assert_sim_ok(simos_create(&oc, &os, &err), &err);
		struct strategy_env env = {os, harness_halloc, &live, &now};
		struct strat s;
		assert_sim_ok(strat_params_default(&o, params, &err), &err);
		assert_sim_ok(strat_open(&s, &o, &env, params, &err), &err);
		uint64_t a[64], u[64], all[128], scratch[128];
		for (unsigned i = 0; i < 64; i++)
			a[i] = strat_alloc(&s, i & 1, i % 4 ? 8 + 40 * i : 8, 0,
					   i % 2 ? 0 : STRAT_NOSCAN, &u[i]);
		for (unsigned i = 0; i < 64; i += 3)
			strat_free(&s, 0, a[i], u[i]);
		assert_true(s.ncounters <= 128);
		strat_counters(&s, all);
		for (size_t i = 0; i < s.ncounters; i++)
			assert_int_equal(strat_counter(&s, i, scratch), all[i]);
		strat_close(&s);
		simos_destroy(os);
	}
	assert_int_equal(v3_calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_victim),
		cmocka_unit_test(test_pool_same_thread),
		cmocka_unit_test(test_pool_errors),
		cmocka_unit_test(test_pool_churn),
		cmocka_unit_test(test_pool_results),
		cmocka_unit_test(test_pool_workload),
		cmocka_unit_test(test_checkpoint_span),
		cmocka_unit_test(test_checkpoint_tiny),
		cmocka_unit_test(test_free_os_memory),
		cmocka_unit_test(test_checkpoint_rows),
		cmocka_unit_test(test_abi_v1),
		cmocka_unit_test(test_abi_v3_counter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
