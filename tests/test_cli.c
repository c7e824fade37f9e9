/*
 * test_cli.c - the allocsim command line, run as a program: bad input gives
 * exit status 2 and a message saying what was wrong; a good run prints the
 * comparison table and leaves complete result files (and no temporaries);
 * `list` and `trace check` print what they should.
 *
 * The binary is $ALLOCSIM (tests/run-tests sets it), else build/allocsim.
 * Runs from the repository root; trace files are written to a temporary
 * folder at test time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "harness.h"
#include "strategy.h"

struct cli {
	const char *bin;
	char dir[128];
	char trace[256];        /* a valid trace of 5 events */
	char out[65536];        /* what the last command printed */
};

/* 5 events, 2 threads; peak live 5200 bytes (after the realloc). */
static const char small_trace[] =
	"# allocsim-trace v1\n"
	"# program: test_cli\n"
	"a 0 1 100\n"
	"a 1 2 5000\n"
	"r 0 1 3 200\n"
	"f 1 2\n"
	"f 0 3\n";

static int setup(void **state)
{
	static struct cli c;
	memset(&c, 0, sizeof c);
	c.bin = harness_allocsim();
	snprintf(c.dir, sizeof c.dir, "%s", harness_tmpdir());
	snprintf(c.trace, sizeof c.trace, "%s/small.trace", c.dir);
	if (harness_write_file(c.trace, small_trace) != 0)
		return -1;
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct cli *c = *state;
	harness_rmtree(c->dir);
	return 0;
}

/* Run "BIN args" (args formatted), return its exit status; output in
 * c->out. */
static int run(struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int run(struct cli *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int st = harness_runv(c->bin, c->out, sizeof c->out, fmt, ap);
	va_end(ap);
	return st;
}

static void expect_output(const struct cli *c, const char *text)
{
	if (!strstr(c->out, text))
		fail_msg("output does not contain '%s':\n%s", text, c->out);
}

/* Expect exit status st and each of up to three texts in the output. */
static void expect(struct cli *c, int got, int st, const char *t1,
		   const char *t2, const char *t3)
{
	if (got != st)
		fail_msg("exit status %d, expected %d; output:\n%s", got, st, c->out);
	const char *t[] = {t1, t2, t3};
	for (int i = 0; i < 3; i++)
		if (t[i])
			expect_output(c, t[i]);
}

static int exists(const char *fmt, const char *a, const char *b)
{
	char path[1024];
	struct stat st;
	snprintf(path, sizeof path, fmt, a, b);
	return stat(path, &st) == 0;
}

/* ---- bad input: exit status 2 and a message ---------------------------- */

static void test_no_arguments(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "%s", ""), 2, "usage:", NULL, NULL);
}

static void test_unknown_command(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "frobnicate"), 2, "allocsim: ",
	       "unknown command 'frobnicate'", NULL);
}

static void test_unknown_strategy(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "run %s -s bump,nosuch -o %s/o", c->trace, c->dir), 2,
	       "unknown strategy 'nosuch'", NULL, NULL);
	assert_false(exists("%s/o%s", c->dir, ""));
}

static void test_strategy_twice(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "run %s -s bump,bump -o %s/o", c->trace, c->dir), 2,
	       "'bump'", "twice", NULL);
}

static void test_unknown_parameter(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "run %s -s bump -p bump.nokey=1 -o %s/o", c->trace,
		      c->dir), 2, "bump", "'nokey'", NULL);
	assert_false(exists("%s/o%s", c->dir, ""));
}

static void test_parameter_type(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "run %s -s bump -p bump.chunk=abc -o %s/o", c->trace,
		      c->dir), 2, "bump.chunk", "'abc'", "size");
}

static void test_parameter_range(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "run %s -s bump -p bump.chunk=1 -o %s/o", c->trace,
		      c->dir), 2, "bump.chunk", "outside", NULL);
}

static void test_parameter_syntax(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "run %s -s bump -p chunk=4M -o %s/o", c->trace, c->dir),
	       2, "STRATEGY.KEY=VALUE", NULL, NULL);
}

/* -p for a strategy that exists but is not among those run. */
static void test_parameter_not_run(void **state)
{
	struct cli *c = *state;
	const struct strategy_ops *other = NULL;
	for (int i = 0; strategy_registry[i]; i++)
		if (strcmp(strategy_registry[i]->name, "bump") != 0)
			other = strategy_registry[i];
	if (!other)
		skip();
	expect(c, run(c, "run %s -s bump -p %s.x=1 -o %s/o", c->trace,
		      other->name, c->dir), 2, other->name, "not among", NULL);
	expect(c, run(c, "run %s -s bump -p zzz.x=1 -o %s/o", c->trace, c->dir),
	       2, "unknown strategy 'zzz'", NULL, NULL);
}

static void test_missing_trace(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "run %s/nope.trace -s bump -o %s/o", c->dir, c->dir), 2,
	       "nope.trace", NULL, NULL);
	assert_false(exists("%s/o%s", c->dir, ""));
}

/* A double free in a trace names the file and the line of the second free. */
static void test_trace_double_free(void **state)
{
	struct cli *c = *state;
	char path[256], where[300];
	snprintf(path, sizeof path, "%s/df.trace", c->dir);
	assert_int_equal(harness_write_file(path, "# allocsim-trace v1\n"
					    "a 0 1 10\nf 0 1\nf 0 1\n"), 0);
	snprintf(where, sizeof where, "%s:4:", path);
	expect(c, run(c, "run %s -s bump -o %s/o", path, c->dir), 2, where, NULL,
	       NULL);
	assert_false(exists("%s/o/bump/summary.json%s", c->dir, ""));
	expect(c, run(c, "trace check %s", path), 2, where, NULL, NULL);
}

/* A malformed line: file, line, and no results. */
static void test_trace_bad_line(void **state)
{
	struct cli *c = *state;
	char path[256], where[300];
	snprintf(path, sizeof path, "%s/bad.trace", c->dir);
	assert_int_equal(harness_write_file(path, "# allocsim-trace v1\n"
					    "a 0 1 10\nx 0 2\n"), 0);
	snprintf(where, sizeof where, "%s:3:", path);
	expect(c, run(c, "run %s -s bump -o %s/o", path, c->dir), 2, where, NULL,
	       NULL);
}

static void test_reclaim_bogus(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "run %s -s bump --reclaim bogus -o %s/o", c->trace,
		      c->dir), 2, "--reclaim", "'bogus'", NULL);
}

static void test_unknown_option(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "run %s -s bump --no-such-option -o %s/o", c->trace,
		      c->dir), 2, "--no-such-option", NULL, NULL);
}

static void test_missing_option_value(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "run %s --sample", c->trace), 2, "--sample", NULL, NULL);
	expect(c, run(c, "run %s -s bump --sample lots -o %s/o", c->trace,
		      c->dir), 2, "--sample", "'lots'", NULL);
}

static void test_two_sources(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "run %s %s -s bump -o %s/o", c->trace, c->trace, c->dir),
	       2, "SOURCE", NULL, NULL);
	expect(c, run(c, "run -s bump"), 2, "SOURCE", NULL, NULL);
}

static void test_unwritable_output(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "run %s -s bump -o /proc/x", c->trace), 2, "/proc/x",
	       NULL, NULL);
}

/* ---- good runs --------------------------------------------------------- */

static void test_list(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "list"), 0, NULL, NULL, NULL);
	for (int i = 0; strategy_registry[i]; i++) {
		const struct strategy_ops *ops = strategy_registry[i];
		char line[256];
		/* the name at the start of a line, then its summary */
		snprintf(line, sizeof line, "%s ", ops->name);
		int found = strncmp(c->out, line, strlen(line)) == 0;
		snprintf(line, sizeof line, "\n%s ", ops->name);
		found |= strstr(c->out, line) != NULL;
		if (!found)
			fail_msg("allocsim list does not list %s:\n%s", ops->name,
				 c->out);
		expect_output(c, ops->summary);
		for (size_t k = 0; k < strat_param_count(ops); k++) {
			snprintf(line, sizeof line, "%s.%s=", ops->name,
				 ops->params[k].name);
			expect_output(c, line);
		}
	}
	expect(c, run(c, "list extra"), 2, NULL, NULL, NULL);
}

/* Every strategy: a table row each, summary.json and series.csv each, no
 * temporary left. */
static void test_good_run(void **state)
{
	struct cli *c = *state;
	char names[1024] = "";
	for (int i = 0; strategy_registry[i]; i++) {
		strcat(names, i ? "," : "");
		strcat(names, strategy_registry[i]->name);
	}
	/* the source first and options after it, as the usage shows */
	expect(c, run(c, "run %s -s %s -o %s/res --check --sample 2", c->trace,
		      names, c->dir), 0, "strategy", "peak live", NULL);
	for (int i = 0; strategy_registry[i]; i++) {
		const char *name = strategy_registry[i]->name;
		char dir[512], cmd[1024], text[4096], want[256];
		snprintf(dir, sizeof dir, "%s/res/%s", c->dir, name);
		snprintf(cmd, sizeof cmd, "ls -A '%s'", dir);
		assert_int_equal(harness_run(cmd, text, sizeof text), 0);
		if (strcmp(text, "series.csv\nsummary.json\n") != 0)
			fail_msg("%s holds:\n%s", dir, text);
		snprintf(cmd, sizeof cmd, "cat '%s/summary.json'", dir);
		assert_int_equal(harness_run(cmd, text, sizeof text), 0);
		snprintf(want, sizeof want, "\"strategy\": \"%s\"", name);
		assert_non_null(strstr(text, want));
		assert_non_null(strstr(text, "\"status\": \"ok\""));
		assert_non_null(strstr(text, "\"end_event\": 5"));
		/* a table row: the name, then ok */
		snprintf(want, sizeof want, "\n%s ", name);
		const char *row = strstr(c->out, want);
		assert_non_null(row);
		const char *eol = strchr(row + 1, '\n');
		const char *ok = strstr(row, " ok ");
		assert_true(ok && eol && ok < eol);
	}
}

/* --no-output prints the table and writes nothing. */
static void test_no_output(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "run %s -s bump --no-output -o %s/none", c->trace,
		      c->dir), 0, "bump", NULL, NULL);
	assert_false(exists("%s/none%s", c->dir, ""));
}

/* The memory limit: exit status 1, the results written with status oom. */
static void test_memory_max(void **state)
{
	struct cli *c = *state;
	char path[256], text[8192] = "# allocsim-trace v1\n";
	snprintf(path, sizeof path, "%s/big.trace", c->dir);
	for (int i = 1; i <= 40; i++) {
		char line[64];
		snprintf(line, sizeof line, "a 0 %d 65536\n", i);
		strcat(text, line);
	}
	assert_int_equal(harness_write_file(path, text), 0);
	expect(c, run(c, "run %s -s bump --memory-max 1M -o %s/oom", path,
		      c->dir), 1, "bump", "memory", NULL);
	char cmd[512], out[4096];
	snprintf(cmd, sizeof cmd, "cat '%s/oom/bump/summary.json'", c->dir);
	assert_int_equal(harness_run(cmd, out, sizeof out), 0);
	assert_non_null(strstr(out, "\"status\": \"oom\""));
	assert_true(exists("%s/oom/bump/series.csv%s", c->dir, ""));
}

static void test_trace_check(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "trace check %s", c->trace), 0, "events: 5", "  a: 2",
	       "  r: 1");
	expect_output(c, "  f: 2");
	expect_output(c, "  c: 0");
	expect_output(c, "threads: 2");
	expect_output(c, "peak live bytes: 5200");
	expect_output(c, "objects live at end: 0");
	expect(c, run(c, "trace check"), 2, NULL, NULL, NULL);
	expect(c, run(c, "trace frobnicate %s", c->trace), 2, NULL, NULL, NULL);
}

/* A trace converted to binary checks the same. */
static void test_trace_convert(void **state)
{
	struct cli *c = *state;
	expect(c, run(c, "trace convert %s %s/small.bin", c->trace, c->dir), 0,
	       NULL, NULL, NULL);
	expect(c, run(c, "trace check %s/small.bin", c->dir), 0, "events: 5",
	       "peak live bytes: 5200", NULL);
	expect(c, run(c, "trace convert %s %s/x.trace --format bogus", c->trace,
		      c->dir), 2, "'bogus'", NULL, NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_no_arguments),
		T(test_unknown_command),
		T(test_unknown_strategy),
		T(test_strategy_twice),
		T(test_unknown_parameter),
		T(test_parameter_type),
		T(test_parameter_range),
		T(test_parameter_syntax),
		T(test_parameter_not_run),
		T(test_missing_trace),
		T(test_trace_double_free),
		T(test_trace_bad_line),
		T(test_reclaim_bogus),
		T(test_unknown_option),
		T(test_missing_option_value),
		T(test_two_sources),
		T(test_unwritable_output),
		T(test_list),
		T(test_good_run),
		T(test_no_output),
		T(test_memory_max),
		T(test_trace_check),
		T(test_trace_convert),
	};
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
