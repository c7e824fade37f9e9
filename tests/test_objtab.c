/*
 * test_objtab.c - the engine's object table against a plain array model:
 * inserts and removals in a fixed pseudo-random order across many resizes,
 * every block read back exactly (the packed fields and the spill map for
 * blocks that do not pack), every slot after a removal against the plain
 * backward shift, and the host memory it claims per object;
 * and the GC's dead list (gc.c), which packs the same blocks in one-word or
 * four-word records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gc.h"
#include "objtab.h"
#include "strategy.h"

#define N 60000

struct model {
	uint64_t id[N];
	struct obj_block b[N];
	int live[N];
};

/* A fixed scramble (splitmix64): IDs and blocks that look random. */
static uint64_t mix(uint64_t x)
{
	x += UINT64_C(0x9E3779B97F4A7C15);
	x = (x ^ x >> 30) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ x >> 27) * UINT64_C(0x94D049BB133111EB);
	return x ^ x >> 31;
}

/* Object k's block: mostly small; every 97th at or just past the edge of
 * what a slot packs (a 48-bit address, a 32-bit size, an excess below
 * 0xFFFF). */
static struct obj_block block_of(uint64_t k)
{
	uint64_t r = mix(k + 1000003);
	struct obj_block b = {r & ((UINT64_C(1) << 47) - 16), 1 + (r >> 52), 0};
	b.usable = b.size + (r >> 40 & 31);
	switch (k % 97 == 0 ? k / 97 % 9 : 9) {
	case 0: b.usable = b.size + (UINT64_C(1) << 32); break; /* excess 4 GiB */
	case 1: b.size = UINT64_C(1) << 48; b.usable = b.size; break;
	case 2: b.addr = UINT64_MAX - 4095; break;
	case 3: b.usable = b.size - 1; break;   /* a broken strategy's */
	case 4: b.size = UINT64_C(1) << 32; b.usable = b.size; break;
	case 5: b.size = UINT32_MAX; b.usable = b.size + 0xFFFE; break; /* packs */
	case 6: b.usable = b.size + 0xFFFF; break;
	case 7: b.addr = OBJ_LOW48; break;                            /* packs */
	case 8: b.addr = OBJ_LOW48 + 1; break;
	default: break;
	}
	return b;
}

/* Object k's ID: distinct, mostly below 2^32 - 1 (the slot's key) in a
 * scrambled order, every 89th one above, and the IDs either side of the
 * edge. */
static uint64_t id_of(uint64_t k)
{
	switch (k) {
	case 1: return OBJ_KEY_BIG - 1;
	case 2: return OBJ_KEY_BIG;
	case 3: return OBJ_KEY_BIG + 1;
	default: break;
	}
	if (k % 89 == 0)
		return mix(k) | UINT64_C(1) << 63;
	return 1 + (uint32_t)(k * UINT32_C(2654435761)) % (OBJ_KEY_BIG - 2);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void check_all(const struct objtab *t, const struct model *m)
{
	uint64_t live = 0;
	for (int k = 0; k < N; k++) {
		struct obj *o = objtab_find(t, m->id[k]);
		if (!m->live[k]) {
			if (o)
				fail_msg("ID %llu found after removal",
					 (unsigned long long)m->id[k]);
			continue;
		}
		live++;
		if (!o)
			fail_msg("ID %llu lost", (unsigned long long)m->id[k]);
		struct obj_block b = objtab_block(t, o);
		assert_int_equal(b.addr, m->b[k].addr);
		assert_int_equal(b.size, m->b[k].size);
		assert_int_equal(b.usable, m->b[k].usable);
	}
	assert_int_equal(t->count, live);
}

/* The model below in a table kept roomy as objtab_init makes it, or with
 * every size at the big tables' load (roomy_bytes 0). */
static void run_model(uint64_t roomy_bytes)
{
	struct model *m = calloc(1, sizeof *m);
	struct objtab t;
	assert_non_null(m);
	assert_int_equal(objtab_init_roomy(&t, roomy_bytes), 0);
	for (int k = 0; k < N; k++) {
		m->id[k] = id_of((uint64_t)k);
		m->b[k] = block_of((uint64_t)k);
	}
	uint64_t sorted[N];
	memcpy(sorted, m->id, sizeof sorted);
	qsort(sorted, N, sizeof *sorted, cmp_u64);
	for (int k = 1; k < N; k++)
		assert_true(sorted[k] != sorted[k - 1]);
	/* Fill in rounds, removing a pseudo-random third after each, so
	 * removals cross resizes and probe runs that wrap around. */
	for (int round = 0; round < 4; round++) {
		for (int k = round * N / 4; k < (round + 1) * N / 4; k++) {
			assert_int_equal(objtab_insert(&t, m->id[k], &m->b[k]), 0);
			m->live[k] = 1;
		}
		for (int k = 0; k < N; k++)
			if (m->live[k] && mix(k * 7 + round) % 3 == 0) {
				objtab_remove(&t, objtab_find(&t, m->id[k]));
				m->live[k] = 0;
			}
		check_all(&t, m);
	}
	/* Everything out: the spill map empties too. */
	for (int k = 0; k < N; k++)
		if (m->live[k]) {
			objtab_remove(&t, objtab_find(&t, m->id[k]));
			m->live[k] = 0;
		}
	check_all(&t, m);
	assert_int_equal(t.spill_count, 0);
	objtab_free(&t);
	free(m);
}

static void test_model(void **state)
{
	(void)state;
	run_model(OBJTAB_ROOMY_BYTES);
}

static void test_model_full(void **state)
{
	(void)state;
	run_model(0);
}

/* The plain backward shift from the hole i, on a copy of the slots: what
 * objtab_remove's quick path (which copies slots into the hole whatever
 * they hold) must leave too. */
static void shift_reference(const struct objtab *t, struct obj *s, uint64_t i)
{
	uint64_t gap = 1;
	for (uint64_t j = objtab_next(t, i); obj_used(&s[j]);
	     j = objtab_next(t, j), gap++) {
		uint64_t home = objtab_home(t, obj_id(&s[j]));
		if (objtab_distance(t, home, j) >= gap) {
			s[i] = s[j];
			i = j;
			gap = 0;
		}
	}
	s[i] = (struct obj){0, 0};
}

/* Removals in a table kept near 70 % full without growing (its first
 * 1024 slots, at the big tables' load), so probe runs are long and often
 * go round the end: after each, every slot is what the plain backward
 * shift leaves. */
static void test_remove_layout(void **state)
{
	(void)state;
	enum { LIVE = 700, STEPS = 60000 };
	static struct obj copy[1024];
	uint64_t live[LIVE], next = 0;
	int n = 0, ends = 0;
	struct objtab t;
	assert_int_equal(objtab_init_roomy(&t, 0), 0);
	for (uint64_t step = 0; step < STEPS; step++) {
		uint64_t r = mix(step + 77);
		if (n < LIVE && (n < LIVE / 2 || r & 1)) {
			struct obj_block b = block_of(next);
			live[n++] = id_of(next);
			assert_int_equal(objtab_insert(&t, id_of(next++), &b), 0);
			continue;
		}
		int k = (int)((r >> 8) % (uint64_t)n);
		struct obj *o = objtab_find(&t, live[k]);
		assert_non_null(o);
		live[k] = live[--n];
		assert_int_equal(t.cap, 1024);
		uint64_t i = (uint64_t)(o - t.slots);
		ends += i + 2 >= t.cap;
		memcpy(copy, t.slots, sizeof copy);
		shift_reference(&t, copy, i);
		objtab_remove(&t, o);
		assert_memory_equal(copy, t.slots, sizeof copy);
	}
	assert_true(ends > 10);   /* the end of the table was met */
	for (int k = 0; k < n; k++)
		assert_non_null(objtab_find(&t, live[k]));
	objtab_free(&t);
}

/* Fill a table whose tables up to roomy_bytes are roomy and check, as it
 * grows, its load (at most half full while roomy, else 70 %) and its host
 * bytes: 16-byte slots at least 1/3 full when grown from a roomy table
 * (under 48 bytes an object), else at least 7/15 (under 35), plus a page
 * of rounding. */
static void fill_and_measure(uint64_t roomy_bytes)
{
	struct objtab t;
	assert_int_equal(objtab_init_roomy(&t, roomy_bytes), 0);
	for (uint64_t n = 1; n <= 300000; n++) {
		struct obj_block b = {16 * n, 24, 32};
		assert_int_equal(objtab_insert(&t, n, &b), 0);
		int roomy = t.cap * sizeof(struct obj) <= roomy_bytes;
		int from_roomy = t.cap / 3 * 2 * sizeof(struct obj) <=
				 roomy_bytes;
		uint64_t per = from_roomy ? 48 : 35;
		if (roomy ? t.count * 2 > t.cap : t.count * 10 > t.cap * 7)
			fail_msg("%llu objects in %llu slots",
				 (unsigned long long)t.count,
				 (unsigned long long)t.cap);
		if (n % 1000 == 0 && objtab_host_bytes(&t) > n * per + 65536)
			fail_msg("%llu bytes for %llu objects",
				 (unsigned long long)objtab_host_bytes(&t),
				 (unsigned long long)n);
	}
	objtab_free(&t);
}

static void test_host_bytes(void **state)
{
	(void)state;
	fill_and_measure(OBJTAB_ROOMY_BYTES);   /* roomy throughout */
	fill_and_measure(0);                    /* never roomy */
	fill_and_measure(UINT64_C(1) << 20);    /* roomy up to 64k slots */
}

/* Dead object k, one of two kinds.  One in four: the blocks above,
 * steps up and down across the address space, the widest values each
 * field can take, and thread numbers past 2^16 (long records).  The rest
 * fit a one-word record (a step under 1 GiB, a size under 4 KiB, an
 * excess under 32, a thread under 16), but every 7th of them is at a
 * field's edge: the largest value that fits, or one more. */
static struct gc_dead dead_of(uint64_t k)
{
	struct obj_block b = block_of(k);
	uint64_t r = mix(k), base = UINT64_C(0xc000000000);
	struct gc_dead d = {b.addr, b.usable, b.size, (uint32_t)(r >> 40)};
	if (k % 89 == 0)
		d.addr = k & 1 ? UINT64_MAX : 0;
	if (k % 83 == 0)
		d.usable = d.size - 1 - (k & 1);    /* excess mod 2^64: 2^64 - 1 */
	if (k % 4 == 0)
		return d;
	d = (struct gc_dead){base + (r & ((UINT64_C(1) << 30) - 1)), b.usable,
			     b.size, (uint32_t)(r >> 60)};
	uint64_t prev = k ? dead_of(k - 1).addr : 0;
	switch (k % 7 == 0 ? k / 7 % 9 : 8) {   /* 9: coprime to 4 */
	case 0: d.size = 16383; d.usable = d.size + 1023; d.tid = 15; break;
	case 1: d.size = 16384; d.usable = d.size; break;
	case 2: d.usable = d.size + 1024; break;
	case 3: d.tid = 16; break;
	case 4: d.addr = prev + (UINT64_C(1) << 34) - 1; break;   /* fits */
	case 5: d.addr = prev + (UINT64_C(1) << 34); break;
	case 6: d.addr = prev - (UINT64_C(1) << 34); break;       /* fits */
	case 7: d.addr = prev - (UINT64_C(1) << 34) - 1; break;
	default: break;
	}
	return d;
}

static void test_dead_list(void **state)
{
	(void)state;
	static const char *const no_counters[] = {NULL};
	const struct strategy_ops ops = {.name = "t",
					 .counter_names = no_counters};
	struct gc *g;
	struct sim_err err;
	assert_int_equal(gc_create(&ops, NULL, &g, &err), SIM_OK);
	struct gc_dead_list *l = gc_dead_list(g);
	/* Two cycles' worth, the second shorter than the first: a cleared
	 * list must not give back the first one's tail. */
	static const uint64_t cycle[] = {50000, 20000};
	for (uint64_t c = 0, base = 0; c < 2; base += cycle[c++]) {
		uint64_t n = cycle[c];
		for (uint64_t k = base; k < base + n; k++) {
			struct gc_dead d = dead_of(k);
			assert_int_equal(gc_add_dead(l, d.tid, d.addr, d.usable,
						     d.size), SIM_OK);
		}
		struct gc_dead_iter it = {0, 0};
		struct gc_dead d;
		uint64_t k = base;
		for (; gc_dead_next(l, &it, &d); k++) {
			struct gc_dead want = dead_of(k);
			assert_int_equal(d.addr, want.addr);
			assert_int_equal(d.size, want.size);
			assert_int_equal(d.usable, want.usable);
			assert_int_equal(d.tid, want.tid);
		}
		assert_int_equal(k, base + n);
		gc_dead_clear(l);
	}
	gc_destroy(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_model_full),
		cmocka_unit_test(test_remove_layout),
		cmocka_unit_test(test_host_bytes),
		cmocka_unit_test(test_dead_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
