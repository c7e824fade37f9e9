/*
 * test_registry.c - the strategy registry against the strategies/ folders,
 * lookup by name, ops-table validation, and parameter parsing (sizes with
 * suffixes, booleans, "off", ranges, messages naming strategy.key).
 * Runs from the repository root: it reads the strategies/ folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "harness.h"
#include "strategy.h"

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- registry against folders --------------------------------------------- */

/* Every strategies/<name>/ but common/ is a registered strategy <name>. */
static void test_folders_registered(void **state)
{
	(void)state;
	DIR *d = opendir("strategies");
	assert_non_null(d);
	int folders = 0;
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		char path[512];
		if (de->d_name[0] == '.' || strcmp(de->d_name, "common") == 0)
			continue;
		snprintf(path, sizeof path, "strategies/%s", de->d_name);
		if (!is_dir(path))
			continue;
		folders++;
		const struct strategy_ops *ops = strategy_find(de->d_name);
		if (!ops)
			fail_msg("folder %s has no registered strategy", path);
		assert_string_equal(ops->name, de->d_name);
	}
	closedir(d);
	int n = 0;
	while (strategy_registry[n])
		n++;
	assert_int_equal(folders, n);
}

/* Every registered strategy has its folder and its <name>.c. */
static void test_registered_have_folders(void **state)
{
	(void)state;
	for (int i = 0; strategy_registry[i]; i++) {
		const char *name = strategy_registry[i]->name;
		char path[512];
		snprintf(path, sizeof path, "strategies/%s", name);
		if (!is_dir(path))
			fail_msg("strategy %s has no folder %s", name, path);
		snprintf(path, sizeof path, "strategies/%s/%s.c", name, name);
		struct stat st;
		if (stat(path, &st) != 0)
			fail_msg("strategy %s has no file %s", name, path);
		assert_int_not_equal(strcmp(name, "common"), 0);
	}
}

/* Each entry is valid, unique, and its defaults parse and round-trip. */
static void test_registered_valid(void **state)
{
	(void)state;
	struct sim_err err;
	for (int i = 0; strategy_registry[i]; i++) {
		const struct strategy_ops *ops = strategy_registry[i];
		assert_sim_ok(strategy_validate(ops, &err), &err);
		assert_true(ops->summary[0] != '\0');
		assert_true(ops->reclaim_default == SIM_RECLAIM_IMMEDIATE ||
			    ops->reclaim_default == SIM_RECLAIM_GC);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(strategy_registry[j]->name, ops->name);
		assert_ptr_equal(strategy_find(ops->name), ops);
		union param_value v[64], w[64];
		size_t n = strat_param_count(ops);
		assert_true(n <= 64);
		assert_sim_ok(strat_params_default(ops, v, &err), &err);
		for (size_t k = 0; k < n; k++) {
			char text[64];
			strat_param_format(&ops->params[k], v[k], text, sizeof text);
			assert_sim_ok(strat_param_set(ops, w, ops->params[k].name,
						      text, &err), &err);
			assert_memory_equal(&v[k], &w[k], sizeof v[k]);
		}
	}
}

/* ---- lookup ----------------------------------------------------------------- */

static void test_find(void **state)
{
	(void)state;
	assert_non_null(strategy_registry[0]);
	assert_ptr_equal(strategy_find(NULL), strategy_registry[0]);
	assert_null(strategy_find(""));
	assert_null(strategy_find("no-such-strategy"));
	for (int i = 0; strategy_registry[i]; i++) {
		const char *name = strategy_registry[i]->name;
		char buf[128];
		/* case-sensitive: the upper-case name is not found */
		snprintf(buf, sizeof buf, "%s", name);
		for (char *p = buf; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		if (strcmp(buf, name) != 0)
			assert_null(strategy_find(buf));
		/* no prefix or suffix matching */
		snprintf(buf, sizeof buf, "%s ", name);
		assert_null(strategy_find(buf));
		snprintf(buf, sizeof buf, "%.*s", (int)strlen(name) - 1, name);
		if (buf[0])
			assert_true(strategy_find(buf) == NULL ||
				    strcmp(strategy_find(buf)->name, buf) == 0);
	}
}

/* ---- validation --------------------------------------------------------- */

static void dummy_counters(void *self, uint64_t *v)
{
	(void)self;
	v[0] = v[1] = v[2] = 0;
}

static uint64_t dummy_alloc(void *self, uint32_t tid, uint64_t size,
			    uint64_t align, unsigned flags, uint64_t *usable)
{
	(void)self; (void)tid; (void)size; (void)align; (void)flags;
	(void)usable;
	return 0;
}

static void dummy_free(void *self, uint32_t tid, uint64_t addr,
		       uint64_t usable)
{
	(void)self; (void)tid; (void)addr; (void)usable;
}

static int dummy_init(void *self, const struct strategy_env *env,
		      const union param_value *params, struct sim_err *err)
{
	(void)self; (void)env; (void)params; (void)err;
	return SIM_OK;
}

static const struct strategy_param test_params[] = {
	{"n", PARAM_INT, "4", 1, 64, "an int"},
	{"lim", PARAM_INT, "off", -1, 100, "an int that may be off"},
	{"sz", PARAM_SIZE, "1M", 4096, 1073741824.0, "a size"},
	{"flag", PARAM_BOOL, "true", 0, 1, "a bool"},
	{"ratio", PARAM_DOUBLE, "0.5", 0, 1, "a double"},
	{NULL, 0, NULL, 0, 0, NULL}
};

static const char *const good_counters[] = {
	"cache_hits", "cache_misses", "lock_acquires", NULL
};
static const char *const no_locks[] = {"cache_hits", "cache_misses", NULL};

static const struct strategy_ops test_ops = {
	.abi_version = STRATEGY_ABI_VERSION,
	.name = "tst",
	.summary = "a table to test with",
	.state_size = 8,
	.params = test_params,
	.counter_names = good_counters,
	.reclaim_default = SIM_RECLAIM_IMMEDIATE,
	.max_align = 16,
	.init = dummy_init,
	.alloc = dummy_alloc,
	.free = dummy_free,
	.counters = dummy_counters,
};

static void expect_invalid(const struct strategy_ops *ops, const char *word)
{
	struct sim_err err;
	memset(&err, 0, sizeof err);
	assert_int_equal(strategy_validate(ops, &err), SIM_EINVAL);
	assert_int_equal(err.code, SIM_EINVAL);
	if (word && !strstr(err.msg, word))
		fail_msg("message '%s' does not mention '%s'", err.msg, word);
}

static void test_validate(void **state)
{
	(void)state;
	struct sim_err err;
	assert_sim_ok(strategy_validate(&test_ops, &err), &err);
	struct strategy_ops o = test_ops;
	o.abi_version = STRATEGY_ABI_VERSION + 1;
	expect_invalid(&o, "ABI");
	o.abi_version = 0;
	expect_invalid(&o, "ABI");
	o = test_ops;
	o.counter_names = no_locks;
	expect_invalid(&o, "lock_acquires");
	o.counter_names = NULL;
	expect_invalid(&o, "cache_hits");
	o = test_ops;
	o.alloc = NULL;
	expect_invalid(&o, "tst");
	o = test_ops;
	o.free = NULL;
	expect_invalid(&o, NULL);
	o = test_ops;
	o.init = NULL;
	expect_invalid(&o, NULL);
	o = test_ops;
	o.counters = NULL;
	expect_invalid(&o, NULL);
	o = test_ops;
	o.name = NULL;
	expect_invalid(&o, NULL);
	o.name = "";
	expect_invalid(&o, NULL);
	o = test_ops;
	o.max_align = 24;
	expect_invalid(&o, "max_align");
	o.max_align = 0;
	expect_invalid(&o, "max_align");
}

/* ---- parameters ----------------------------------------------------------- */

static void test_parse_size(void **state)
{
	(void)state;
	static const struct { const char *text; uint64_t v; } good[] = {
		{"0", 0}, {"4096", 4096}, {"64K", 65536}, {"64KiB", 65536},
		{"3k", 3072}, {"2M", 2097152}, {"2MiB", 2097152},
		{"1G", 1073741824}, {"1GiB", 1073741824},
		{"1T", UINT64_C(1) << 40}, {"1TiB", UINT64_C(1) << 40},
		{"18446744073709551615", UINT64_MAX},
	};
	static const char *const bad[] = {
		"", "-1", "1.5M", "12Q", "K", "64 K", "64KB", "0x10",
		"17179869184G",              /* 2^64: overflows */
		"18446744073709551616",      /* 2^64 */
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		uint64_t v = 12345;
		if (strat_parse_size(good[i].text, &v) != SIM_OK)
			fail_msg("'%s' does not parse", good[i].text);
		assert_int_equal(v, good[i].v);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t v;
		if (strat_parse_size(bad[i], &v) != SIM_EINVAL)
			fail_msg("'%s' parses", bad[i]);
	}
}

static void test_defaults(void **state)
{
	(void)state;
	struct sim_err err;
	union param_value v[5];
	assert_int_equal(strat_param_count(&test_ops), 5);
	assert_sim_ok(strat_params_default(&test_ops, v, &err), &err);
	assert_int_equal(v[0].i, 4);
	assert_int_equal(v[1].i, -1);
	assert_int_equal(v[2].i, 1048576);
	assert_int_equal(v[3].i, 1);
	assert_float_equal(v[4].d, 0.5, 0);
	struct strategy_ops none = test_ops;
	none.params = NULL;
	assert_int_equal(strat_param_count(&none), 0);
}

/* A default that does not parse is reported (a bug in the strategy). */
static void test_bad_default(void **state)
{
	(void)state;
	static const struct strategy_param p[] = {
		{"x", PARAM_SIZE, "lots", 0, 10, "bad default"},
		{NULL, 0, NULL, 0, 0, NULL}
	};
	struct strategy_ops o = test_ops;
	o.params = p;
	union param_value v[1];
	struct sim_err err;
	assert_int_equal(strat_params_default(&o, v, &err), SIM_EINVAL);
	assert_non_null(strstr(err.msg, "tst.x"));
}

/* Set key=text and expect value i (ints, sizes, bools). */
static void set_int(const char *key, const char *text, int64_t want)
{
	union param_value v[5];
	struct sim_err err;
	assert_sim_ok(strat_params_default(&test_ops, v, &err), &err);
	int rc = strat_param_set(&test_ops, v, key, text, &err);
	if (rc != SIM_OK)
		fail_msg("%s=%s: %s", key, text, err.msg);
	for (int i = 0; test_params[i].name; i++)
		if (strcmp(test_params[i].name, key) == 0)
			assert_int_equal(v[i].i, want);
}

/* Set key=text and expect SIM_EINVAL with a message naming tst.key and
 * containing word. */
static void set_bad(const char *key, const char *text, const char *word)
{
	union param_value v[5];
	struct sim_err err;
	char name[64];
	assert_sim_ok(strat_params_default(&test_ops, v, &err), &err);
	memset(&err, 0, sizeof err);
	int rc = strat_param_set(&test_ops, v, key, text, &err);
	if (rc != SIM_EINVAL)
		fail_msg("%s=%s was accepted", key, text);
	assert_int_equal(err.code, SIM_EINVAL);
	snprintf(name, sizeof name, "tst.%s", key);
	if (!strstr(err.msg, name))
		fail_msg("message '%s' does not name %s", err.msg, name);
	if (word && !strstr(err.msg, word))
		fail_msg("message '%s' does not say '%s'", err.msg, word);
	/* a refused value leaves the values as they were */
	union param_value d[5];
	assert_sim_ok(strat_params_default(&test_ops, d, &err), &err);
	assert_memory_equal(v, d, sizeof v);
}

static void test_param_int(void **state)
{
	(void)state;
	set_int("n", "1", 1);
	set_int("n", "64", 64);
	set_int("n", "17", 17);
	set_bad("n", "0", "outside");
	set_bad("n", "65", "outside");
	set_bad("n", "off", "integer");     /* min 1: no "off" */
	set_bad("n", "4x", "integer");
	set_bad("n", "0x10", "integer");
	set_bad("n", "", "integer");
	set_bad("n", "1.0", "integer");
	set_bad("n", "99999999999999999999", "integer");
	set_int("lim", "off", -1);
	set_int("lim", "OFF", -1);
	set_int("lim", "-1", -1);
	set_int("lim", "0", 0);
	set_int("lim", "100", 100);
	set_bad("lim", "-2", "outside");
	set_bad("lim", "101", "outside");
}

static void test_param_size(void **state)
{
	(void)state;
	set_int("sz", "4096", 4096);
	set_int("sz", "4K", 4096);
	set_int("sz", "64KiB", 65536);
	set_int("sz", "1G", 1073741824);
	set_bad("sz", "1024", "outside");    /* below min */
	set_bad("sz", "2G", "outside");      /* above max */
	set_bad("sz", "1.5M", "size");
	set_bad("sz", "-4K", "size");
	set_bad("sz", "big", "size");
}

static void test_param_bool(void **state)
{
	(void)state;
	static const char *const yes[] = {"1", "true", "on", "yes", "TRUE", "Yes"};
	static const char *const no[] = {"0", "false", "off", "no", "FALSE", "No"};
	for (int i = 0; i < 6; i++) {
		set_int("flag", yes[i], 1);
		set_int("flag", no[i], 0);
	}
	set_bad("flag", "2", "boolean");
	set_bad("flag", "maybe", "boolean");
	set_bad("flag", "", "boolean");
}

static void test_param_double(void **state)
{
	(void)state;
	union param_value v[5];
	struct sim_err err;
	assert_sim_ok(strat_params_default(&test_ops, v, &err), &err);
	assert_sim_ok(strat_param_set(&test_ops, v, "ratio", "0.25", &err), &err);
	assert_float_equal(v[4].d, 0.25, 0);
	assert_sim_ok(strat_param_set(&test_ops, v, "ratio", "1", &err), &err);
	assert_float_equal(v[4].d, 1.0, 0);
	set_bad("ratio", "1.5", "outside");
	set_bad("ratio", "-0.1", "outside");
	set_bad("ratio", "abc", "number");
	set_bad("ratio", "nan", "number");
	set_bad("ratio", "inf", "number");
	set_bad("ratio", "0.5x", "number");
}

/* An unknown key names the strategy and the key; the values are untouched. */
static void test_param_unknown(void **state)
{
	(void)state;
	union param_value v[5], w[5];
	struct sim_err err;
	assert_sim_ok(strat_params_default(&test_ops, v, &err), &err);
	memcpy(w, v, sizeof v);
	assert_int_equal(strat_param_set(&test_ops, v, "nope", "1", &err),
			 SIM_EINVAL);
	assert_non_null(strstr(err.msg, "tst"));
	assert_non_null(strstr(err.msg, "nope"));
	assert_memory_equal(v, w, sizeof v);
	/* keys are case-sensitive too */
	assert_int_equal(strat_param_set(&test_ops, v, "N", "1", &err), SIM_EINVAL);
}

static void test_param_format(void **state)
{
	(void)state;
	char buf[64];
	union param_value v;
	v.i = 17;
	strat_param_format(&test_params[0], v, buf, sizeof buf);
	assert_string_equal(buf, "17");
	v.i = -1;
	strat_param_format(&test_params[1], v, buf, sizeof buf);
	assert_string_equal(buf, "off");
	v.i = 5;
	strat_param_format(&test_params[1], v, buf, sizeof buf);
	assert_string_equal(buf, "5");
	v.i = 65536;
	strat_param_format(&test_params[2], v, buf, sizeof buf);
	assert_string_equal(buf, "65536");
	v.i = 1;
	strat_param_format(&test_params[3], v, buf, sizeof buf);
	assert_string_equal(buf, "true");
	v.i = 0;
	strat_param_format(&test_params[3], v, buf, sizeof buf);
	assert_string_equal(buf, "false");
	/* a double round-trips exactly */
	union param_value w[5];
	struct sim_err err;
	v.d = 0.1;
	strat_param_format(&test_params[4], v, buf, sizeof buf);
	assert_sim_ok(strat_params_default(&test_ops, w, &err), &err);
	assert_sim_ok(strat_param_set(&test_ops, w, "ratio", buf, &err), &err);
	assert_memory_equal(&w[4].d, &v.d, sizeof v.d);
}

/* ---- plugins ------------------------------------------------------------ */

/* Loading fails cleanly, naming the file: no such file, and a shared
 * object that exports no strategy_plugin (the C library's libm). */
static void test_plugin_errors(void **state)
{
	(void)state;
	const struct strategy_ops *ops = NULL;
	struct sim_err err;
	assert_int_equal(strategy_load_plugin("/nonexistent/p.so", &ops, &err),
			 SIM_EINVAL);
	assert_non_null(strstr(err.msg, "/nonexistent/p.so"));
	assert_null(ops);
	assert_int_equal(strategy_load_plugin("libm.so.6", &ops, &err), SIM_EINVAL);
	assert_non_null(strstr(err.msg, "libm.so.6"));
	assert_non_null(strstr(err.msg, "strategy_plugin"));
	assert_null(ops);
	/* the registry is as it was */
	assert_ptr_equal(strategy_find(NULL), strategy_registry[0]);
}

/* ---- natural alignment ---------------------------------------------------- */

static void test_natural_align(void **state)
{
	(void)state;
	struct strategy_ops c = test_ops, go = test_ops;
	go.max_align = 8;
	static const struct { uint64_t size, c, go; } t[] = {
		{0, 1, 1}, {1, 1, 1}, {2, 2, 2}, {3, 1, 1}, {12, 4, 4},
		{24, 8, 8}, {48, 16, 8}, {64, 16, 8}, {4096, 16, 8},
		{UINT64_C(1) << 40, 16, 8}, {(UINT64_C(1) << 40) + 2, 2, 2},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		assert_int_equal(strat_natural_align(&c, t[i].size), t[i].c);
		assert_int_equal(strat_natural_align(&go, t[i].size), t[i].go);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folders_registered),
		cmocka_unit_test(test_registered_have_folders),
		cmocka_unit_test(test_registered_valid),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_default),
		cmocka_unit_test(test_param_int),
		cmocka_unit_test(test_param_size),
		cmocka_unit_test(test_param_bool),
		cmocka_unit_test(test_param_double),
		cmocka_unit_test(test_param_unknown),
		cmocka_unit_test(test_param_format),
		cmocka_unit_test(test_plugin_errors),
		cmocka_unit_test(test_natural_align),
	};
	return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
