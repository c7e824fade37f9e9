/*
 * test_interrupt.c - Ctrl-C (SIGINT) and SIGTERM during `allocsim run`:
 * the binary is started on a run long enough to interrupt, and signalled
 * after the first strategy has finished (or while it runs).  It must say
 * which strategy was interrupted and how many finished runs it kept, exit
 * with status 1, leave the finished strategies' summary.json and
 * series.csv complete, and leave no temporary file and no file of the
 * interrupted strategy.
 *
 * The source is a Lua workload whose length is a parameter (-w n=...), so
 * each strategy runs for a while; the test polls for the first strategy's
 * summary.json rather than sleeping a fixed time, so it holds on slow
 * (sanitizer) builds too.  The binary is $ALLOCSIM, else build/allocsim.
 */
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include <cmocka.h>

#include "harness.h"

static const char script[] =
	"local n = param('n', 1000)\n"
	"local keep = {}\n"
	"for i = 1, n do\n"
	"  keep[i % 5000 + 1] = alloc(16 + i % 3000)\n"
	"  if keep[(i + 2500) % 5000 + 1] then\n"
	"    free(keep[(i + 2500) % 5000 + 1]); keep[(i + 2500) % 5000 + 1] = nil\n"
	"  end\n"
	"end\n";

struct ctx {
	char bin[PATH_MAX];
	char dir[256], lua[300], out[300], log[300];
};

static int setup(void **state)
{
	static struct ctx c;
	if (!realpath(harness_allocsim(), c.bin))
		return -1;
	snprintf(c.dir, sizeof c.dir, "%s", harness_tmpdir());
	snprintf(c.lua, sizeof c.lua, "%s/long.lua", c.dir);
	snprintf(c.log, sizeof c.log, "%s/log", c.dir);
	*state = &c;
	return harness_write_file(c.lua, script);
}

static int teardown(void **state)
{
	harness_rmtree(((struct ctx *)*state)->dir);
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Start `allocsim run LUA -s STRATS -o OUT -w n=N -q`, output to c->log. */
static pid_t start(struct ctx *c, const char *strats, const char *n)
{
	char wn[64];
	snprintf(wn, sizeof wn, "n=%s", n);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			_exit(127);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(c->bin, c->bin, "run", c->lua, "-s", strats, "-o", c->out,
		      "-w", wn, "-q", "--sample", "100", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Wait until path exists (or the child ended); 1 when it appeared. */
static int wait_for(const char *path, pid_t pid, double limit)
{
	double t0 = now();
	while (now() - t0 < limit) {
		if (exists(path))
			return 1;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return 0;
		usleep(10000);
	}
	return 0;
}

/* Signal the child, wait for it; its exit status (or -1). */
static int stop(pid_t pid, int sig)
{
	int st;
	kill(pid, sig);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void read_file(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t k = fread(buf, 1, n - 1, f);
	buf[k] = '\0';
	fclose(f);
}

/* What the folder holds: no temporaries, and only the listed files. */
static void expect_files(const char *dir, const char *want)
{
	char cmd[600], out[4096];
	snprintf(cmd, sizeof cmd, "cd '%s' && find . -type f | sort", dir);
	assert_int_equal(harness_run(cmd, out, sizeof out), 0);
	if (strcmp(out, want) != 0)
		fail_msg("files in %s:\n%s\nexpected:\n%s", dir, out, want);
}

/* A finished strategy's files are whole: the summary is closed JSON with
 * status ok, the series has its header and rows. */
static void expect_complete(const char *out, const char *strategy)
{
	char path[600], text[1 << 16];
	snprintf(path, sizeof path, "%s/%s/summary.json", out, strategy);
	read_file(path, text, sizeof text);
	assert_non_null(strstr(text, "\"status\": \"ok\""));
	size_t n = strlen(text);
	assert_true(n > 2 && text[n - 1] == '\n' && text[n - 2] == '}');
	snprintf(path, sizeof path, "%s/%s/series.csv", out, strategy);
	read_file(path, text, sizeof text);
	assert_true(strncmp(text, "event,", 6) == 0);
	assert_true(strchr(text, '\n') != strrchr(text, '\n'));
}

static void interrupt_second(struct ctx *c, int sig)
{
	snprintf(c->out, sizeof c->out, "%s/out%d", c->dir, sig);
	char first[400], log[8192];
	snprintf(first, sizeof first, "%s/bump/summary.json", c->out);
	/* long enough that span is still at work when bump has finished */
	pid_t pid = start(c, "bump,span", "3000000");
	if (!wait_for(first, pid, 300))
		fail_msg("bump never finished");
	usleep(200000);
	int st = stop(pid, sig);
	read_file(c->log, log, sizeof log);
	if (st != 1 || !strstr(log, "allocsim: interrupted during strategy span "
			       "(no results written for it); 1 finished run(s) kept in "))
		fail_msg("exit status %d (want 1); output:\n%s", st, log);
	expect_complete(c->out, "bump");
	expect_files(c->out, "./bump/series.csv\n./bump/summary.json\n");
}

static void test_sigint_after_first(void **state)
{
	interrupt_second(*state, SIGINT);
}

static void test_sigterm_after_first(void **state)
{
	interrupt_second(*state, SIGTERM);
}

/* Interrupted in the first strategy: nothing is kept, and it says so. */
static void test_sigint_in_first(void **state)
{
	struct ctx *c = *state;
	snprintf(c->out, sizeof c->out, "%s/out-first", c->dir);
	char folder[400];
	snprintf(folder, sizeof folder, "%s/bump", c->out);
	pid_t pid = start(c, "bump,span", "100000000");
	if (!wait_for(folder, pid, 300))   /* made once the script compiled */
		fail_msg("bump never started");
	usleep(100000);
	int st = stop(pid, SIGINT);
	char log[8192];
	read_file(c->log, log, sizeof log);
	if (st != 1 || !strstr(log, "interrupted during strategy bump (no results "
			       "written for it); 0 finished run(s) kept in "))
		fail_msg("exit status %d (want 1); output:\n%s", st, log);
	if (exists(c->out))
		expect_files(c->out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigint_after_first),
		cmocka_unit_test(test_sigterm_after_first),
		cmocka_unit_test(test_sigint_in_first),
	};
	return cmocka_run_group_tests_name("interrupt", tests, setup, teardown);
}
