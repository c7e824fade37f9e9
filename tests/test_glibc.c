/*
 * test_glibc.c - the glibc model (strategies/glibc) against the real glibc.
 *
 * Unit tests: request rounding and the bin indices (glibc-malloc.md 2.2,
 * 4); then small hand-written traces replayed through the strategy, whose
 * expected numbers (mallinfo2 fields after chosen events, and each block's
 * offset from the initial break) were taken from the real glibc 2.36 with
 * build/replay --every 1 and --addrs: the unsorted list's oldest-first
 * order, the last_remainder rule, consolidation on a large request, systrim
 * after frees, the dynamic mmap threshold, malloc_trim(0) (the strategy's
 * release_os; those numbers came from a C program calling it, as traces
 * have no trim event), and for threads the arena limit and a thread heap
 * that grows and is trimmed.  The thread traces start
 * with the replayer's own allocations (one 272-byte DTV calloc per worker
 * thread it creates, see scripts/validate-glibc), so that both sides begin
 * from the same heap.
 *
 * Exactness on whole programs: scripts/validate-glibc compares model and
 * real glibc at every 1000th event of every trace in tests/data (the
 * single-threaded ones must match in arena, uordblks, fordblks, hblkhd and
 * brk growth at every checkpoint), then on a trace of over a million
 * events recorded at test time: python3 run under the tracer
 * (build/libastrace.so through `allocsim trace record`).
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
#include "strategy.h"
#include "../strategies/glibc/gl_sizes.h"

extern const struct strategy_ops strategy_glibc;

/* ---- pure size arithmetic ----------------------------------------------- */

static void test_request_rounding(void **state)
{
	(void)state;
	static const uint64_t req[][2] = {
		{0, 32}, {1, 32}, {24, 32}, {25, 48}, {40, 48}, {41, 64},
		{56, 64}, {57, 80}, {120, 128}, {121, 144}, {1032, 1040},
		{1033, 1056}, {131048, 131056}, {131049, 131072},
	};
	for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
		assert_int_equal(gl_request2size(req[i][0]), req[i][1]);
	assert_int_equal(gl_checked_request2size(GL_PTRDIFF_MAX + 1), 0);
	/* mmapped chunks: nb + 8 rounded up to a page */
	assert_int_equal(gl_mmap_size(gl_request2size(1 << 20)), 1052672);
	assert_int_equal(gl_mmap_size(gl_request2size(131049)), 135168);
}

static void test_bin_index(void **state)
{
	(void)state;
	/* tcache: 32 -> 0 ... 1040 -> 63, the first size beyond is bin 64 */
	assert_int_equal(gl_tidx(32), 0);
	assert_int_equal(gl_tidx(48), 1);
	assert_int_equal(gl_tidx(1040), 63);
	assert_int_equal(gl_tidx(1056), 64);
	assert_int_equal(gl_tidx(gl_request2size(GL_MAX_TCACHE_SZ)), 63);
	/* fastbins and their limit (set_max_fast) */
	assert_int_equal(gl_fastbin_index(32), 0);
	assert_int_equal(gl_fastbin_index(128), 6);
	assert_int_equal(gl_max_fast(128), 128);
	assert_int_equal(gl_max_fast(0), 16);
	assert_int_equal(gl_max_fast(160), 160);
	/* small bins: one size each, 32..1008 */
	assert_int_equal(gl_bin_index(32), 2);
	assert_int_equal(gl_bin_index(1008), 63);
	/* large bins: the ranges of glibc-malloc.md 4.5 at both ends */
	static const uint64_t lb[][2] = {
		{1024, 64}, {1072, 64}, {1088, 65}, {3072, 96}, {3120, 96},
		{3136, 97}, {3568, 97}, {3584, 98}, {4080, 98}, {4096, 99},
		{4592, 99}, {10240, 111}, {10736, 111}, {10752, 112},
		{12272, 112}, {12288, 113}, {16368, 113}, {36864, 119},
		{40944, 119}, {40960, 120}, {65520, 120}, {65536, 121},
		{98288, 121}, {98304, 122}, {131056, 122}, {131072, 123},
		{163824, 123}, {163840, 124}, {262128, 124}, {262144, 125},
		{524272, 125}, {524288, 126}, {UINT64_C(1) << 40, 126},
	};
	for (size_t i = 0; i < sizeof lb / sizeof lb[0]; i++) {
		if (gl_bin_index(lb[i][0]) != lb[i][1])
			fail_msg("chunk size %llu: bin %u, expected %llu",
				 (unsigned long long)lb[i][0], gl_bin_index(lb[i][0]),
				 (unsigned long long)lb[i][1]);
	}
}

/* ---- a strategy instance fed a small text trace ----------------------------- */

#define MAXOBJ 1024
#define MAXEV  1024

struct fx {
	struct simos *os;
	struct strat s;
	struct strategy_env env;
	size_t live;
	uint64_t now;
	union param_value params[32];
	uint64_t addr[MAXOBJ], usable[MAXOBJ];
	int64_t off[MAXEV];        /* per event: block offset, -1 mmapped,
	                              -2 no block */
	uint64_t *rows;            /* per event: every counter */
	size_t nev, nctr;
	struct sim_err err;
};

static void fx_open(struct fx *f, const char *const *kv)
{
	struct simos_config cfg;
	simos_config_default(&cfg);
	memset(f, 0, sizeof *f);
	assert_sim_ok(simos_create(&cfg, &f->os, &f->err), &f->err);
	f->env = (struct strategy_env){f->os, harness_halloc, &f->live, &f->now};
	const struct strategy_ops *ops = &strategy_glibc;
	assert_sim_ok(strat_params_default(ops, f->params, &f->err), &f->err);
	for (; kv && kv[0]; kv += 2)
		assert_sim_ok(strat_param_set(ops, f->params, kv[0], kv[1], &f->err),
			      &f->err);
	assert_sim_ok(strat_open(&f->s, ops, &f->env, f->params, &f->err),
		      &f->err);
	f->nctr = f->s.ncounters;
	f->rows = test_calloc(MAXEV * f->nctr, sizeof *f->rows);
}

static void fx_close(struct fx *f)
{
	assert_sim_ok(strat_check(&f->s, &f->err), &f->err);
	strat_close(&f->s);
	simos_destroy(f->os);
	test_free(f->rows);
	assert_int_equal(f->live, 0);    /* no host memory left behind */
}

static int64_t offset_of(struct fx *f, uint64_t a)
{
	uint64_t base = simos_brk_base(f->os);
	return a >= base && a < simos_brk_current(f->os) ? (int64_t)(a - base)
							    : -1;
}

/* One event in the text format; the block's offset goes to off[]. */
static void fx_event(struct fx *f, const char *line)
{
	char k;
	unsigned long long tid, a, b, c = 0;
	int n = sscanf(line, "%c %llu %llu %llu %llu", &k, &tid, &a, &b, &c);
	assert_true(n >= 3 && a < MAXOBJ && f->nev < MAXEV);
	uint64_t id = 0, addr = 0, u = 0;
	switch (k) {
	case 'a':
	case 'c':
		addr = strat_alloc(&f->s, (uint32_t)tid, b, 0,
				   k == 'c' ? STRAT_ZERO : 0, &u);
		id = a;
		break;
	case 'm':
		addr = strat_alloc(&f->s, (uint32_t)tid, c, b, STRAT_ALIGNED, &u);
		id = a;
		break;
	case 'r':
		assert_true(b < MAXOBJ);
		addr = a ? strat_realloc(&f->s, (uint32_t)tid, f->addr[a],
					 f->usable[a], c, &u)
			 : strat_alloc(&f->s, (uint32_t)tid, c, 0, 0, &u);
		id = b;
		break;
	case 'f':
		strat_free(&f->s, (uint32_t)tid, f->addr[a], f->usable[a]);
		f->addr[a] = 0;
		break;
	default:
		fail_msg("bad event line '%s'", line);
	}
	if (id) {
		assert_true(addr != 0);
		f->addr[id] = addr;
		f->usable[id] = u;
	}
	f->off[f->nev] = id ? offset_of(f, addr) : -2;
	strat_counters(&f->s, &f->rows[f->nev * f->nctr]);
	f->nev++;
}

/* Events separated by newlines or ';'. */
static void fx_run(struct fx *f, const char *text)
{
	char line[128];
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, ";\n");
		if (n && n < sizeof line) {
			memcpy(line, p, n);
			line[n] = '\0';
			fx_event(f, line);
		}
		p += n + (p[n] != '\0');
	}
}

/* The model frees everything it still holds, so fx_close sees no leak. */
static void fx_free_all(struct fx *f)
{
	for (uint64_t i = 1; i < MAXOBJ; i++)
		if (f->addr[i])
			strat_free(&f->s, 0, f->addr[i], f->usable[i]);
}

static uint64_t ctr(struct fx *f, size_t ev, const char *name)
{
	for (size_t i = 0; i < f->nctr; i++)
		if (strcmp(strategy_glibc.counter_names[i], name) == 0)
			return f->rows[ev * f->nctr + i];
	fail_msg("no counter %s", name);
	return 0;
}

/* Expected mallinfo2 numbers after one event, from the real glibc. */
struct mi {
	size_t ev;
	uint64_t arena, ordblks, smblks, hblks, hblkhd, fsmblks, uordblks,
		 fordblks, keepcost, brk;
};

static void expect(struct fx *f, const struct mi *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t e = m[i].ev;
		const char *names[] = {"arena", "ordblks", "smblks", "hblks",
				       "hblkhd", "fsmblks", "uordblks",
				       "fordblks", "keepcost", "brk_growth"};
		uint64_t want[] = {m[i].arena, m[i].ordblks, m[i].smblks,
				   m[i].hblks, m[i].hblkhd, m[i].fsmblks,
				   m[i].uordblks, m[i].fordblks, m[i].keepcost,
				   m[i].brk};
		for (int k = 0; k < 10; k++)
			if (ctr(f, e, names[k]) != want[k])
				fail_msg("after event %zu: %s is %llu, real glibc %llu",
					 e, names[k],
					 (unsigned long long)ctr(f, e, names[k]),
					 (unsigned long long)want[k]);
	}
}

/* Expected block offsets: pairs (event, offset; -1 = mmapped). */
static void expect_offsets(struct fx *f, const int64_t *eo, size_t n)
{
	for (size_t i = 0; i < n; i += 2)
		if (f->off[eo[i]] != eo[i + 1])
			fail_msg("event %lld: block at offset %lld, real glibc %lld",
				 (long long)eo[i], (long long)f->off[eo[i]],
				 (long long)eo[i + 1]);
}

/* ---- hand-written traces ---------------------------------------------------- */

/* One malloc per size: the chunk sizes show in uordblks (the tcache's
 * 656-byte chunk comes first); 131049 bytes is mmapped. */
static void test_rounding_trace(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, NULL);
	fx_run(&f, "a 0 1 0;a 0 2 1;a 0 3 24;a 0 4 25;a 0 5 40;a 0 6 41;"
		   "a 0 7 56;a 0 8 57;a 0 9 1032;a 0 10 1033;a 0 11 131048;"
		   "a 0 12 131049");
	static const uint64_t uord[] = {688, 720, 752, 800, 848, 912, 976, 1056,
					2096, 3152, 134208, 134208};
	for (size_t i = 0; i < 12; i++)
		assert_int_equal(ctr(&f, i, "uordblks"), uord[i]);
	static const struct mi m[] = {
		{10, 135168, 1, 0, 0, 0, 0, 134208, 960, 960, 135168},
		{11, 135168, 1, 0, 1, 135168, 0, 134208, 960, 960, 135168},
	};
	expect(&f, m, 2);
	static const int64_t eo[] = {0, 672, 1, 704, 2, 736, 3, 768, 4, 816,
				     5, 864, 6, 928, 7, 992, 8, 1072, 9, 2112,
				     10, 3168, 11, -1};
	expect_offsets(&f, eo, sizeof eo / sizeof eo[0]);
	assert_int_equal(f.usable[1], 24);      /* chunk - 8 */
	assert_int_equal(f.usable[12], 135168 - 16);
	fx_free_all(&f);
	fx_close(&f);
}

/* A, B, C of 200 bytes with guards; seven more fill the tcache's 208-byte
 * bin; A then C are freed to the unsorted list.  calloc skips the tcache:
 * the first takes A, the oldest (the tail), the second C. */
static void test_unsorted_order(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, NULL);
	fx_run(&f, "a 0 1 200;a 0 2 16;a 0 3 200;a 0 4 16;a 0 5 200;a 0 6 16;"
		   "a 0 7 200;a 0 8 200;a 0 9 200;a 0 10 200;a 0 11 200;"
		   "a 0 12 200;a 0 13 200;"
		   "f 0 7;f 0 8;f 0 9;f 0 10;f 0 11;f 0 12;f 0 13;"
		   "f 0 1;f 0 5;c 0 14 200;c 0 15 200");
	static const struct mi m[] = {
		{20, 135168, 2, 0, 0, 0, 0, 2624, 132544, 132336, 135168},
		{21, 135168, 3, 0, 0, 0, 0, 2416, 132752, 132336, 135168},
		{22, 135168, 2, 0, 0, 0, 0, 2624, 132544, 132336, 135168},
		{23, 135168, 1, 0, 0, 0, 0, 2832, 132336, 132336, 135168},
	};
	expect(&f, m, 4);
	static const int64_t eo[] = {0, 672, 4, 1152, 22, 672, 23, 1152};
	expect_offsets(&f, eo, sizeof eo / sizeof eo[0]);
	fx_free_all(&f);
	fx_close(&f);
}

/* A freed 3008-byte chunk is sorted into its large bin, split for the
 * first calloc(100); the remainder becomes last_remainder, and the next
 * small requests are cut from it in a row. */
static void test_last_remainder(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, NULL);
	fx_run(&f, "a 0 1 3000;a 0 2 16;f 0 1;c 0 3 100;c 0 4 100;c 0 5 100");
	static const struct mi m[] = {
		{2, 135168, 2, 0, 0, 0, 0, 688, 134480, 131472, 135168},
		{3, 135168, 2, 0, 0, 0, 0, 800, 134368, 131472, 135168},
		{5, 135168, 2, 0, 0, 0, 0, 1024, 134144, 131472, 135168},
	};
	expect(&f, m, 3);
	static const int64_t eo[] = {0, 672, 1, 3680, 3, 672, 4, 784, 5, 896};
	expect_offsets(&f, eo, sizeof eo / sizeof eo[0]);
	fx_free_all(&f);
	fx_close(&f);
}

/* 20 x malloc(40) and a guard; freeing the 20 puts 7 in the tcache and
 * 13 in a fastbin (smblks); malloc(2000) is a large request, so
 * malloc_consolidate merges the 13 before the unsorted pass. */
static void test_consolidation(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, NULL);
	char buf[1024];
	size_t n = 0;
	for (int i = 1; i <= 21; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "a 0 %d 40;", i);
	for (int i = 1; i <= 20; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "f 0 %d;", i);
	snprintf(buf + n, sizeof buf - n, "a 0 22 2000");
	fx_run(&f, buf);
	static const struct mi m[] = {
		{27, 135168, 1, 0, 0, 0, 0, 1664, 133504, 133504, 135168},
		{40, 135168, 1, 13, 0, 0, 624, 1040, 134128, 133504, 135168},
		{41, 135168, 2, 0, 0, 0, 0, 3056, 132112, 131488, 135168},
	};
	expect(&f, m, 3);
	assert_int_equal(ctr(&f, 41, "consolidations"), 1);
	static const int64_t eo[] = {0, 672, 20, 1632, 41, 1680};
	expect_offsets(&f, eo, sizeof eo / sizeof eo[0]);
	fx_free_all(&f);
	fx_close(&f);
}

/* 100 x malloc(10000) grows the heap by 139264 at a time (top_pad); freeing
 * all of them in order merges everything into the top, and the free that
 * merges into the top trims it back to 128 KiB + a remainder. */
static void test_trim(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, NULL);
	char buf[2048];
	size_t n = 0;
	for (int i = 1; i <= 100; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "a 0 %d 10000;", i);
	for (int i = 1; i <= 100; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "f 0 %d;", i);
	fx_run(&f, buf);
	static const struct mi m[] = {
		{12, 135168, 1, 0, 0, 0, 0, 130864, 4304, 4304, 135168},
		{13, 274432, 1, 0, 0, 0, 0, 140880, 133552, 133552, 274432},
		{99, 1114112, 1, 0, 0, 0, 0, 1002256, 111856, 111856, 1114112},
		{100, 1114112, 2, 0, 0, 0, 0, 992240, 121872, 111856, 1114112},
		{198, 1114112, 2, 0, 0, 0, 0, 10672, 1103440, 111856, 1114112},
		{199, 135168, 1, 0, 0, 0, 0, 656, 134512, 134512, 135168},
	};
	expect(&f, m, 6);
	assert_int_equal(ctr(&f, 199, "trims"), 1);
	fx_close(&f);
}

/* Freeing a mmapped 1 MiB chunk raises the mmap threshold to its size and
 * the trim threshold to twice that, so 200 KiB then comes from brk; a
 * chunk of exactly 32 MiB leaves the thresholds alone. */
static void test_threshold(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, NULL);
	fx_run(&f, "a 0 1 1048576;f 0 1;a 0 2 204800;f 0 2;a 0 3 33554408;"
		   "f 0 3;a 0 4 200000");
	static const struct mi m[] = {
		{0, 135168, 1, 0, 1, 1052672, 0, 656, 134512, 134512, 135168},
		{1, 135168, 1, 0, 0, 0, 0, 656, 134512, 134512, 135168},
		{2, 339968, 1, 0, 0, 0, 0, 205472, 134496, 134496, 339968},
		{3, 339968, 1, 0, 0, 0, 0, 656, 339312, 339312, 339968},
		{4, 339968, 1, 0, 1, 33554432, 0, 656, 339312, 339312, 339968},
		{6, 339968, 1, 0, 0, 0, 0, 200672, 139296, 139296, 339968},
	};
	expect(&f, m, 6);
	assert_int_equal(ctr(&f, 0, "mmap_threshold"), 131072);
	assert_int_equal(ctr(&f, 1, "mmap_threshold"), 1052672);
	assert_int_equal(ctr(&f, 1, "trim_threshold"), 2105344);
	assert_int_equal(ctr(&f, 5, "mmap_threshold"), 1052672);
	static const int64_t eo[] = {0, -1, 2, 672, 4, -1, 6, 672};
	expect_offsets(&f, eo, sizeof eo / sizeof eo[0]);
	fx_free_all(&f);
	fx_close(&f);
}

/* Setting a threshold freezes both (no dynamic adjustment). */
static void test_threshold_frozen(void **state)
{
	(void)state;
	static const char *const kv[] = {"mmap_threshold", "131072", NULL};
	struct fx f;
	fx_open(&f, kv);
	fx_run(&f, "a 0 1 1048576;f 0 1;a 0 2 204800");
	assert_int_equal(ctr(&f, 1, "mmap_threshold"), 131072);
	assert_int_equal(ctr(&f, 2, "hblks"), 1);
	fx_free_all(&f);
	fx_close(&f);
}

/* malloc_trim(0), the strategy's release_os, as a row of its own. */
static void fx_trim(struct fx *f)
{
	assert_true(f->nev < MAXEV);
	strat_release_os(&f->s);
	f->off[f->nev] = -2;
	strat_counters(&f->s, &f->rows[f->nev * f->nctr]);
	f->nev++;
}

/* malloc_trim(0) (release_os): consolidation, then the top trimmed to a
 * page; a large free chunk in the middle of the heap is only madvised.
 * Numbers from the real glibc (a C program calling malloc_trim(0), since
 * traces have no trim event). */
static void test_malloc_trim(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, NULL);
	char buf[1024];
	size_t n = 0;
	for (int i = 1; i <= 20; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "a 0 %d 40;", i);
	n += (size_t)snprintf(buf + n, sizeof buf - n, "a 0 21 70000;a 0 22 40;");
	for (int i = 1; i <= 20; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "f 0 %d;", i);
	snprintf(buf + n, sizeof buf - n, "f 0 21");
	fx_run(&f, buf);                              /* events 0..42 */
	fx_trim(&f);                                  /* 43 */
	fx_run(&f, "a 0 23 100000;a 0 24 40;a 0 25 40;f 0 23");   /* 44..47 */
	fx_trim(&f);                                  /* 48 */
	static const struct mi m[] = {
		{41, 135168, 1, 13, 0, 0, 624, 71056, 64112, 63488, 135168},
		{42, 135168, 2, 0, 0, 0, 0, 1040, 134128, 63488, 135168},
		{43, 73728, 2, 0, 0, 0, 0, 1040, 72688, 2048, 73728},
		{47, 204800, 2, 0, 0, 0, 0, 1040, 203760, 133120, 204800},
		{48, 73728, 2, 0, 0, 0, 0, 1040, 72688, 2048, 73728},
	};
	expect(&f, m, 5);
	/* the free chunk left in the middle gave its inner pages back */
	assert_true(simos_released_bytes(f.os) > 0);
	fx_free_all(&f);
	fx_close(&f);
}

/* The replayer's own heap before a threaded trace: one DTV per worker. */
static size_t dtv_prologue(char *buf, size_t n, int workers)
{
	size_t k = 0;
	for (int i = 1; i <= workers; i++)
		k += (size_t)snprintf(buf + k, n - k, "c 0 %d 272;", i);
	return k;
}

/* 20 threads each malloc(100): 16 arenas on 2 cores (8 x cores), each a
 * 135168-byte heap; the 17th thread on reuses arenas round robin. */
static void test_arena_limit(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, NULL);
	char buf[2048];
	size_t n = dtv_prologue(buf, sizeof buf, 19);
	for (int t = 0; t < 20; t++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "a %d %d 100;", t,
				      20 + t);
	fx_run(&f, buf);
	static const struct mi m[] = {
		{19 + 18, 2162688, 16, 0, 0, 0, 0, 53904, 2108784, 128160, 135168},
		{19 + 19, 2162688, 16, 0, 0, 0, 0, 54672, 2108016, 128160, 135168},
	};
	expect(&f, m, 2);
	assert_int_equal(ctr(&f, 38, "narenas"), 16);
	fx_free_all(&f);
	fx_close(&f);

	static const char *const kv[] = {"arena_max", "4", NULL};
	fx_open(&f, kv);
	fx_run(&f, buf);
	assert_int_equal(ctr(&f, 38, "narenas"), 4);
	fx_free_all(&f);
	fx_close(&f);
}

/* A thread's heap grows page by page (no top_pad) to 2007040 bytes for
 * 200 x 10000, and is trimmed back to 135168 when they are freed. */
static void test_thread_heap(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, NULL);
	char buf[8192];
	size_t n = dtv_prologue(buf, sizeof buf, 1);
	n += (size_t)snprintf(buf + n, sizeof buf - n, "a 0 2 100;a 1 3 100;");
	for (int i = 0; i < 200; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "a 1 %d 10000;",
				      4 + i);
	for (int i = 0; i < 200; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "f 1 %d;", 4 + i);
	snprintf(buf + n, sizeof buf - n, "f 0 3");
	fx_run(&f, buf);
	static const struct mi m[] = {
		{1 + 1, 270336, 2, 0, 0, 0, 0, 4080, 266256, 134112, 135168},
		{1 + 201, 2142208, 2, 0, 0, 0, 0, 2007280, 134928, 134112, 135168},
		{1 + 401, 270336, 2, 0, 0, 0, 0, 4080, 266256, 134112, 135168},
		{1 + 402, 270336, 2, 0, 0, 0, 0, 4080, 266256, 134112, 135168},
	};
	expect(&f, m, 4);
	assert_true(ctr(&f, 402, "locks_arena1") > 0);
	fx_free_all(&f);
	fx_close(&f);
}

/* A chunk in use costs the model no host memory (gl_store.h): 40000 live
 * blocks in two arenas add less than a byte each to what 2000 needed;
 * the check passes with them live; thread 0 frees thread 1's blocks into
 * thread 1's arena, found from the address as glibc finds it (the final
 * check fails on a chunk of one arena's heap kept by another). */
#define LIVE_N 40000

static void test_live_chunks_unrecorded(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, NULL);
	uint64_t *addr = test_calloc(2 * LIVE_N, sizeof *addr);
	uint64_t *usable = addr + LIVE_N;
	size_t warm = 0;
	for (uint32_t i = 0; i < LIVE_N; i++) {
		if (i == 2000)
			warm = f.live;
		addr[i] = strat_alloc(&f.s, i & 1, 24 + (i * 37) % 1000, 0, 0,
				      &usable[i]);
		assert_true(addr[i] != 0);
	}
	assert_true(f.live - warm < LIVE_N - 2000);
	assert_sim_ok(strat_check(&f.s, &f.err), &f.err);
	for (uint32_t i = 0; i < LIVE_N; i++)
		strat_free(&f.s, 0, addr[i], usable[i]);
	strat_counters(&f.s, f.rows);
	assert_int_equal(ctr(&f, 0, "narenas"), 2);
	test_free(addr);
	fx_close(&f);
}

/* ---- whole programs against the real glibc ------------------------------------ */

static char out[1 << 16];

static const char *build_dir(void)
{
	const char *b = getenv("ALLOCSIM_BUILD");
	return b ? b : "build";
}

static int have_replay(void)
{
	if (access("build/replay", X_OK) == 0)
		return 1;
	print_message("\n*** glibc validation: SKIPPED: build/replay is missing "
		      "(make replay) ***\n\n");
	return 0;
}

/* Run the validator; every output line is printed; its exit status. */
static int validate(const char *args)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "scripts/validate-glibc --build %s %s",
		 build_dir(), args);
	int rc = harness_run(cmd, out, sizeof out);
	print_message("%s", out);
	return rc;
}

/* Every trace of tests/data: the single-threaded ones exactly equal to
 * the real glibc at every 1000th event (the script's exit status). */
static void test_exact_on_recorded_traces(void **state)
{
	(void)state;
	if (!have_replay())
		skip();
	assert_int_equal(validate(""), 0);
	assert_non_null(strstr(out, "sqlite3 "));
	assert_null(strstr(out, "could not"));
}

/* Over a million events, recorded now: python3 under the tracer. */
static void test_exact_on_million_events(void **state)
{
	(void)state;
	if (!have_replay())
		skip();
	if (access("/usr/bin/python3", X_OK) != 0) {
		print_message("*** python3 missing: the million-event trace is "
			      "skipped ***\n");
		skip();
	}
	const char *dir = harness_tmpdir();
	char trace[512], cmd[2048];
	snprintf(trace, sizeof trace, "%s/python.trace.gz", dir);
	snprintf(cmd, sizeof cmd,
		 "env PYTHONMALLOC=malloc PYTHONHASHSEED=0 %s/allocsim trace "
		 "record -o %s -- /usr/bin/python3 -S -c 'd = {}\n"
		 "for i in range(120000):\n"
		 "    s = str(i) * (i %% 5 + 1)\n"
		 "    d[s] = [i, s, (i, i + 1)]\n"
		 "    if i %% 3:\n"
		 "        del d[s]\n"
		 "print(len(d))'", build_dir(), trace);
	int rc = harness_run(cmd, out, sizeof out);
	if (rc != 0)
		fail_msg("recording python3 failed (%d): %s", rc, out);
	snprintf(cmd, sizeof cmd, "--no-data --generate 300000 %s", trace);
	rc = validate(cmd);
	harness_rmtree(dir);
	assert_int_equal(rc, 0);
	/* the events column of the recorded trace: over a million */
	const char *row = strstr(out, "python ");
	assert_non_null(row);
	unsigned long events = 0;
	assert_int_equal(sscanf(row, "python %lu", &events), 1);
	assert_true(events > 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_rounding),
		cmocka_unit_test(test_bin_index),
		cmocka_unit_test(test_rounding_trace),
		cmocka_unit_test(test_unsorted_order),
		cmocka_unit_test(test_last_remainder),
		cmocka_unit_test(test_consolidation),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_threshold_frozen),
		cmocka_unit_test(test_malloc_trim),
		cmocka_unit_test(test_arena_limit),
		cmocka_unit_test(test_thread_heap),
		cmocka_unit_test(test_live_chunks_unrecorded),
		cmocka_unit_test(test_exact_on_recorded_traces),
		cmocka_unit_test(test_exact_on_million_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
