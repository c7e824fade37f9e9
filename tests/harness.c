/*
 * harness.c - helpers shared by the cmocka tests (see harness.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "harness.h"

void harness_assert_ok(int rc, const struct sim_err *err, const char *file,
		       int line)
{
	if (rc != SIM_OK) {
		print_error("%s:%d: expected SIM_OK, got %s: %s\n", file, line,
			    sim_rc_name(rc), err ? err->msg : "");
		fail_msg("sim call failed");
	}
}

void *harness_halloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
	size_t *live = ud;
	if (new_size == 0) {
		if (ptr) {
			test_free(ptr);
			if (live)
				*live -= old_size;
		}
		return NULL;
	}
	void *p = test_realloc(ptr, new_size);
	if (p && live)
		*live += new_size - (ptr ? old_size : 0);
	return p;
}

const char *harness_data(const char *name)
{
	static char buf[4096];
	const char *dir = getenv("ALLOCSIM_TEST_DATA");
	snprintf(buf, sizeof buf, "%s/%s", dir ? dir : "tests/data", name);
	return buf;
}

const char *harness_allocsim(void)
{
	const char *b = getenv("ALLOCSIM");
	return b && b[0] ? b : "build/allocsim";
}

int harness_cli_setup(void **state)
{
	static struct harness_cli f;
	memset(&f, 0, sizeof f);
	f.bin = harness_allocsim();
	snprintf(f.dir, sizeof f.dir, "%s", harness_tmpdir());
	*state = &f;
	return 0;
}

int harness_cli_teardown(void **state)
{
	struct harness_cli *f = *state;
	harness_rmtree(f->dir);
	return 0;
}

const char *harness_tmpdir(void)
{
	static char buf[64];
	strcpy(buf, "/tmp/allocsim-test-XXXXXX");
	if (!mkdtemp(buf))
		fail_msg("mkdtemp failed");
	return buf;
}

void harness_rmtree(const char *path)
{
	char cmd[4200];
	if (strncmp(path, "/tmp/allocsim-test-", 19) != 0)
		return;   /* never remove anything else */
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		print_error("could not remove %s\n", path);
}

int harness_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	size_t n = strlen(text);
	int bad = fwrite(text, 1, n, f) != n;
	return fclose(f) != 0 || bad ? -1 : 0;
}

int harness_run(const char *cmdline, char *out, size_t n)
{
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "%s 2>&1", cmdline);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t got = 0;
	if (n > 0) {
		got = fread(out, 1, n - 1, p);
		out[got] = '\0';
	}
	char sink[4096];
	while (fread(sink, 1, sizeof sink, p) > 0)
		;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int harness_runv(const char *bin, char *out, size_t n, const char *fmt,
		 va_list ap)
{
	char args[4096], cmd[8192];
	vsnprintf(args, sizeof args, fmt, ap);
	snprintf(cmd, sizeof cmd, "%s %s", bin, args);
	return harness_run(cmd, out, n);
}
