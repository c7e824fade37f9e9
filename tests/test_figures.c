/*
 * test_figures.c - `make figures-check` on a reduced set: scripts/figures
 * --check runs the cheapest paper experiment (sizes: one sweep of three
 * runs and its .post) into a temporary folder and must reproduce every
 * file paper/checksums.sha256 lists for it, byte for byte, with this
 * build of allocsim (under SAN=1 the sanitized one: the same bytes from a
 * different build).  Then the same check against a copy of the list with
 * one checksum changed must fail and name that file.  Last, `allocsim
 * plot` on a sweep folder draws its bars with error bars.
 *
 * Runs from the repository root; $ALLOCSIM is the binary.  Needs gnuplot
 * (a project dependency: the .post draws the figure).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define CHECKSUMS "paper/checksums.sha256"
#define EXPERIMENT "sizes"
/* A derived file of that experiment, written by its .post. */
#define DERIVED "data/sizes/sizes.csv"


/* Run scripts/figures with ARGS formatted from fmt; its exit status. */
static int figures(struct harness_cli *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int figures(struct harness_cli *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int st = harness_runv("scripts/figures", f->out, sizeof f->out, fmt, ap);
	va_end(ap);
	return st;
}

static void test_check_reproduces(void **state)
{
	struct harness_cli *f = *state;
	int st = figures(f, "--check --allocsim %s -j 2 " EXPERIMENT, f->bin);
	if (st != 0)
		fail_msg("figures --check " EXPERIMENT " exited %d:\n%s", st, f->out);
	/* summary.csv, sizes.csv, three series.csv, sizes-numbers.tex. */
	const char *line = strstr(f->out, "figures-check: ");
	int n = 0;
	assert_non_null(line);
	assert_int_equal(sscanf(line, "figures-check: %d files reproduced exactly", &n), 1);
	assert_true(n >= 6);
}

/* Copy CHECKSUMS to path with the first hex digit of DERIVED's sum
 * changed; 0 if that line was found. */
static int corrupt_copy(const char *path)
{
	FILE *in = fopen(CHECKSUMS, "r");
	FILE *out = fopen(path, "w");
	int found = -1;
	char line[4096];
	if (!in || !out) {
		if (in)
			fclose(in);
		if (out)
			fclose(out);
		return -1;
	}
	while (fgets(line, sizeof line, in)) {
		const char *name = strstr(line, "  ");
		if (name && strcmp(name + 2, DERIVED "\n") == 0) {
			line[0] = line[0] == '0' ? '1' : '0';
			found = 0;
		}
		fputs(line, out);
	}
	fclose(in);
	fclose(out);
	return found;
}

static void test_check_names_a_changed_file(void **state)
{
	struct harness_cli *f = *state;
	char sums[256];
	snprintf(sums, sizeof sums, "%s/checksums.sha256", f->dir);
	assert_int_equal(corrupt_copy(sums), 0);
	int st = figures(f, "--check --sums %s --allocsim %s -j 2 " EXPERIMENT, sums, f->bin);
	if (st != 1)
		fail_msg("figures --check with a changed sum exited %d (want 1):\n%s", st, f->out);
	assert_non_null(strstr(f->out, DERIVED " differs from"));
	assert_null(strstr(f->out, "reproduced exactly"));
}

static void test_unknown_experiment(void **state)
{
	struct harness_cli *f = *state;
	assert_int_equal(figures(f, "--check --allocsim %s no-such-experiment", f->bin), 2);
	assert_non_null(strstr(f->out, "no experiment paper/experiments/no-such-experiment.lua"));
}

/* A file exists and is not empty. */
static int nonempty(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return 0;
	int c = fgetc(fp);
	fclose(fp);
	return c != EOF;
}

static void test_plot_sweep_folder(void **state)
{
	struct harness_cli *f = *state;
	char file[256], out[256];
	snprintf(file, sizeof file, "%s/bars.lua", f->dir);
	snprintf(out, sizeof out, "%s/out", f->dir);
	assert_int_equal(harness_write_file(file,
		"sweep{ workloads = {\"workloads/steady.lua\"}, strategies = {\"firstfit\", \"glibc\"},\n"
		"  w = {threads = {1, 2}, events = 3000, live = 200}, seeds = 3 }\n"), 0);
	char *o = f->out;
	size_t n = sizeof f->out;
	if (harness_run("command -v parallel >/dev/null", o, n) != 0)
		fail_msg("GNU parallel is missing (make test installs it as root)");
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s sweep %s -o %s -j 2", f->bin, file, out);
	int st = harness_run(cmd, o, n);
	if (st != 0)
		fail_msg("sweep exited %d:\n%s", st, o);
	snprintf(cmd, sizeof cmd, "%s plot %s", f->bin, out);
	st = harness_run(cmd, o, n);
	if (st != 0)
		fail_msg("plot exited %d:\n%s", st, o);
	assert_non_null(strstr(o, "sweep-jw4.png"));
	assert_true(nonempty(out, "sweep-jw4.png"));
	assert_true(nonempty(out, "sweep-jw4.pdf"));
	assert_true(nonempty(out, "sweep-rss.png"));
	assert_true(nonempty(out, "sweep-rss.pdf"));
}

/* The committed paper refers only to tables, figures and numbers that
 * exist (scripts/paper-refs: the same check without TeX). */
static void test_paper_refs(void **state)
{
	struct harness_cli *f = *state;
	int st = harness_run("scripts/paper-refs paper", f->out, sizeof f->out);
	if (st != 0)
		fail_msg("paper-refs exited %d:\n%s", st, f->out);
	assert_non_null(strstr(f->out, "paper-refs: "));
}

/* A paper that quotes a number no experiment defines is caught, with its
 * line. */
static void test_paper_refs_names_a_missing_number(void **state)
{
	struct harness_cli *f = *state;
	char cmd[1024], path[512];
	snprintf(cmd, sizeof cmd,
		 "mkdir -p %s/p && for d in tables figures experiments; do "
		 "ln -s \"$PWD/paper/$d\" %s/p/$d; done", f->dir, f->dir);
	assert_int_equal(harness_run(cmd, f->out, sizeof f->out), 0);
	snprintf(path, sizeof path, "%s/p/paper.tex", f->dir);
	assert_int_equal(harness_write_file(path,
		"\\numbers{tiny}\nWe save \\tinyNoSuchNumber{} of them.\n"), 0);
	snprintf(cmd, sizeof cmd, "scripts/paper-refs %s/p", f->dir);
	assert_int_equal(harness_run(cmd, f->out, sizeof f->out), 1);
	assert_non_null(strstr(f->out,
		"paper.tex:2: \\tinyNoSuchNumber is not defined"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_CLI_TEST(test_check_reproduces),
		HARNESS_CLI_TEST(test_check_names_a_changed_file),
		HARNESS_CLI_TEST(test_unknown_experiment),
		HARNESS_CLI_TEST(test_plot_sweep_folder),
		HARNESS_CLI_TEST(test_paper_refs),
		HARNESS_CLI_TEST(test_paper_refs_names_a_missing_number),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
