/*
 * test_validate_go.c - runs scripts/validate-go --quick (the Go model beside
 * the real Go runtime on small seeded workloads) when `go` is installed,
 * and says loudly when it is not (`make validate-go` installs it as root).
 *
 * What must hold even on the small workloads: both sides ran, real Go's
 * scan work (gcpacertrace), which sets the model's pacer, was read for
 * every workload (its globals are never 0), and after every forced
 * collection the model's HeapAlloc is within 0.5 % of real Go's (the
 * script's own exit status also covers HeapInuse and NumGC,
 * whose small absolute values at this scale make them noisy: they are
 * printed, not asserted here; `make validate-go` runs the full size).
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

static char out[1 << 18];

static void test_validate_go(void **state)
{
	(void)state;
	if (system("command -v go >/dev/null 2>&1") != 0) {
		print_message("\n*** validate-go: SKIPPED: `go` is not installed; "
			      "run `make validate-go` as root to install golang-go "
			      "and compare the model with real Go 1.19 ***\n\n");
		skip();
	}
	const char *build = getenv("ALLOCSIM_BUILD");
	char cmd[512];
	snprintf(cmd, sizeof cmd, "scripts/validate-go --quick -v --build %s",
		 build ? build : "build");
	int rc = harness_run(cmd, out, sizeof out);
	assert_true(rc == 0 || rc == 1);
	/* every row: "name ckpts alloc_err (spread) ...": alloc_err <= 0.5 */
	int rows = 0, scans = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char name[32];
		int ckpt;
		double err;
		unsigned long long heap, stack, globals;
		if (sscanf(line, " %31[^:]: real Go's scan work (%llu, %llu, %llu)",
			   name, &heap, &stack, &globals) == 4) {
			assert_true(globals > 0);
			scans++;
			continue;
		}
		if (line[0] == ' ')
			continue;        /* -v: one line per checkpoint */
		print_message("%s\n", line);
		if (sscanf(line, "%31s %d %lf", name, &ckpt, &err) == 3) {
			assert_true(err <= 0.5);
			rows++;
		}
	}
	assert_int_equal(rows, 7);
	assert_int_equal(scans, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_go),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
