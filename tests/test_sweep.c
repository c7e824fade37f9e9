/*
 * test_sweep.c - experiments (sim/sweep*.c, `allocsim sweep`): an
 * experiment file expands to the right runs in the right order, bad files
 * fail at their line, the merge computes mean, standard deviation and 95 %
 * confidence interval with fixed formatting; then for real: a small sweep
 * run locally with GNU parallel (resumed after a lost result, byte-
 * identical again), a sweep with a failing run (reported with its command
 * and log, the others merged), and the same small sweep as a Slurm job
 * array on a one-node Slurm started by tests/sweep-slurm, whose merged
 * summary.csv must equal the local one byte for byte.
 *
 * The real runs need GNU parallel, slurm-wlm and munge: they are installed
 * when missing if we are root, and the test fails (never skips) if they
 * cannot be.  Runs from the repository root; $ALLOCSIM is the binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "sweep.h"


/* Write an experiment file text as DIR/name; its path (static). */
static const char *experiment(struct harness_cli *f, const char *name,
			      const char *text)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	assert_int_equal(harness_write_file(path, text), 0);
	return path;
}

/* The contents of path (malloc'd, NUL-terminated), or NULL. */
static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		return NULL;
	char *buf = malloc(1 << 20);
	size_t n = buf ? fread(buf, 1, (1 << 20) - 1, fp) : 0;
	fclose(fp);
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* ---- expansion ------------------------------------------------------------------- */

static const char two_groups[] =
	"sweep{\n"
	"  name = \"a\",\n"
	"  workloads = {\"workloads/steady.lua\", \"tests/data/xz.trace.gz\"},\n"
	"  strategies = {\"span\", \"glibc\"},\n"
	"  p = {gogc = {50, 200}, [\"span.gomaxprocs\"] = 2},\n"
	"  w = {live = {100, 1e3}, events = 5000},\n"
	"  seeds = {7, 9},\n"
	"  args = {\"--sample\", \"500\"},\n"
	"}\n"
	"sweep{ name = \"b\", workloads = {\"workloads/steady.lua\"},\n"
	"       strategies = {\"bump\"}, seeds = 3 }\n";

static void test_expand(void **state)
{
	struct harness_cli *f = *state;
	struct sweep sw;
	struct sim_err err;
	const char *file = experiment(f, "two.lua", two_groups);
	assert_sim_ok(sweep_load(&sw, file, "OUT", "ALLOCSIM", &err), &err);
	/* a: steady x span: gogc 2 x live 2 x seeds 2 = 8; steady x glibc:
	 * live 2 x seeds 2 = 4; xz x span: gogc 2 (one seed) = 2; xz x glibc:
	 * 1.  b: 3 seeds. */
	assert_int_equal(sw.nr, 8 + 4 + 2 + 1 + 3);
	assert_int_equal(sw.ncells, 4 + 2 + 2 + 1 + 1);
	assert_int_equal(sw.ncols, 4);
	assert_string_equal(sw.cols[0], "gogc");
	assert_string_equal(sw.cols[1], "span.gomaxprocs");
	assert_string_equal(sw.cols[2], "w.events");
	assert_string_equal(sw.cols[3], "w.live");
	/* p keys sorted (gogc before span.gomaxprocs), then w keys sorted,
	 * the last one fastest, seeds innermost; 1e3 reads as 1000. */
	assert_string_equal(sw.r[0].out, "OUT/runs/a/steady/gogc=50,span.gomaxprocs=2,"
			    "w.events=5000,w.live=100/s7/span");
	assert_string_equal(sw.r[0].cmd, "ALLOCSIM run workloads/steady.lua -s span "
			    "-o OUT/runs/a/steady/gogc=50,span.gomaxprocs=2,"
			    "w.events=5000,w.live=100/s7 -q --seed 7 -p span.gogc=50 "
			    "-p span.gomaxprocs=2 -w events=5000 -w live=100 "
			    "--sample 500");
	assert_int_equal(sw.r[1].seed, 9);
	assert_string_equal(sw.r[2].out, "OUT/runs/a/steady/gogc=50,span.gomaxprocs=2,"
			    "w.events=5000,w.live=1000/s7/span");
	assert_string_equal(sw.r[4].out, "OUT/runs/a/steady/gogc=200,span.gomaxprocs=2,"
			    "w.events=5000,w.live=100/s7/span");
	/* glibc has gogc? no: its runs vary only the workload values. */
	assert_string_equal(sw.r[8].out, "OUT/runs/a/steady/w.events=5000,w.live=100"
			    "/s7/glibc");
	/* A trace runs once (first seed) with no -w. */
	assert_string_equal(sw.r[12].cmd, "ALLOCSIM run tests/data/xz.trace.gz -s span "
			    "-o OUT/runs/a/xz/gogc=50,span.gomaxprocs=2/s7 -q --seed 7 "
			    "-p span.gogc=50 -p span.gomaxprocs=2 --sample 500");
	assert_string_equal(sw.r[14].out, "OUT/runs/a/xz/default/s7/glibc");
	assert_string_equal(sw.r[15].cmd, "ALLOCSIM run workloads/steady.lua -s bump "
			    "-o OUT/runs/b/steady/default/s1 -q --seed 1");
	assert_int_equal(sw.r[17].seed, 3);
	/* Cells: columns hold the values, a strategy's default for a p
	 * column it has but does not vary, "" where nothing applies. */
	const struct sweep_cell *c = &sw.cell[0];
	assert_int_equal(c->nruns, 2);
	assert_string_equal(c->workload, "steady");
	assert_string_equal(c->col[0], "50");
	assert_string_equal(c->col[3], "100");
	c = &sw.cell[sw.ncells - 1];
	assert_string_equal(c->strategy, "bump");
	assert_int_equal(c->nruns, 3);
	assert_string_equal(c->col[0], "");
	assert_string_equal(c->col[3], "");
	sweep_free(&sw);
}

static void test_quoting(void **state)
{
	struct harness_cli *f = *state;
	struct sweep sw;
	struct sim_err err;
	const char *file = experiment(f, "q.lua",
		"sweep{ workloads = {\"workloads/steady.lua\"}, strategies = {\"bump\"},\n"
		"  w = {mode = \"it's a b\"} }\n");
	assert_sim_ok(sweep_load(&sw, file, "my out", "/bin/allocsim", &err), &err);
	assert_int_equal(sw.nr, 1);
	/* Folder names keep letters, digits and =,.+-_; the rest becomes _. */
	assert_string_equal(sw.r[0].out, "my out/runs/q/steady/w.mode=it_s_a_b/s1/bump");
	assert_string_equal(sw.r[0].cmd, "/bin/allocsim run workloads/steady.lua -s bump "
			    "-o 'my out/runs/q/steady/w.mode=it_s_a_b/s1' -q --seed 1 "
			    "-w 'mode=it'\\''s a b'");
	sweep_free(&sw);
	/* No strategies field: every registered strategy, in registry order. */
	file = experiment(f, "all.lua", "sweep{ workloads = {\"tests/data/xz.trace.gz\"} }");
	assert_sim_ok(sweep_load(&sw, file, "o", "a", &err), &err);
	size_t n = 0;
	while (strategy_registry[n])
		n++;
	assert_int_equal(sw.nr, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(sw.cell[i].strategy, strategy_registry[i]->name);
	sweep_free(&sw);
}

/* Each bad file fails with a message containing the text given. */
static void test_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"sweep{ workloads = {\"workloads/steady.lua\"}, stratgies = {\"span\"} }",
		 "bad.lua:1: sweep: unknown field 'stratgies'"},
		{"\nsweep{ workloads = {\"workloads/steady.lua\"}, strategies = {\"spam\"} }",
		 "bad.lua:2: sweep: unknown strategy 'spam'"},
		{"sweep{ workloads = {\"nope.lua\"} }", "bad.lua:1: sweep: workloads: cannot read nope.lua"},
		{"sweep{ strategies = {\"span\"} }", "bad.lua: sweep #1: no workloads"},
		{"sweep{ workloads = {\"workloads/steady.lua\"}, strategies = {\"bump\"},"
		 " p = {gogc = 50} }", "p.gogc: no strategy of the sweep has this parameter"},
		{"sweep{ workloads = {\"workloads/steady.lua\"}, strategies = {\"span\"},"
		 " p = {gogc = \"lots\"} }", "sweep bad: p.gogc:"},
		{"sweep{ workloads = {\"workloads/steady.lua\"}, strategies = {\"span\"},"
		 " p = {gogc = 50, [\"span.gogc\"] = 60} }", "set the same parameter of span"},
		{"sweep{ workloads = {\"workloads/steady.lua\"}, seeds = 0 }", "seeds = 0: a count"},
		{"sweep{ workloads = {\"workloads/steady.lua\"}, seeds = {1, {2}} }", "seeds: expected a value"},
		{"sweep{ workloads = {\"workloads/steady.lua\"}, args = {\"-s\", \"span\"} }",
		 "args: -s is set by the sweep itself"},
		{"sweep{ workloads = {\"workloads/steady.lua\"}, w = {1, 2} }", "w: expected a map"},
		{"sweep{ workloads = {\"workloads/steady.lua\"}, strategies = {\"bump\"} }\n"
		 "sweep{ workloads = {\"workloads/steady.lua\"}, strategies = {\"bump\"} }",
		 "two runs write"},
		{"local t = os.time()", "bad.lua:1:"},
		{"sweep{", "bad.lua:1:"},
		{"-- nothing", "bad.lua: no sweep{...} call"},
		{"while true do end", "instruction budget exceeded"},
	};
	struct harness_cli *f = *state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct sweep sw;
		struct sim_err err;
		const char *file = experiment(f, "bad.lua", bad[i].text);
		int rc = sweep_load(&sw, file, "OUT", "A", &err);
		if (rc == SIM_OK || !strstr(err.msg, bad[i].msg))
			fail_msg("case %zu: rc %d, message '%s', wanted '%s'", i, rc,
				 err.msg, bad[i].msg);
	}
}

/* ---- merge ------------------------------------------------------------------------ */

/* A summary.json with the fields the merge reads. */
static void fake_summary(const char *dir, const char *status, const char *jw4,
			 int mmaps)
{
	char path[512], cmd[600], text[2048];
	snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof path, "%s/summary.json", dir);
	snprintf(text, sizeof text,
		 "{\n  \"run\": \"steady\",\n  \"strategy\": \"bump\",\n"
		 "  \"status\": \"%s\",\n  \"message\": \"a \\\"quoted\\\", text\",\n"
		 "  \"params\": {},\n  \"workload_params\": [\"live=5\"],\n"
		 "  \"peak\": {\"live_bytes\": 1000, \"heap_bytes\": 4096},\n"
		 "  \"syscalls\": {\"mmap\": {\"calls\": %d, \"bytes\": 0}, \"page_faults\": 3},\n"
		 "  \"measures\": {\"frag_jw4\": %s, \"cache_hit_rate\": null}\n}\n",
		 status, mmaps, jw4);
	assert_int_equal(harness_write_file(path, text), 0);
}

/* Field k (0-based) of the line of text starting with prefix. */
static void field(const char *text, const char *prefix, int k, char *out,
		  size_t n)
{
	const char *line = strstr(text, prefix);
	assert_non_null(line);
	for (int i = 0; i < k; i++) {
		line = strchr(line, ',');
		assert_non_null(line);
		line++;
	}
	size_t len = strcspn(line, ",\n");
	snprintf(out, n, "%.*s", (int)len, line);
}

/* Index of column name in the header line of text. */
static int column(const char *text, const char *name)
{
	int k = 0;
	size_t n = strlen(name);
	for (const char *p = text; *p && *p != '\n'; k++) {
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\n'))
			return k;
		p += strcspn(p, ",\n");
		if (*p == ',')
			p++;
	}
	fail_msg("no column %s", name);
	return -1;
}

static void test_merge(void **state)
{
	struct harness_cli *f = *state;
	struct sweep sw;
	struct sim_err err;
	char out[256];
	snprintf(out, sizeof out, "%s/m", f->dir);
	const char *file = experiment(f, "m.lua",
		"sweep{ workloads = {\"workloads/steady.lua\"}, strategies = {\"bump\"},\n"
		"  w = {live = {5, 6}}, seeds = 4 }\n");
	assert_sim_ok(sweep_load(&sw, file, out, "A", &err), &err);
	assert_int_equal(sw.nr, 8);
	/* Cell 1: jw4 10, 20, 30 and one run missing; one run oom. */
	fake_summary(sw.r[0].out, "ok", "10.0", 1);
	fake_summary(sw.r[1].out, "ok", "20", 2);
	fake_summary(sw.r[2].out, "oom", "3e1", 3);
	/* Cell 2: one run, and one with jw4 undefined. */
	fake_summary(sw.r[4].out, "ok", "-0.0000001", 5);
	fake_summary(sw.r[5].out, "ok", "null", 5);
	size_t missing;
	assert_sim_ok(sweep_merge(&sw, &missing, &err), &err);
	assert_int_equal(missing, 3);
	char path[512], v[64];
	snprintf(path, sizeof path, "%s/summary.csv", out);
	char *csv = slurp(path);
	assert_non_null(csv);
	assert_true(strncmp(csv, "name,workload,strategy,w.live,runs,done,not_ok,"
			    "frag_jw1_mean,frag_jw1_sd,frag_jw1_ci95,", 70) == 0);
	int jw4 = column(csv, "frag_jw4_mean"), mm = column(csv, "mmap_calls_mean");
	field(csv, "m,steady,bump,5,", 4, v, sizeof v);
	assert_string_equal(v, "4");                           /* runs */
	field(csv, "m,steady,bump,5,", 5, v, sizeof v);
	assert_string_equal(v, "3");                           /* done */
	field(csv, "m,steady,bump,5,", 6, v, sizeof v);
	assert_string_equal(v, "1");                           /* not ok */
	field(csv, "m,steady,bump,5,", jw4, v, sizeof v);
	assert_string_equal(v, "20.000000");
	field(csv, "m,steady,bump,5,", jw4 + 1, v, sizeof v);
	assert_string_equal(v, "10.000000");
	/* t(0.975, 2) = 4.302653: 4.302653 * 10 / sqrt(3) = 24.841377 */
	field(csv, "m,steady,bump,5,", jw4 + 2, v, sizeof v);
	assert_true(strtod(v, NULL) > 24.8413 && strtod(v, NULL) < 24.8415);
	field(csv, "m,steady,bump,5,", mm, v, sizeof v);
	assert_string_equal(v, "2.000000");
	/* Cell 2: one defined jw4, rounded to 0 without a minus sign; no sd
	 * or interval from one value; hit rate null everywhere: empty. */
	field(csv, "m,steady,bump,6,", jw4, v, sizeof v);
	assert_string_equal(v, "0.000000");
	field(csv, "m,steady,bump,6,", jw4 + 1, v, sizeof v);
	assert_string_equal(v, "");
	field(csv, "m,steady,bump,6,", column(csv, "cache_hit_rate_mean"), v, sizeof v);
	assert_string_equal(v, "");
	field(csv, "m,steady,bump,6,", mm + 1, v, sizeof v);
	assert_string_equal(v, "0.000000");
	/* A broken summary.json is an error naming it. */
	snprintf(path, sizeof path, "%s/summary.json", sw.r[0].out);
	assert_int_equal(harness_write_file(path, "{\"strategy\": \"bump\", "), 0);
	assert_int_equal(sweep_merge(&sw, &missing, &err), SIM_EINVAL);
	assert_non_null(strstr(err.msg, "not a complete JSON document"));
	free(csv);
	sweep_free(&sw);
}

/* ---- for real: local, failures, Slurm ------------------------------------------------- */

/* GNU parallel, installed when missing and we are root; else the test
 * fails. */
static void need_parallel(struct harness_cli *f)
{
	if (harness_run("command -v parallel", f->out, sizeof f->out) == 0)
		return;
	if (getuid() != 0)
		fail_msg("GNU parallel is missing and only root can install it: "
			 "apt-get install -y parallel");
	int st = harness_run("apt-get update -q && DEBIAN_FRONTEND=noninteractive "
			     "apt-get install -y -q parallel", f->out, sizeof f->out);
	if (st != 0)
		fail_msg("apt-get install parallel failed:\n%s", f->out);
}

static int run(struct harness_cli *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int run(struct harness_cli *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int st = harness_runv(f->bin, f->out, sizeof f->out, fmt, ap);
	va_end(ap);
	return st;
}

static void expect(const struct harness_cli *f, const char *text)
{
	if (!strstr(f->out, text))
		fail_msg("expected '%s' in the output:\n%s", text, f->out);
}

static void test_local_resume_slurm(void **state)
{
	struct harness_cli *f = *state;
	const char *exp = "tests/lua/sweep_small.lua";
	char path[512], path2[512];
	need_parallel(f);
	int st = run(f, "sweep %s -o %s/local -j 2", exp, f->dir);
	if (st != 0)
		fail_msg("local sweep: status %d\n%s", st, f->out);
	expect(f, "21 runs, 0 finished earlier, 21 to run");
	expect(f, "21/21 done, 0 running, 0 failed");
	expect(f, "merged 21 of 21 runs");
	snprintf(path, sizeof path, "%s/local/summary.csv", f->dir);
	char *local = slurp(path);
	assert_non_null(local);
	/* 6 cells of steady x span... : 4 + 2 + 2 + 1 = 9 rows and a header. */
	int lines = 0;
	for (const char *p = local; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 10);
	assert_non_null(strstr(local, "\nsmall,steady,span,50,20000,200,3,3,0,"));
	assert_non_null(strstr(local, "\nsmall,xz,glibc,,,,1,1,0,"));

	/* Lose one result: only that run is redone, and the merge is the same. */
	snprintf(path2, sizeof path2, "%s/local/runs/small/steady/"
		 "w.events=20000,w.live=1000/s2/glibc/summary.json", f->dir);
	assert_int_equal(unlink(path2), 0);
	st = run(f, "sweep %s -o %s/local -j 2", exp, f->dir);
	if (st != 0)
		fail_msg("resumed sweep: status %d\n%s", st, f->out);
	expect(f, "21 runs, 20 finished earlier, 1 to run");
	char *again = slurp(path);
	assert_non_null(again);
	assert_string_equal(again, local);
	free(again);

	/* The same sweep as a Slurm job array: the same bytes. */
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "tests/sweep-slurm %s %s %s/slurm", f->bin, exp,
		 f->dir);
	st = harness_run(cmd, f->out, sizeof f->out);
	if (st != 0)
		fail_msg("tests/sweep-slurm: status %d\n%s", st, f->out);
	expect(f, "merged 21 of 21 runs");
	snprintf(path2, sizeof path2, "%s/slurm/summary.csv", f->dir);
	char *slurm = slurp(path2);
	assert_non_null(slurm);
	if (strcmp(slurm, local) != 0)
		fail_msg("Slurm and local summary.csv differ:\n--- local\n%s\n--- slurm\n%s",
			 local, slurm);
	free(slurm);
	free(local);
}

static void test_failed_run(void **state)
{
	struct harness_cli *f = *state;
	need_parallel(f);
	const char *exp = experiment(f, "fail.lua",
		"sweep{ name = \"good\", workloads = {\"tests/data/xz.trace.gz\"},\n"
		"  strategies = {\"bump\", \"glibc\"} }\n"
		"sweep{ name = \"bad\", workloads = {\"tests/data/xz.trace.gz\"},\n"
		"  strategies = {\"glibc\"}, args = {\"--fault\", \"nosuchcall=1\"} }\n");
	int st = run(f, "sweep %s -o %s/fail -j 2", exp, f->dir);
	assert_int_equal(st, 1);
	expect(f, "3 runs, 0 finished earlier, 3 to run");
	expect(f, "2/3 done, 0 running, 1 failed");
	expect(f, "run failed: ");
	expect(f, "-s glibc -o ");
	expect(f, "--fault nosuchcall=1\n  log: ");
	expect(f, "/fail/runs/bad/xz/default/s1/glibc/log");
	expect(f, "unknown fault 'nosuchcall'");
	expect(f, "merged 2 of 3 runs");
	char path[512];
	snprintf(path, sizeof path, "%s/fail/summary.csv", f->dir);
	char *csv = slurp(path);
	assert_non_null(csv);
	assert_non_null(strstr(csv, "\ngood,xz,bump,1,1,0,"));
	assert_non_null(strstr(csv, "\nbad,xz,glibc,1,0,0,,"));
	free(csv);
}

static void test_emit(void **state)
{
	struct harness_cli *f = *state;
	int st = run(f, "sweep tests/lua/sweep_small.lua -o %s/emit --emit slurm "
		     "--max-tasks 5", f->dir);
	if (st != 0)
		fail_msg("--emit slurm: status %d\n%s", st, f->out);
	expect(f, "21 runs:");
	expect(f, "sbatch ");
	char path[512];
	snprintf(path, sizeof path, "%s/emit/sweep.sbatch", f->dir);
	char *sb = slurp(path);
	assert_non_null(sb);
	assert_non_null(strstr(sb, "#SBATCH --array=0-4\n"));
	assert_non_null(strstr(sb, "\nT=5\n"));
	free(sb);
	snprintf(path, sizeof path, "%s/emit/jobs.txt", f->dir);
	char *jobs = slurp(path);
	assert_non_null(jobs);
	int lines = 0;
	for (const char *p = jobs; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 21);
	assert_non_null(strstr(jobs, "/emit/runs/small/steady/span.gogc=50,w.events=20000,"
			       "w.live=200/s1/span\t"));
	free(jobs);
	/* Nothing ran: a merge finds every run missing. */
	st = run(f, "sweep tests/lua/sweep_small.lua -o %s/emit --merge", f->dir);
	assert_int_equal(st, 1);
	expect(f, "merged 0 of 21 runs");
	assert_int_equal(run(f, "sweep tests/lua/sweep_small.lua --emit pbs"), 2);
	assert_int_equal(run(f, "sweep"), 2);
	assert_int_equal(run(f, "sweep a.lua b.lua"), 2);
	assert_int_equal(run(f, "sweep tests/lua/sweep_small.lua -j 0"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_CLI_TEST(test_expand),
		HARNESS_CLI_TEST(test_quoting),
		HARNESS_CLI_TEST(test_errors),
		HARNESS_CLI_TEST(test_merge),
		HARNESS_CLI_TEST(test_emit),
		HARNESS_CLI_TEST(test_failed_run),
		HARNESS_CLI_TEST(test_local_resume_slurm),
	};
	return cmocka_run_group_tests_name("sweep", tests, NULL, NULL);
}
