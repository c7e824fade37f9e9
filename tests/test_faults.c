/*
 * test_faults.c - the fault plan of the simulated OS as users set it:
 * simos_fault_set's names, simos_set_faults counting from the moment it is
 * called, `allocsim run --fault KIND=N` and the Lua binding faults{...}.
 * The conformance suite runs every strategy under failing plans; this file
 * checks the plumbing from the command line and scripts to struct
 * simos_faults.
 *
 * The binary is $ALLOCSIM (tests/run-tests sets it), else build/allocsim.
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
#include "simos.h"

#define MiB (UINT64_C(1) << 20)

/* ---- simos_fault_set and simos_set_faults ---------------------------------- */

static void test_names(void **state)
{
	(void)state;
	struct simos_faults f;
	struct sim_err err;
	memset(&f, 0, sizeof f);
	assert_sim_ok(simos_fault_set(&f, "mmap", 3, &err), &err);
	assert_sim_ok(simos_fault_set(&f, "brk", 4, &err), &err);
	assert_sim_ok(simos_fault_set(&f, "madvise", 5, &err), &err);
	assert_sim_ok(simos_fault_set(&f, "mremap", 6, &err), &err);
	assert_sim_ok(simos_fault_set(&f, "every-mmap", 7, &err), &err);
	assert_sim_ok(simos_fault_set(&f, "every_brk", 8, &err), &err);
	assert_sim_ok(simos_fault_set(&f, "max-mapped", 9 * MiB, &err), &err);
	assert_int_equal(f.fail_nth_mmap, 3);
	assert_int_equal(f.fail_nth_brk, 4);
	assert_int_equal(f.fail_nth_madvise, 5);
	assert_int_equal(f.fail_nth_mremap, 6);
	assert_int_equal(f.fail_every_mmap, 7);
	assert_int_equal(f.fail_every_brk, 8);
	assert_int_equal(f.max_mapped_bytes, 9 * MiB);
	assert_int_equal(simos_fault_set(&f, "mmap", 0, &err), SIM_EINVAL);
	assert_string_equal(err.msg, "mmap must be at least 1");
	assert_int_equal(simos_fault_set(&f, "munmap", 1, &err), SIM_EINVAL);
	assert_non_null(strstr(err.msg, "unknown fault 'munmap'"));
	assert_int_equal(f.fail_nth_mmap, 3);   /* refused values change nothing */
}

/* A plan set mid-run counts calls from then on. */
static void test_set_counts_from_now(void **state)
{
	(void)state;
	struct simos *os;
	struct sim_err err;
	assert_sim_ok(simos_create(NULL, &os, &err), &err);
	uint64_t a;
	for (int i = 0; i < 5; i++)
		assert_int_equal(simos_mmap(os, 0, 4096, SIMOS_PROT_RW, 0, &a), SIM_OK);
	struct simos_faults f = {.fail_nth_mmap = 2, .fail_every_brk = 2};
	simos_set_faults(os, &f);
	assert_int_equal(simos_mmap(os, 0, 4096, SIMOS_PROT_RW, 0, &a), SIM_OK);
	assert_int_equal(simos_mmap(os, 0, 4096, SIMOS_PROT_RW, 0, &a), SIM_ENOMEM);
	assert_int_equal(simos_mmap(os, 0, 4096, SIMOS_PROT_RW, 0, &a), SIM_OK);
	assert_int_equal(simos_sbrk(os, 4096, &a), SIM_OK);
	assert_int_equal(simos_sbrk(os, 4096, &a), SIM_ENOMEM);
	assert_int_equal(simos_sbrk(os, 4096, &a), SIM_OK);
	assert_int_equal(simos_sbrk(os, 4096, &a), SIM_ENOMEM);
	/* a cap below what is mapped refuses growth, keeps what is there */
	f = (struct simos_faults){.max_mapped_bytes = 4096};
	simos_set_faults(os, &f);
	assert_int_equal(simos_mmap(os, 0, 4096, SIMOS_PROT_RW, 0, &a), SIM_ENOMEM);
	assert_int_equal(simos_rw_bytes(os), 9 * 4096);
	assert_int_equal(simos_counts(os)->failed[SIMOS_CALL_mmap], 2);
	simos_destroy(os);
}

/* ---- the command line and Lua --------------------------------------------------- */

struct ctx {
	char dir[128], trace[256];
	char out[16384];
};

static int setup(void **state)
{
	static struct ctx c;
	snprintf(c.dir, sizeof c.dir, "%s", harness_tmpdir());
	snprintf(c.trace, sizeof c.trace, "%s/t.trace", c.dir);
	char text[8192] = "# allocsim-trace v1\n";
	for (int i = 1; i <= 100; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text),
			 "a %d %d 65536\n", i % 3, i);
	if (harness_write_file(c.trace, text) != 0)
		return -1;
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	harness_rmtree(((struct ctx *)*state)->dir);
	return 0;
}

static int run(struct ctx *c, const char *args)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "%s run %s", harness_allocsim(), args);
	return harness_run(cmd, c->out, sizeof c->out);
}

static void expect(struct ctx *c, int got, int st, const char *text)
{
	if (got != st || (text && !strstr(c->out, text)))
		fail_msg("exit %d (expected %d), output lacks '%s':\n%s", got, st,
			 text ? text : "", c->out);
}

static void test_cli_fault(void **state)
{
	struct ctx *c = *state;
	char args[1024];
	/* every mmap and brk fails: the first event, every strategy */
	snprintf(args, sizeof args, "%s --no-output -q --fault every-mmap=1 "
		 "--fault every-brk=1", c->trace);
	expect(c, run(c, args), 1, ":2: event 0: strategy ");
	expect(c, 1, 1, "out of memory");
	/* a cap: the run ends on the event that would cross it, with results */
	snprintf(args, sizeof args, "%s -s bump -o %s/out --fault max-mapped=1M",
		 c->trace, c->dir);
	expect(c, run(c, args), 1, "bump: ");
	expect(c, 1, 1, "oom");
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "grep -q '\"status\": \"oom\"' %s/out/bump/"
		 "summary.json", c->dir);
	assert_int_equal(harness_run(cmd, c->out, sizeof c->out), 0);
	/* no plan that fires: a clean run */
	snprintf(args, sizeof args, "%s --no-output -q --fault mmap=100000",
		 c->trace);
	expect(c, run(c, args), 0, NULL);
}

static void test_cli_fault_errors(void **state)
{
	struct ctx *c = *state;
	char args[1024];
	static const char *const bad[][2] = {
		{"mmap=0", "--fault mmap=0: mmap must be at least 1"},
		{"munmap=3", "--fault munmap=3: unknown fault 'munmap'"},
		{"mmap", "--fault mmap: expected KIND=N"},
		{"=4", "--fault =4: expected KIND=N"},
		{"brk=-1", "--fault brk=-1: '-1' is not a non-negative number"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(args, sizeof args, "%s --no-output --fault '%s'", c->trace,
			 bad[i][0]);
		expect(c, run(c, args), 2, bad[i][1]);
	}
}

static void test_lua_faults(void **state)
{
	struct ctx *c = *state;
	char path[300], args[1024];
	snprintf(path, sizeof path, "%s/f.lua", c->dir);
	assert_int_equal(harness_write_file(path,
		"local h = {}\n"
		"for i = 1, 10 do h[i] = alloc(64 * KiB) end\n"
		"faults{max_mapped = 2 * MiB, every_brk = 1}\n"
		"for i = 11, 1000 do h[i] = alloc(64 * KiB) end\n"), 0);
	snprintf(args, sizeof args, "%s --no-output -q -s bump", path);
	expect(c, run(c, args), 1, "f.lua:4: event ");
	expect(c, 1, 1, "could not allocate 65536 bytes");
	assert_int_equal(harness_write_file(path, "faults{mmap = 0}\n"), 0);
	expect(c, run(c, args), 2, "f.lua:1: faults: mmap must be at least 1");
	assert_int_equal(harness_write_file(path, "faults{sbrk = 1}\n"), 0);
	expect(c, run(c, args), 2, "f.lua:1: faults: unknown fault 'sbrk'");
	assert_int_equal(harness_write_file(path, "faults{mmap = 'x'}\n"), 0);
	expect(c, run(c, args), 2, "f.lua:1: faults: mmap must be an integer");
	assert_int_equal(harness_write_file(path, "faults(3)\n"), 0);
	expect(c, run(c, args), 2, "bad argument #1 to 'faults'");
	/* faults{} clears the plan */
	assert_int_equal(harness_write_file(path,
		"faults{every_mmap = 1}\nfaults{}\nfree(alloc(100))\n"), 0);
	expect(c, run(c, args), 0, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_set_counts_from_now),
		cmocka_unit_test(test_cli_fault),
		cmocka_unit_test(test_cli_fault_errors),
		cmocka_unit_test(test_lua_faults),
	};
	return cmocka_run_group_tests_name("faults", tests, setup, teardown);
}
