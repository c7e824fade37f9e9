/*
 * test_simos.c - unit tests of the simulated OS (sim/simos.c).
 *
 * Every expected number is worked out by hand from the default layout:
 * B = SIMOS_MMAP_BASE is the top of the mmap area, so the first top-down
 * mapping of n bytes lands at B - n; the break starts at SIMOS_BRK_BASE.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "harness.h"
#include "simos.h"

#define K UINT64_C(1024)
#define M (K * K)
#define G (K * M)
#define B SIMOS_MMAP_BASE
#define RW SIMOS_PROT_RW
#define NONE SIMOS_PROT_NONE

/* ---- fixtures and helpers ------------------------------------------------- */

static struct simos *make_os(const struct simos_config *cfg)
{
	struct simos *os = NULL;
	struct sim_err err = { 0 };
	assert_sim_ok(simos_create(cfg, &os, &err), &err);
	assert_non_null(os);
	return os;
}

static int setup_default(void **state)
{
	*state = make_os(NULL);
	return 0;
}

static int teardown_os(void **state)
{
	simos_destroy(*state);
	return 0;
}

static uint64_t map(struct simos *os, uint64_t hint, uint64_t len, int prot,
		    unsigned flags)
{
	uint64_t addr = 0;
	assert_int_equal(simos_mmap(os, hint, len, prot, flags, &addr), SIM_OK);
	return addr;
}

static void touch_ok(struct simos *os, uint64_t addr, uint64_t len)
{
	struct sim_err err = { 0 };
	assert_sim_ok(simos_touch(os, addr, len, &err), &err);
}

static int touch_rc(struct simos *os, uint64_t addr, uint64_t len,
		    struct sim_err *err)
{
	sim_err_clear(err);
	return simos_touch(os, addr, len, err);
}

static uint64_t faults(struct simos *os)
{
	return simos_counts(os)->page_faults;
}

/* ---- configuration ----------------------------------------------------------- */

static void test_config_default(void **state)
{
	(void)state;
	struct simos_config cfg;
	memset(&cfg, 0xff, sizeof cfg);
	simos_config_default(&cfg);
	assert_int_equal(cfg.brk_base, SIMOS_BRK_BASE);
	assert_int_equal(cfg.mmap_base, SIMOS_MMAP_BASE);
	assert_int_equal(cfg.mmap_min, SIMOS_MMAP_MIN);
	assert_int_equal(cfg.memory_max, 0);
	assert_int_equal(cfg.syscall_ns, 1000);
	assert_int_equal(cfg.fault_ns, 250);
	assert_int_equal(cfg.faults.fail_nth_mmap, 0);
	assert_int_equal(cfg.faults.max_mapped_bytes, 0);

	struct simos_config zero = { 0 };
	struct simos *os = make_os(&zero);
	assert_int_equal(simos_brk_base(os), SIMOS_BRK_BASE);
	assert_int_equal(simos_brk_current(os), SIMOS_BRK_BASE);
	assert_int_equal(map(os, 0, 4 * K, RW, 0), B - 4 * K);
	assert_int_equal(simos_cost_ns(os), 0);   /* zero costs stay zero */
	simos_destroy(os);
	simos_destroy(NULL);
}

static void test_create_rejects_bad_layout(void **state)
{
	(void)state;
	struct simos_config cfg;
	struct simos *os = NULL;
	struct sim_err err = { 0 };
	simos_config_default(&cfg);
	cfg.brk_base += 1;
	assert_int_equal(simos_create(&cfg, &os, &err), SIM_EINVAL);
	assert_non_null(strstr(err.msg, "multiples"));
	simos_config_default(&cfg);
	cfg.mmap_min = cfg.mmap_base;
	assert_int_equal(simos_create(&cfg, &os, &err), SIM_EINVAL);
	simos_config_default(&cfg);
	cfg.brk_base = cfg.mmap_base;
	assert_int_equal(simos_create(&cfg, &os, &err), SIM_EINVAL);
	assert_null(os);
}

/* ---- mmap placement ------------------------------------------------------------ */

static void test_mmap_topdown_and_hint(void **state)
{
	struct simos *os = *state;
	assert_int_equal(map(os, 0, 16 * K, RW, 0), B - 16 * K);
	assert_int_equal(map(os, 0, 8 * K, RW, 0), B - 24 * K);
	assert_int_equal(simos_mapping_count(os), 1);   /* merged */
	assert_int_equal(map(os, 0x10000000, 4 * K, RW, 0), 0x10000000);
	assert_int_equal(simos_mapping_count(os), 2);
	/* A hint over a mapping is ignored; so is one below mmap_min. */
	assert_int_equal(map(os, B - 24 * K, 4 * K, RW, 0), B - 28 * K);
	assert_int_equal(map(os, 0x1000, 4 * K, NONE, 0), B - 32 * K);
	assert_int_equal(simos_mapping_count(os), 3);
	assert_int_equal(simos_rw_bytes(os), 32 * K);
	assert_int_equal(simos_reserved_bytes(os), 4 * K);
	assert_int_equal(simos_rss_bytes(os), 0);

	/* A 4 KiB hole near the top: too small for 8 KiB, right for 4 KiB. */
	assert_int_equal(simos_munmap(os, B - 12 * K, 4 * K), SIM_OK);
	assert_int_equal(simos_mapping_count(os), 4);
	assert_int_equal(map(os, 0, 8 * K, RW, 0), B - 40 * K);
	assert_int_equal(map(os, 0, 4 * K, RW, 0), B - 12 * K);
	assert_int_equal(simos_mapping_count(os), 4);
	assert_int_equal(simos_rw_bytes(os), 40 * K);
}

/* A hint may reach above mmap_base (Linux allows up to TASK_SIZE); top-down
 * placement then starts below that mapping. */
static void test_hint_across_mmap_base(void **state)
{
	struct simos *os = *state;
	assert_int_equal(map(os, B - 4 * K, 8 * K, RW, 0), B - 4 * K);
	assert_int_equal(map(os, 0, 4 * K, RW, 0), B - 8 * K);
	assert_int_equal(simos_mapping_count(os), 1);
	assert_true(simos_is_rw(os, B - 8 * K, 12 * K));
	assert_true(simos_is_rw(os, B, 0));
}

static void test_mmap_invalid(void **state)
{
	struct simos *os = *state;
	uint64_t a = 0;
	assert_int_equal(simos_mmap(os, 0, 0, RW, 0, &a), SIM_EINVAL);
	assert_int_equal(simos_mmap(os, 0, 100, RW, 0, &a), SIM_EINVAL);
	assert_int_equal(simos_mmap(os, 0, 4 * K, 7, 0, &a), SIM_EINVAL);
	assert_int_equal(simos_mmap(os, 0, 4 * K, RW, 0x10, &a), SIM_EINVAL);
	assert_int_equal(simos_mmap(os, 0x1000, 4 * K, RW, SIMOS_MAP_FIXED, &a),
			 SIM_EINVAL);   /* below mmap_min */
	assert_int_equal(a, 0);
	assert_int_equal(simos_counts(os)->calls[SIMOS_CALL_mmap], 5);
	assert_int_equal(simos_counts(os)->failed[SIMOS_CALL_mmap], 5);
	assert_int_equal(simos_mapping_count(os), 0);
}

static void test_fixed_over_reservation(void **state)
{
	struct simos *os = *state;
	struct sim_err err;
	uint64_t r = map(os, 0, M, NONE, 0);
	assert_int_equal(r, B - M);
	assert_int_equal(simos_reserved_bytes(os), M);
	assert_int_equal(touch_rc(os, r, 1, &err), SIM_ECHECK);

	assert_int_equal(map(os, r + 64 * K, 128 * K, RW, SIMOS_MAP_FIXED), r + 64 * K);
	assert_int_equal(simos_reserved_bytes(os), M - 128 * K);
	assert_int_equal(simos_rw_bytes(os), 128 * K);
	assert_int_equal(simos_mapping_count(os), 3);
	/* 100 bytes from the last byte of one page cover two pages. */
	touch_ok(os, r + 64 * K + 4095, 100);
	assert_int_equal(simos_rss_bytes(os), 8 * K);
	assert_int_equal(faults(os), 2);
	assert_int_equal(simos_heap_bytes(os), 128 * K);
	assert_true(simos_is_rw(os, r + 64 * K, 128 * K));
	assert_false(simos_is_rw(os, r + 60 * K, 8 * K));

	/* Mapping PROT_NONE back over it forgets the pages and merges. */
	map(os, r + 64 * K, 128 * K, NONE, SIMOS_MAP_FIXED);
	assert_int_equal(simos_rss_bytes(os), 0);
	assert_int_equal(simos_rw_bytes(os), 0);
	assert_int_equal(simos_reserved_bytes(os), M);
	assert_int_equal(simos_mapping_count(os), 1);
}

/* ---- munmap, madvise, mprotect ---------------------------------------------------- */

static void test_munmap_middle_splits(void **state)
{
	struct simos *os = *state;
	struct sim_err err;
	uint64_t a = map(os, 0, 64 * K, RW, 0);
	touch_ok(os, a, 64 * K);
	assert_int_equal(simos_rss_bytes(os), 64 * K);
	assert_int_equal(faults(os), 16);

	assert_int_equal(simos_munmap(os, a + 16 * K, 16 * K), SIM_OK);
	assert_int_equal(simos_mapping_count(os), 2);
	assert_int_equal(simos_rss_bytes(os), 48 * K);
	assert_int_equal(simos_rw_bytes(os), 48 * K);
	assert_int_equal(touch_rc(os, a + 20 * K, 1, &err), SIM_ECHECK);

	assert_int_equal(simos_munmap(os, a, 64 * K), SIM_OK);   /* with a hole */
	assert_int_equal(simos_mapping_count(os), 0);
	assert_int_equal(simos_rss_bytes(os), 0);
	assert_int_equal(simos_rw_bytes(os), 0);
	assert_int_equal(simos_peak_rss_bytes(os), 64 * K);
	assert_int_equal(simos_munmap(os, a + 1, 4 * K), SIM_EINVAL);
	assert_int_equal(simos_munmap(os, a, 0), SIM_EINVAL);
	assert_int_equal(simos_counts(os)->calls[SIMOS_CALL_munmap], 4);
	assert_int_equal(simos_counts(os)->failed[SIMOS_CALL_munmap], 2);
}

static void test_madvise_release(void **state)
{
	struct simos *os = *state;
	uint64_t a = map(os, 0, 32 * K, RW, 0);
	touch_ok(os, a, 32 * K);
	assert_int_equal(simos_heap_bytes(os), 32 * K);

	assert_int_equal(simos_madvise_dontneed(os, a + 8 * K, 16 * K), SIM_OK);
	assert_int_equal(simos_rss_bytes(os), 16 * K);
	assert_int_equal(simos_released_bytes(os), 16 * K);
	assert_int_equal(simos_heap_bytes(os), 16 * K);
	assert_int_equal(simos_rw_bytes(os), 32 * K);

	touch_ok(os, a + 8 * K + 10, 1);   /* faults one page back in */
	assert_int_equal(simos_rss_bytes(os), 20 * K);
	assert_int_equal(simos_released_bytes(os), 12 * K);
	assert_int_equal(simos_heap_bytes(os), 20 * K);
	assert_int_equal(faults(os), 9);
	assert_int_equal(simos_peak_rss_bytes(os), 32 * K);

	assert_int_equal(simos_madvise_dontneed(os, a - 4 * K, 8 * K), SIM_ENOMEM);
	assert_int_equal(simos_madvise_dontneed(os, a + 1, 4 * K), SIM_EINVAL);
	assert_int_equal(simos_counts(os)->failed[SIMOS_CALL_madvise], 2);
	assert_int_equal(simos_rss_bytes(os), 20 * K);
}

static void test_mprotect_none_drops_rss(void **state)
{
	struct simos *os = *state;
	struct sim_err err;
	uint64_t a = map(os, 0, 32 * K, RW, 0);
	touch_ok(os, a, 32 * K);
	assert_int_equal(simos_mprotect(os, a + 8 * K, 8 * K, NONE), SIM_OK);
	assert_int_equal(simos_rss_bytes(os), 24 * K);
	assert_int_equal(simos_rw_bytes(os), 24 * K);
	assert_int_equal(simos_reserved_bytes(os), 8 * K);
	assert_int_equal(simos_mapping_count(os), 3);
	assert_int_equal(touch_rc(os, a + 8 * K, 1, &err), SIM_ECHECK);

	assert_int_equal(simos_mprotect(os, a + 8 * K, 8 * K, RW), SIM_OK);
	assert_int_equal(simos_mapping_count(os), 1);
	assert_int_equal(simos_rw_bytes(os), 32 * K);
	assert_int_equal(simos_reserved_bytes(os), 0);
	assert_int_equal(simos_rss_bytes(os), 24 * K);   /* RW over RW keeps pages */
	touch_ok(os, a, 32 * K);
	assert_int_equal(faults(os), 8 + 2);

	assert_int_equal(simos_mprotect(os, a + 28 * K, 8 * K, RW), SIM_ENOMEM);
	assert_int_equal(simos_mprotect(os, a, 4 * K, 5), SIM_EINVAL);
	assert_int_equal(simos_counts(os)->failed[SIMOS_CALL_mprotect], 2);
}

/* ---- the program break --------------------------------------------------------- */

static void test_sbrk_grow_shrink(void **state)
{
	struct simos *os = *state;
	struct sim_err err;
	uint64_t base = simos_brk_base(os), old = 0;
	assert_int_equal(simos_sbrk(os, 0, &old), SIM_OK);
	assert_int_equal(old, base);
	assert_int_equal(simos_counts(os)->calls[SIMOS_CALL_brk], 0);

	assert_int_equal(simos_sbrk(os, 64 * K, &old), SIM_OK);
	assert_int_equal(old, base);
	assert_int_equal(simos_brk_current(os), base + 64 * K);
	assert_int_equal(simos_rw_bytes(os), 64 * K);
	assert_int_equal(simos_mapping_count(os), 0);
	touch_ok(os, base, 64 * K);
	assert_int_equal(simos_rss_bytes(os), 64 * K);

	assert_int_equal(simos_sbrk(os, -16 * (int64_t)K, &old), SIM_OK);
	assert_int_equal(old, base + 64 * K);
	assert_int_equal(simos_brk_current(os), base + 48 * K);
	assert_int_equal(simos_rss_bytes(os), 48 * K);
	assert_int_equal(simos_rw_bytes(os), 48 * K);
	assert_int_equal(touch_rc(os, base + 48 * K, 1, &err), SIM_ECHECK);
	assert_int_equal(simos_counts(os)->calls[SIMOS_CALL_brk], 2);
	assert_int_equal(simos_counts(os)->bytes[SIMOS_CALL_brk], 80 * K);
}

static void test_sbrk_release_and_errors(void **state)
{
	struct simos *os = *state;
	uint64_t base = simos_brk_base(os), old = 0;
	assert_int_equal(simos_sbrk(os, 48 * K, &old), SIM_OK);
	touch_ok(os, base, 48 * K);
	assert_int_equal(simos_madvise_dontneed(os, base, 8 * K), SIM_OK);
	assert_int_equal(simos_rss_bytes(os), 40 * K);
	assert_int_equal(simos_released_bytes(os), 8 * K);
	assert_int_equal(simos_sbrk(os, -48 * (int64_t)K, &old), SIM_OK);
	assert_int_equal(simos_rss_bytes(os), 0);
	assert_int_equal(simos_rw_bytes(os), 0);
	assert_int_equal(simos_released_bytes(os), 0);

	assert_int_equal(simos_sbrk(os, -4 * (int64_t)K, &old), SIM_EINVAL);
	assert_int_equal(simos_sbrk(os, 100, &old), SIM_EINVAL);
	assert_int_equal(simos_sbrk(os, 2 * (int64_t)K, &old), SIM_EINVAL);
	assert_int_equal(simos_brk_current(os), base);
	assert_int_equal(simos_counts(os)->calls[SIMOS_CALL_brk], 5);
	assert_int_equal(simos_counts(os)->bytes[SIMOS_CALL_brk],
			 48 * K + 48 * K + 4 * K + 100 + 2 * K);
	assert_int_equal(simos_counts(os)->failed[SIMOS_CALL_brk], 3);
	assert_int_equal(simos_sbrk(os, INT64_MIN, &old), SIM_EINVAL);
}

static void test_sbrk_blocked_by_mapping(void **state)
{
	struct simos *os = *state;
	uint64_t base = simos_brk_base(os), old = 0, a = 0;
	map(os, base + 32 * K, 4 * K, RW, SIMOS_MAP_FIXED);
	assert_int_equal(simos_sbrk(os, 64 * K, &old), SIM_ENOMEM);
	assert_int_equal(simos_brk_current(os), base);
	assert_int_equal(simos_sbrk(os, 32 * K, &old), SIM_OK);
	assert_int_equal(simos_sbrk(os, 4 * K, &old), SIM_ENOMEM);
	assert_int_equal(simos_counts(os)->failed[SIMOS_CALL_brk], 2);
	assert_int_equal(simos_rw_bytes(os), 36 * K);

	/* The break area is not for mmap, munmap or mprotect. */
	assert_int_equal(simos_mmap(os, base, 4 * K, RW, SIMOS_MAP_FIXED, &a),
			 SIM_EINVAL);
	assert_int_equal(map(os, base + 16 * K, 4 * K, RW, 0), B - 4 * K);
	assert_int_equal(simos_munmap(os, base, 4 * K), SIM_EINVAL);
	assert_int_equal(simos_mprotect(os, base, 4 * K, NONE), SIM_EINVAL);
}

static void test_topdown_skips_brk_area(void **state)
{
	(void)state;
	struct simos_config cfg = { .brk_base = 0x100000, .mmap_base = 0x140000,
				    .mmap_min = 0x10000 };
	struct simos *os = make_os(&cfg);
	uint64_t old, a = 0;
	assert_int_equal(simos_sbrk(os, 0x20000, &old), SIM_OK);
	assert_int_equal(map(os, 0, 0x20000, RW, 0), 0x120000);
	assert_int_equal(map(os, 0, 0x10000, RW, 0), 0xF0000);
	assert_int_equal(simos_sbrk(os, 4 * K, &old), SIM_ENOMEM);
	/* Only [0x10000, 0xF0000) is left: 0xE0000 bytes. */
	assert_int_equal(simos_mmap(os, 0, 0x100000, RW, 0, &a), SIM_ENOMEM);
	assert_int_equal(map(os, 0, 0xE0000, RW, 0), 0x10000);
	simos_destroy(os);
}

/* ---- mremap ---------------------------------------------------------------------- */

static void test_mremap_in_place(void **state)
{
	struct simos *os = *state;
	uint64_t a = map(os, 0x10000000, 16 * K, RW, 0), n = 0;
	touch_ok(os, a, 16 * K);
	assert_int_equal(simos_mremap(os, a, 16 * K, 32 * K, 0, &n), SIM_OK);
	assert_int_equal(n, a);
	assert_int_equal(simos_rss_bytes(os), 16 * K);
	assert_int_equal(simos_rw_bytes(os), 32 * K);
	assert_int_equal(simos_mapping_count(os), 1);
	touch_ok(os, a + 16 * K, 16 * K);
	assert_int_equal(simos_rss_bytes(os), 32 * K);

	assert_int_equal(simos_mremap(os, a, 32 * K, 8 * K, 0, &n), SIM_OK);
	assert_int_equal(n, a);
	assert_int_equal(simos_rss_bytes(os), 8 * K);
	assert_int_equal(simos_rw_bytes(os), 8 * K);
	assert_int_equal(simos_mremap(os, a, 8 * K, 8 * K, 0, &n), SIM_OK);
	assert_int_equal(simos_rw_bytes(os), 8 * K);
	assert_int_equal(simos_counts(os)->calls[SIMOS_CALL_mremap], 3);
	assert_int_equal(simos_counts(os)->bytes[SIMOS_CALL_mremap], 48 * K);
}

static void test_mremap_move(void **state)
{
	struct simos *os = *state;
	uint64_t x = map(os, 0, 16 * K, RW, 0), y = map(os, 0, 8 * K, RW, 0), n = 0;
	assert_int_equal(x, B - 16 * K);
	assert_int_equal(y, B - 24 * K);
	touch_ok(os, y, 8 * K);
	assert_int_equal(simos_madvise_dontneed(os, y + 4 * K, 4 * K), SIM_OK);

	/* x follows y, so growing y needs a move. */
	assert_int_equal(simos_mremap(os, y, 8 * K, 16 * K, 0, &n), SIM_ENOMEM);
	assert_int_equal(simos_mremap(os, y, 8 * K, 16 * K, 1, &n), SIM_OK);
	assert_int_equal(n, B - 40 * K);
	assert_int_equal(simos_rss_bytes(os), 4 * K);
	assert_int_equal(simos_released_bytes(os), 4 * K);
	assert_int_equal(simos_rw_bytes(os), 32 * K);
	assert_int_equal(simos_mapping_count(os), 2);
	assert_false(simos_is_rw(os, y, 4 * K));
	touch_ok(os, n, 1);              /* moved resident: no fault */
	assert_int_equal(faults(os), 2);
	touch_ok(os, n + 4 * K, 1);      /* moved released: faults */
	assert_int_equal(faults(os), 3);
	assert_int_equal(simos_released_bytes(os), 0);

	uint64_t z = map(os, 0, 4 * K, NONE, 0);
	assert_int_equal(simos_mremap(os, z, 4 * K, 8 * K, 1, &n), SIM_EINVAL);
	assert_int_equal(simos_mremap(os, 0x5000000, 4 * K, 8 * K, 1, &n), SIM_EINVAL);
	assert_int_equal(simos_counts(os)->failed[SIMOS_CALL_mremap], 3);
}

/* A move across a region boundary and at a different offset in the bitmap
 * words keeps exactly the resident pages resident. */
static void test_mremap_move_pattern(void **state)
{
	struct simos *os = *state;
	uint64_t a = map(os, 0x40000000 - 12 * K, 512 * K, RW, 0), n = 0;
	map(os, a + 512 * K, 4 * K, NONE, 0);   /* blocks growth in place */
	for (uint64_t i = 0; i < 128; i += 3)
		touch_ok(os, a + i * 4 * K, 1);
	assert_int_equal(simos_rss_bytes(os), 43 * 4 * K);
	assert_int_equal(simos_mremap(os, a, 512 * K, M, 1, &n), SIM_OK);
	assert_int_equal(n, B - M);
	assert_int_equal(simos_rss_bytes(os), 43 * 4 * K);
	for (uint64_t i = 0; i < 128; i++) {
		uint64_t before = faults(os);
		touch_ok(os, n + i * 4 * K, 1);
		assert_int_equal(faults(os) - before, i % 3 ? 1 : 0);
	}
	assert_int_equal(simos_rss_bytes(os), 512 * K);
}

/* ---- touch, limits and the fault plan ------------------------------------------- */

static void test_memory_max_oom(void **state)
{
	(void)state;
	struct simos_config cfg;
	struct sim_err err;
	simos_config_default(&cfg);
	cfg.memory_max = 16 * K;
	struct simos *os = make_os(&cfg);
	uint64_t a = map(os, 0, 64 * K, RW, 0);
	touch_ok(os, a, 16 * K);
	assert_false(simos_oom_killed(os));
	assert_int_equal(touch_rc(os, a + 16 * K, 1, &err), SIM_EOOM);
	assert_true(simos_oom_killed(os));
	assert_int_equal(simos_rss_bytes(os), 20 * K);   /* marked anyway */
	assert_non_null(strstr(err.msg, "memory.max"));
	simos_destroy(os);
}

static void test_touch_unmapped(void **state)
{
	struct simos *os = *state;
	struct sim_err err;
	assert_int_equal(touch_rc(os, 0x1234, 8, &err), SIM_ECHECK);
	assert_non_null(strstr(err.msg, "0x1234"));
	uint64_t a = map(os, 0, 4 * K, RW, 0);
	/* The second page is unmapped: nothing at all is marked. */
	assert_int_equal(touch_rc(os, a + 100, 8 * K, &err), SIM_ECHECK);
	assert_non_null(strstr(err.msg, "0x7ffff7fc0000"));
	assert_int_equal(simos_rss_bytes(os), 0);
	assert_int_equal(faults(os), 0);
	assert_int_equal(touch_rc(os, a, 0, &err), SIM_OK);
	assert_int_equal(simos_rss_bytes(os), 0);
}

static void test_fault_plan_calls(void **state)
{
	(void)state;
	struct simos_config cfg;
	uint64_t a = 0, old, n;
	simos_config_default(&cfg);
	cfg.faults.fail_nth_mmap = 2;
	cfg.faults.fail_every_brk = 2;
	cfg.faults.fail_nth_madvise = 1;
	cfg.faults.fail_nth_mremap = 1;
	struct simos *os = make_os(&cfg);
	map(os, 0, 4 * K, RW, 0);
	assert_int_equal(simos_mmap(os, 0, 4 * K, RW, 0, &a), SIM_ENOMEM);
	assert_int_equal(map(os, 0, 4 * K, RW, 0), B - 8 * K);
	assert_int_equal(simos_counts(os)->calls[SIMOS_CALL_mmap], 3);
	assert_int_equal(simos_counts(os)->failed[SIMOS_CALL_mmap], 1);

	assert_int_equal(simos_sbrk(os, 4 * K, &old), SIM_OK);
	assert_int_equal(simos_sbrk(os, 4 * K, &old), SIM_ENOMEM);
	assert_int_equal(simos_sbrk(os, 4 * K, &old), SIM_OK);
	assert_int_equal(simos_sbrk(os, -4 * (int64_t)K, &old), SIM_ENOMEM);
	assert_int_equal(simos_brk_current(os), simos_brk_base(os) + 8 * K);

	assert_int_equal(simos_madvise_dontneed(os, B - 8 * K, 8 * K), SIM_ENOMEM);
	assert_int_equal(simos_madvise_dontneed(os, B - 8 * K, 8 * K), SIM_OK);
	assert_int_equal(simos_mremap(os, B - 8 * K, 8 * K, 4 * K, 0, &n), SIM_ENOMEM);
	assert_int_equal(simos_mremap(os, B - 8 * K, 8 * K, 4 * K, 0, &n), SIM_OK);
	simos_destroy(os);
}

static void test_fault_plan_max_mapped(void **state)
{
	(void)state;
	struct simos_config cfg;
	uint64_t a, b, old, n;
	simos_config_default(&cfg);
	cfg.faults.max_mapped_bytes = 64 * K;
	struct simos *os = make_os(&cfg);
	a = map(os, 0, 48 * K, RW, 0);
	assert_int_equal(simos_mmap(os, 0, 32 * K, RW, 0, &b), SIM_ENOMEM);
	b = map(os, 0, 16 * K, NONE, 0);   /* reservations count too */
	assert_int_equal(simos_sbrk(os, 4 * K, &old), SIM_ENOMEM);
	assert_int_equal(simos_munmap(os, b, 16 * K), SIM_OK);
	assert_int_equal(simos_sbrk(os, 4 * K, &old), SIM_OK);
	assert_int_equal(simos_mremap(os, a, 48 * K, 64 * K, 1, &n), SIM_ENOMEM);
	/* Replacing mapped bytes in place does not add to the total. */
	map(os, a, 16 * K, NONE, SIMOS_MAP_FIXED);
	assert_int_equal(simos_rw_bytes(os), 36 * K);
	assert_int_equal(simos_reserved_bytes(os), 16 * K);
	simos_destroy(os);
}

static void test_multi_gib_mapping_is_cheap(void **state)
{
	struct simos *os = *state;
	uint64_t a = map(os, 0, 8 * G, RW, 0);
	assert_int_equal(a, B - 8 * G);
	assert_int_equal(simos_rw_bytes(os), 8 * G);
	touch_ok(os, a + G, G);   /* crosses a 1 GiB region boundary */
	assert_int_equal(simos_rss_bytes(os), G);
	assert_int_equal(faults(os), 262144);
	assert_int_equal(simos_cost_ns(os), 1000 + 262144 * UINT64_C(250));
	assert_int_equal(simos_madvise_dontneed(os, a, 8 * G), SIM_OK);
	assert_int_equal(simos_rss_bytes(os), 0);
	assert_int_equal(simos_released_bytes(os), 8 * G);
	assert_int_equal(simos_heap_bytes(os), 0);
	touch_ok(os, a + 3 * G, 4096);
	assert_int_equal(simos_released_bytes(os), 8 * G - 4 * K);
	assert_int_equal(simos_peak_rss_bytes(os), G);
	assert_int_equal(simos_munmap(os, a, 8 * G), SIM_OK);
	assert_int_equal(simos_rw_bytes(os), 0);
	assert_int_equal(simos_released_bytes(os), 0);
	assert_int_equal(simos_rss_bytes(os), 0);
}

static void test_counts_and_cost(void **state)
{
	struct simos *os = *state;
	uint64_t old;
	uint64_t a = map(os, 0, 8 * K, RW, 0);
	touch_ok(os, a, 8 * K);
	assert_int_equal(simos_madvise_dontneed(os, a, 4 * K), SIM_OK);
	assert_int_equal(simos_mprotect(os, a, 4 * K, 9), SIM_EINVAL);
	assert_int_equal(simos_munmap(os, a, 8 * K), SIM_OK);
	assert_int_equal(simos_sbrk(os, 0, &old), SIM_OK);   /* not a call */
	const struct simos_counts *c = simos_counts(os);
	assert_int_equal(c->calls[SIMOS_CALL_mmap], 1);
	assert_int_equal(c->calls[SIMOS_CALL_munmap], 1);
	assert_int_equal(c->calls[SIMOS_CALL_mprotect], 1);
	assert_int_equal(c->calls[SIMOS_CALL_madvise], 1);
	assert_int_equal(c->calls[SIMOS_CALL_brk], 0);
	assert_int_equal(c->calls[SIMOS_CALL_mremap], 0);
	assert_int_equal(c->bytes[SIMOS_CALL_mmap], 8 * K);
	assert_int_equal(c->bytes[SIMOS_CALL_madvise], 4 * K);
	assert_int_equal(c->bytes[SIMOS_CALL_mprotect], 4 * K);
	assert_int_equal(c->failed[SIMOS_CALL_mprotect], 1);
	assert_int_equal(c->failed[SIMOS_CALL_mmap], 0);
	assert_int_equal(c->page_faults, 2);
	assert_int_equal(simos_cost_ns(os), 4 * 1000 + 2 * 250);
	assert_string_equal(simos_call_name(SIMOS_CALL_mmap), "mmap");
	assert_string_equal(simos_call_name(SIMOS_CALL_mremap), "mremap");
	assert_string_equal(simos_call_name(SIMOS_NCALLS), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_default),
		cmocka_unit_test(test_create_rejects_bad_layout),
#define T(f) cmocka_unit_test_setup_teardown(f, setup_default, teardown_os)
		T(test_mmap_topdown_and_hint),
		T(test_hint_across_mmap_base),
		T(test_mmap_invalid),
		T(test_fixed_over_reservation),
		T(test_munmap_middle_splits),
		T(test_madvise_release),
		T(test_mprotect_none_drops_rss),
		T(test_sbrk_grow_shrink),
		T(test_sbrk_release_and_errors),
		T(test_sbrk_blocked_by_mapping),
		cmocka_unit_test(test_topdown_skips_brk_area),
		T(test_mremap_in_place),
		T(test_mremap_move),
		T(test_mremap_move_pattern),
		cmocka_unit_test(test_memory_max_oom),
		T(test_touch_unmapped),
		cmocka_unit_test(test_fault_plan_calls),
		cmocka_unit_test(test_fault_plan_max_mapped),
		T(test_multi_gib_mapping_is_cheap),
		T(test_counts_and_cost),
#undef T
	};
	return cmocka_run_group_tests_name("simos", tests, NULL, NULL);
}
