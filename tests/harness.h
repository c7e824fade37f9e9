/*
 * harness.h - helpers shared by the cmocka tests.
 * Include after <stdarg.h>, <stddef.h>, <setjmp.h>, <stdint.h> and <cmocka.h>.
 */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "strategy.h"

/* Fail the test with err->msg unless rc is SIM_OK. */
#define assert_sim_ok(rc, err) \
	harness_assert_ok((rc), (err), __FILE__, __LINE__)
void harness_assert_ok(int rc, const struct sim_err *err, const char *file,
		       int line);

/* A host allocator (strategy_env.halloc shape) that counts live bytes in
 * *(size_t *)ud and uses cmocka's test_malloc so leaks fail the test. */
void *harness_halloc(void *ud, void *ptr, size_t old_size, size_t new_size);

/* Path of a file in tests/data/ (static buffer). */
const char *harness_data(const char *name);

/* A fresh temporary directory under /tmp (static buffer), removed by
 * harness_rmtree. */
const char *harness_tmpdir(void);
void harness_rmtree(const char *path);

/* Write text to path; returns 0 on success. */
int harness_write_file(const char *path, const char *text);

/* The allocsim binary the CLI tests drive: $ALLOCSIM (tests/run-tests
 * sets it; under valgrind it is a command line) or build/allocsim. */
const char *harness_allocsim(void);

/* The fixture of the tests that drive the allocsim binary: the binary, a
 * fresh temporary folder (removed at teardown) and room for a command's
 * output.  harness_cli_setup/teardown are cmocka setup/teardown functions;
 * *state is the struct harness_cli. */
struct harness_cli {
	const char *bin;
	char dir[128];
	char out[1 << 16];
};
int harness_cli_setup(void **state);
int harness_cli_teardown(void **state);
#define HARNESS_CLI_TEST(t) \
	cmocka_unit_test_setup_teardown(t, harness_cli_setup, harness_cli_teardown)

/* Run a shell command line, capturing stdout+stderr into out (size n).
 * Returns the exit status (or -1). */
int harness_run(const char *cmdline, char *out, size_t n);

/* Run "BIN ARGS" with ARGS formatted from fmt, as harness_run does. */
int harness_runv(const char *bin, char *out, size_t n, const char *fmt,
		 va_list ap) __attribute__((format(printf, 4, 0)));

#endif
