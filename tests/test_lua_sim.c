/*
 * test_lua_sim.c - Lua workloads (sim/lua_sim.c) and random streams
 * (sim/rng.c).
 *
 * The API scripts in tests/lua/ check themselves with assert(); these tests
 * run them through run_one on the bump strategy and check what the engine
 * saw.  Error scripts check the message (script:line first), determinism
 * compares result files byte for byte, and the distribution tests compare
 * sample moments with their definitions, with tolerances of five standard
 * errors for the sample size used.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gsl/gsl_statistics_double.h>

#include "harness.h"
#include "rng.h"
#include "run.h"
#include "strategy.h"

#define LUA_DIR "tests/lua/"

/* ---- helpers ------------------------------------------------------------ */

struct outcome {
	int rc;
	struct run_result res;
	struct sim_err err;
};

static union param_value bump_params[64];

/* Run script on bump; out_dir may be NULL (no files). */
static void run_full(const char *script, const struct workload_opts *wl,
		     uint64_t seed, const char *out_dir, struct outcome *o)
{
	const struct strategy_ops *ops = strategy_find("bump");
	assert_non_null(ops);
	assert_sim_ok(strat_params_default(ops, bump_params, &o->err), &o->err);
	struct run_spec spec = {.source = script, .run_name = "t",
				.out_dir = out_dir, .ops = ops,
				.params = bump_params, .seed = seed};
	engine_config_default(&spec.cfg);
	if (wl)
		spec.wl = *wl;
	sim_err_clear(&o->err);
	o->rc = run_one(&spec, &o->res, &o->err);
}

static void run_lua(const char *script, const struct workload_opts *wl,
		    struct outcome *o)
{
	run_full(script, wl, 1, NULL, o);
}

/* The script must run to the end with status ok. */
static void run_ok(const char *script, const struct workload_opts *wl,
		   struct outcome *o)
{
	run_lua(script, wl, o);
	assert_sim_ok(o->rc, &o->err);
	if (o->res.status != SIM_OK)
		fail_msg("%s: status %s: %s", script, sim_rc_name(o->res.status),
			 o->res.message);
}

/* The script must fail with rc and a message starting with prefix and
 * containing part. */
static void run_fails(const char *script, const struct workload_opts *wl,
		      int rc, const char *prefix, const char *part)
{
	struct outcome o;
	run_lua(script, wl, &o);
	if (o.rc != rc || strncmp(o.err.msg, prefix, strlen(prefix)) != 0 ||
	    !strstr(o.err.msg, part))
		fail_msg("%s: expected %s '%s...%s', got %s '%s'", script,
			 sim_rc_name(rc), prefix, part, sim_rc_name(o.rc), o.err.msg);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Do dir a and dir b hold byte-identical bump/{summary.json,series.csv}? */
static int same_results(const char *a, const char *b)
{
	static const char *const files[] = {"summary.json", "series.csv"};
	int same = 1;
	for (int i = 0; i < 2; i++) {
		char pa[256], pb[256];
		snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
		snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
		char *x = slurp(pa), *y = slurp(pb);
		same = same && strcmp(x, y) == 0;
		free(x);
		free(y);
	}
	return same;
}

/* ---- the API ------------------------------------------------------------ */

static void test_objects(void **state)
{
	(void)state;
	struct outcome o;
	run_ok(LUA_DIR "objects.lua", NULL, &o);
	assert_int_equal(o.res.st.allocs, 6);
	assert_int_equal(o.res.st.reallocs, 1);
	assert_int_equal(o.res.st.frees, 5);
	assert_int_equal(o.res.st.cur.live_objects, 1);
	assert_int_equal(o.res.st.cur.live_bytes, 8);
}

static void test_time_phase_gc(void **state)
{
	(void)state;
	const char *dir = harness_tmpdir();
	struct outcome o;
	run_full(LUA_DIR "time.lua", NULL, 1, dir, &o);
	assert_sim_ok(o.rc, &o.err);
	assert_true(o.res.st.cur.t_ns >= 1000500);
	assert_int_equal(o.res.st.events, 6);   /* 2 allocs, 2 clocks, phase, gc */
	char path[256];
	snprintf(path, sizeof path, "%s/series.csv", dir);
	char *csv = slurp(path);
	assert_non_null(strstr(csv, ",second,"));
	free(csv);
	harness_rmtree(dir);
}

static void test_params(void **state)
{
	(void)state;
	const char *w[] = {"n=42", "f=2.5", "name=hello", "flag=on", "text=abc"};
	struct workload_opts wl = {.params = w, .nparams = 5};
	struct outcome o;
	run_ok(LUA_DIR "params.lua", &wl, &o);
	const char *unused[] = {"n=1", "typo=3"};
	wl = (struct workload_opts){.params = unused, .nparams = 2};
	run_fails(LUA_DIR "bad_param.lua", &wl, SIM_EINVAL, "-w typo=3",
		  "never reads");
	const char *bad[] = {"n=abc"};
	wl = (struct workload_opts){.params = bad, .nparams = 1};
	run_fails(LUA_DIR "bad_param.lua", &wl, SIM_ESCRIPT,
		  LUA_DIR "bad_param.lua:1:", "-w n=abc: not a number");
	const char *noeq[] = {"n"};
	wl = (struct workload_opts){.params = noeq, .nparams = 1};
	run_fails(LUA_DIR "bad_param.lua", &wl, SIM_EINVAL, "-w n",
		  "NAME=VALUE");
}

static void test_threads(void **state)
{
	(void)state;
	const char *q1[] = {"q=1"}, *q8[] = {"q=8"};
	struct workload_opts wl = {.params = q1, .nparams = 1, .quantum = 1};
	struct outcome o;
	run_ok(LUA_DIR "threads.lua", &wl, &o);
	wl = (struct workload_opts){.params = q8, .nparams = 1, .quantum = 8};
	run_ok(LUA_DIR "threads.lua", &wl, &o);
	wl.schedule = WL_SCHED_RANDOM;
	wl.params = (const char *[]){"q=3"};
	run_ok(LUA_DIR "threads.lua", &wl, &o);
}

static void test_rng_api(void **state)
{
	(void)state;
	struct outcome o;
	run_ok(LUA_DIR "rng.lua", NULL, &o);
}

static void test_generators(void **state)
{
	(void)state;
	struct outcome o;
	run_ok(LUA_DIR "generators.lua", NULL, &o);
	/* all freed but the ten of the set made for the order error */
	assert_int_equal(o.res.st.cur.live_objects, 10);
	assert_true(o.res.st.allocs > 100000);
}

static void test_replay(void **state)
{
	(void)state;
	struct outcome o;
	run_ok(LUA_DIR "replay.lua", NULL, &o);
	/* handle 1, the first splice's survivor (ID 3), the alloc after it */
	assert_int_equal(o.res.st.cur.live_objects, 3);
	assert_int_equal(o.res.st.reallocs, 2);
}

/* ---- errors --------------------------------------------------------------- */

static void test_error_syntax(void **state)
{
	(void)state;
	run_fails(LUA_DIR "err_syntax.lua", NULL, SIM_ESCRIPT,
		  LUA_DIR "err_syntax.lua:2:", "near");
}

static void test_error_runtime(void **state)
{
	(void)state;
	run_fails(LUA_DIR "err_runtime.lua", NULL, SIM_ESCRIPT,
		  LUA_DIR "err_runtime.lua:3: boom", "stack traceback");
}

static void test_error_workload(void **state)
{
	(void)state;
	run_fails(LUA_DIR "err_double_free.lua", NULL, SIM_ESCRIPT,
		  LUA_DIR "err_double_free.lua:3: free: object 1", "not live");
	run_fails(LUA_DIR "err_thread.lua", NULL, SIM_ESCRIPT,
		  LUA_DIR "err_thread.lua:4: free: object 1", "simulated thread 1");
	run_fails(LUA_DIR "err_outside.lua", NULL, SIM_ESCRIPT,
		  LUA_DIR "err_outside.lua:3:", /* coroutine.wrap adds a where */
		  LUA_DIR "err_outside.lua:2: alloc: called outside a simulated thread");
	run_fails(LUA_DIR "err_deadlock.lua", NULL, SIM_ESCRIPT,
		  LUA_DIR "err_deadlock.lua:3: deadlock",
		  "thread 1 waits in recv at " LUA_DIR "err_deadlock.lua:2");
}

static void test_error_budgets(void **state)
{
	(void)state;
	struct workload_opts wl = {.max_instructions = 1000000};
	run_fails(LUA_DIR "err_loop.lua", &wl, SIM_ESCRIPT,
		  LUA_DIR "err_loop.lua:2:", "instruction budget exceeded");
	wl = (struct workload_opts){.max_events = 1000};
	run_fails(LUA_DIR "err_events.lua", &wl, SIM_ESCRIPT,
		  LUA_DIR "err_events.lua:2:", "event budget exhausted");
	wl = (struct workload_opts){.lua_memory_max = 4 << 20};
	run_fails(LUA_DIR "err_memory.lua", &wl, SIM_ESCRIPT,
		  LUA_DIR "err_memory.lua:", "memory cap of 4194304 bytes");
}

static void test_error_files(void **state)
{
	(void)state;
	run_fails(LUA_DIR "nothere.lua", NULL, SIM_EIO,
		  LUA_DIR "nothere.lua: cannot open", "No such file");
}

/* Out of memory ends the run with its results, as for traces. */
static void test_oom_keeps_results(void **state)
{
	(void)state;
	const char *dir = harness_tmpdir();
	struct outcome o;
	const struct strategy_ops *ops = strategy_find("bump");
	assert_sim_ok(strat_params_default(ops, bump_params, &o.err), &o.err);
	struct run_spec spec = {.source = LUA_DIR "oom.lua", .run_name = "t",
				.out_dir = dir, .ops = ops, .params = bump_params,
				.seed = 1};
	engine_config_default(&spec.cfg);
	spec.cfg.os.memory_max = 16 << 20;
	o.rc = run_one(&spec, &o.res, &o.err);
	assert_sim_ok(o.rc, &o.err);
	assert_int_equal(o.res.status, SIM_EOOM);
	assert_non_null(strstr(o.res.message, LUA_DIR "oom.lua:2:"));
	char path[256];
	snprintf(path, sizeof path, "%s/summary.json", dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	harness_rmtree(dir);
}

/* The CLI: exit 2, the script's line, and no results folder. */
static void test_cli_errors(void **state)
{
	(void)state;
	const char *bin = getenv("ALLOCSIM");
	if (!bin)
		skip();
	const char *dir = harness_tmpdir();
	char cmd[1024], out[8192], res[256];
	struct stat st;
	snprintf(res, sizeof res, "%s/res", dir);
	snprintf(cmd, sizeof cmd, "%s run " LUA_DIR "err_syntax.lua -s bump,span "
		 "-o %s", bin, res);
	assert_int_equal(harness_run(cmd, out, sizeof out), 2);
	assert_non_null(strstr(out, "allocsim: " LUA_DIR "err_syntax.lua:2:"));
	assert_int_not_equal(stat(res, &st), 0);
	snprintf(cmd, sizeof cmd, "%s run " LUA_DIR "err_runtime.lua -s bump "
		 "-o %s", bin, res);
	assert_int_equal(harness_run(cmd, out, sizeof out), 2);
	assert_non_null(strstr(out, LUA_DIR "err_runtime.lua:3: boom"));
	assert_non_null(strstr(out, "stack traceback"));
	snprintf(cmd, sizeof cmd, "%s/bump/summary.json", res);
	assert_int_not_equal(stat(cmd, &st), 0);
	snprintf(cmd, sizeof cmd, "%s run " LUA_DIR "params.lua -s bump -q "
		 "--no-output -w n=42 -w f=2.5 -w name=hello -w flag=1 -w text=abc "
		 "--quantum 3 --schedule random --max-events 100000 "
		 "--max-instructions 100000000", bin);
	assert_int_equal(harness_run(cmd, out, sizeof out), 0);
	harness_rmtree(dir);
}

/* ---- determinism ---------------------------------------------------------- */

static void run_into(const char *script, const struct workload_opts *wl,
		     uint64_t seed, const char *dir)
{
	struct outcome o;
	run_full(script, wl, seed, dir, &o);
	assert_sim_ok(o.rc, &o.err);
}

static void test_determinism(void **state)
{
	(void)state;
	const char *tmp = harness_tmpdir();
	char a[128], b[128], c[128];
	snprintf(a, sizeof a, "%s/a", tmp);
	snprintf(b, sizeof b, "%s/b", tmp);
	snprintf(c, sizeof c, "%s/c", tmp);
	struct workload_opts wl = {.schedule = WL_SCHED_RANDOM, .quantum = 5};
	run_into(LUA_DIR "determinism.lua", &wl, 7, a);
	run_into(LUA_DIR "determinism.lua", &wl, 7, b);
	run_into(LUA_DIR "determinism.lua", &wl, 8, c);
	assert_true(same_results(a, b));
	assert_false(same_results(a, c));
	harness_rmtree(tmp);
}

static void test_schedule_independence(void **state)
{
	(void)state;
	const char *tmp = harness_tmpdir();
	char dirs[3][128];
	struct workload_opts wl[3] = {
		{.quantum = 100},
		{.quantum = 1},
		{.quantum = 7, .schedule = WL_SCHED_RANDOM},
	};
	for (int i = 0; i < 3; i++) {
		snprintf(dirs[i], sizeof dirs[i], "%s/%d", tmp, i);
		run_into(LUA_DIR "single.lua", &wl[i], 3, dirs[i]);
	}
	assert_true(same_results(dirs[0], dirs[1]));
	assert_true(same_results(dirs[0], dirs[2]));
	harness_rmtree(tmp);
}

/* ---- streams and distributions -------------------------------------------- */

static void test_streams_independent(void **state)
{
	(void)state;
	struct sim_err err;
	struct rng *a1, *a2, *b;
	assert_sim_ok(rng_open(5, "a", &a1, &err), &err);
	assert_sim_ok(rng_open(5, "a", &a2, &err), &err);
	assert_sim_ok(rng_open(5, "b", &b, &err), &err);
	int differ = 0;
	for (int i = 0; i < 100; i++) {
		rng_uniform(b, 0, 1);   /* draws from b leave a alone */
		double x = rng_uniform(a1, 0, 1), y = rng_uniform(a2, 0, 1);
		assert_true(x == y);
		differ |= x != rng_uniform(b, 0, 1);
	}
	assert_true(differ);
	assert_true(rng_derive_seed(5, "a") != rng_derive_seed(6, "a"));
	assert_true(rng_derive_seed(5, "a") != rng_derive_seed(5, "b"));
	rng_close(a1);
	rng_close(a2);
	rng_close(b);
}

#define NS 200000

/* Sample mean and variance of n draws against mean mu and variance var,
 * where mu4 is the fourth central moment: the variance of the sample
 * variance is about (mu4 - var^2) / n. */
static void check_moments(const double *x, size_t n, double mu, double var,
			  double mu4, const char *what)
{
	double m = gsl_stats_mean(x, 1, n), v = gsl_stats_variance(x, 1, n);
	double tol_m = 5 * sqrt(var / (double)n);
	double tol_v = 5 * sqrt((mu4 - var * var) / (double)n);
	if (fabs(m - mu) > tol_m || fabs(v - var) > tol_v)
		fail_msg("%s: mean %g (want %g +- %g), variance %g (want %g +- %g)",
			 what, m, mu, tol_m, v, var, tol_v);
}

static double *draw_n(struct rng *r, const struct rng_dist *d, int logs)
{
	double *x = malloc(NS * sizeof *x);
	assert_non_null(x);
	for (size_t i = 0; i < NS; i++) {
		x[i] = rng_dist_sample(r, d);
		if (logs)
			x[i] = log(x[i]);
	}
	return x;
}

static struct rng_dist *family(enum rng_kind k, double p0, double p1)
{
	struct sim_err err;
	struct rng_dist *d;
	double p[2] = {p0, p1};
	assert_sim_ok(rng_dist_new(k, p, &d, &err), &err);
	return d;
}

/* The moments of X (or of log X) for one family. */
static void check_family(struct rng *r, struct rng_dist *d, int logs,
			 double mu, double var, double mu4, const char *what)
{
	double *x = draw_n(r, d, logs);
	check_moments(x, NS, mu, var, mu4, what);
	free(x);
	rng_dist_free(d);
}

static void test_moments_continuous(void **state)
{
	(void)state;
	struct sim_err err;
	struct rng *r;
	assert_sim_ok(rng_open(11, "moments", &r, &err), &err);
	double w = 8;   /* uniform(2, 10) */
	check_family(r, family(RNG_UNIFORM, 2, 10), 0, 6, w * w / 12,
		     pow(w, 4) / 80, "uniform");
	double m = 3;   /* exponential: mu4 = 9 m^4 */
	check_family(r, family(RNG_EXPONENTIAL, m, 0), 0, m, m * m,
		     9 * pow(m, 4), "exponential");
	double s = 0.7; /* log of a lognormal is normal(mu, s): mu4 = 3 s^4 */
	check_family(r, family(RNG_LOGNORMAL, 2, s), 1, 2, s * s, 3 * pow(s, 4),
		     "lognormal (log)");
	double a = 2.5, b = 4; /* log(X) - log(b) is exponential of mean 1/a */
	check_family(r, family(RNG_PARETO, a, b), 1, log(b) + 1 / a,
		     1 / (a * a), 9 / pow(a, 4), "pareto (log)");
	rng_close(r);
}

/* Frequencies of values 1..n against probabilities pk. */
static void check_pmf(struct rng *r, struct rng_dist *d, const double *pk,
		      int n, const char *what)
{
	double *x = draw_n(r, d, 0);
	double mean = 0, var = 0, mu4 = 0;
	for (int k = 1; k <= n; k++)
		mean += k * pk[k - 1];
	for (int k = 1; k <= n; k++) {
		var += pow(k - mean, 2) * pk[k - 1];
		mu4 += pow(k - mean, 4) * pk[k - 1];
	}
	check_moments(x, NS, mean, var, mu4, what);
	for (int k = 1; k <= n; k++) {
		size_t c = 0;
		for (size_t i = 0; i < NS; i++)
			c += x[i] == k;
		double f = (double)c / NS, tol = 5 * sqrt(pk[k - 1] * (1 - pk[k - 1]) / NS);
		if (fabs(f - pk[k - 1]) > tol + 1e-12)
			fail_msg("%s: P(%d) = %g, want %g +- %g", what, k, f, pk[k - 1], tol);
	}
	free(x);
	rng_dist_free(d);
}

static void test_moments_discrete(void **state)
{
	(void)state;
	struct sim_err err;
	struct rng *r;
	assert_sim_ok(rng_open(12, "discrete", &r, &err), &err);
	double pk[400], h = 0;
	for (int k = 1; k <= 20; k++)   /* zipf(20, 1.3) */
		h += pow(k, -1.3);
	for (int k = 1; k <= 20; k++)
		pk[k - 1] = pow(k, -1.3) / h;
	check_pmf(r, family(RNG_ZIPF, 20, 1.3), pk, 20, "zipf");
	for (int k = 1; k <= 400; k++)  /* geometric(0.2), tail beyond 400 ~ 0 */
		pk[k - 1] = pow(0.8, k - 1) * 0.2;
	check_pmf(r, family(RNG_GEOMETRIC, 0.2, 0), pk, 400, "geometric");
	for (int k = 1; k <= 6; k++)
		pk[k - 1] = 1.0 / 6;
	check_pmf(r, family(RNG_INT, 1, 6), pk, 6, "int");
	double v[3] = {1, 2, 3}, wt[3] = {1, 2, 5};
	struct rng_dist *d;
	assert_sim_ok(rng_dist_discrete(v, wt, 3, &d, &err), &err);
	double pc[3] = {1.0 / 8, 2.0 / 8, 5.0 / 8};
	check_pmf(r, d, pc, 3, "discrete");
	size_t counts[3] = {0};
	for (int i = 0; i < NS; i++)
		counts[rng_choice(r, wt, 3, 8)]++;
	for (int k = 0; k < 3; k++)
		assert_true(fabs((double)counts[k] / NS - pc[k]) <
			    5 * sqrt(pc[k] * (1 - pc[k]) / NS));
	rng_close(r);
}

static void test_zipf_large_n(void **state)
{
	(void)state;
	struct sim_err err;
	struct rng *r;
	assert_sim_ok(rng_open(13, "zipf", &r, &err), &err);
	uint64_t n = UINT64_C(1) << 40, ones = 0, big = 0;
	for (int i = 0; i < NS; i++) {
		uint64_t k = rng_zipf(r, n, 2.0);
		assert_true(k >= 1 && k <= n);
		ones += k == 1;
		big += k > 1000000;
	}
	/* P(1) = 1 / zeta(2) = 6 / pi^2 for n this large */
	double p1 = 6 / (M_PI * M_PI);
	assert_true(fabs((double)ones / NS - p1) < 5 * sqrt(p1 * (1 - p1) / NS));
	assert_true(big < 50);   /* P(k > 1e6) ~ 6e-7 */
	rng_close(r);
}

static void test_empirical(void **state)
{
	(void)state;
	const char *dir = harness_tmpdir();
	char path[256];
	struct sim_err err;
	struct rng_dist *d;
	snprintf(path, sizeof path, "%s/h.csv", dir);
	assert_int_equal(harness_write_file(path, "value,weight\n16,1\n"
					    "32,1 \n# note\n\n48,2\n"), 0);
	assert_sim_ok(rng_dist_empirical(path, &d, &err), &err);
	assert_true(fabs(rng_dist_mean(d) - 36) < 1e-12);
	rng_dist_free(d);
	assert_int_equal(harness_write_file(path, "16,1\n32,-1\n"), 0);
	assert_int_equal(rng_dist_empirical(path, &d, &err), SIM_EINVAL);
	char want[300];
	snprintf(want, sizeof want, "%s:2:", path);
	assert_non_null(strstr(err.msg, want));
	assert_int_equal(harness_write_file(path, "16,0\n"), 0);
	assert_int_equal(rng_dist_empirical(path, &d, &err), SIM_EINVAL);
	assert_non_null(strstr(err.msg, "no bin with a positive weight"));
	assert_int_equal(harness_write_file(path, "16,1,3\n"), 0);
	assert_int_equal(rng_dist_empirical(path, &d, &err), SIM_EINVAL);
	snprintf(want, sizeof want, "%s:1: expected 'value,weight'", path);
	assert_non_null(strstr(err.msg, want));
	harness_rmtree(dir);
}

static void test_checks(void **state)
{
	(void)state;
	struct sim_err err;
	struct rng_dist *d;
	double bad[][2] = {{-1, 0}, {0.5, 1}, {2, 0}, {NAN, 1}};
	assert_int_equal(rng_dist_new(RNG_EXPONENTIAL, bad[0], &d, &err), SIM_EINVAL);
	assert_int_equal(rng_dist_new(RNG_ZIPF, bad[1], &d, &err), SIM_EINVAL);
	assert_int_equal(rng_dist_new(RNG_ZIPF, bad[2], &d, &err), SIM_EINVAL);
	assert_int_equal(rng_dist_new(RNG_LOGNORMAL, bad[3], &d, &err), SIM_EINVAL);
	assert_non_null(strstr(err.msg, "lognormal"));
	double w[2] = {0, 0}, v[2] = {1, 2};
	assert_int_equal(rng_dist_discrete(v, w, 2, &d, &err), SIM_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_time_phase_gc),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_rng_api),
		cmocka_unit_test(test_generators),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_error_syntax),
		cmocka_unit_test(test_error_runtime),
		cmocka_unit_test(test_error_workload),
		cmocka_unit_test(test_error_budgets),
		cmocka_unit_test(test_error_files),
		cmocka_unit_test(test_oom_keeps_results),
		cmocka_unit_test(test_cli_errors),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_schedule_independence),
		cmocka_unit_test(test_streams_independent),
		cmocka_unit_test(test_moments_continuous),
		cmocka_unit_test(test_moments_discrete),
		cmocka_unit_test(test_zipf_large_n),
		cmocka_unit_test(test_empirical),
		cmocka_unit_test(test_checks),
	};
	return cmocka_run_group_tests_name("lua_sim", tests, NULL, NULL);
}
