/*
 * objtab.c - object table (see objtab.h): linear probing with a
 * multiplicative hash scaled to the capacity, backward-shift deletion so
 * there are no tombstones, growth by half; it never shrinks (see
 * objtab_remove).
 *
 * Host memory is the point of this layout for a big live set (`make
 * bench-scale`): 16-byte slots, a capacity that grows by 1.5x rather than
 * 2x at 70 % load (so the table is 47 to 70 % full, 23 to 34 bytes a live
 * object), and a resize that never holds both tables whole: the slots
 * live in their own mapping, and the old one is unmapped piece by piece as
 * it is copied (see grow).
 *
 * Speed is the point for a table up to OBJTAB_ROOMY_BYTES (64 MiB, live
 * sets up to about 2.8 million objects), where the memory is small beside
 * the machine's: it grows at half full instead (33 to 50 % full, 32 to 48
 * bytes a live object).  Probe and removal runs are what the load
 * decides: on `make bench`'s trace (100k live objects) the table at 33 %
 * load instead of 50 % saw 38 % fewer mispredicted branches (callgrind:
 * 14.6 M -> 9.1 M in 10 M events) and ran 11-12 % faster.  Such a table
 * is also faulted in when it is mapped (MAP_POPULATE): the copy into it
 * writes every page anyway, and one call is far cheaper than a fault per
 * page (6 % of `make bench`'s time on this VM).
 */
#include "objtab.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIN_CAP 1024
/* Bytes of the old table unmapped at a time while the table grows. */
#define RELEASE_STEP ((size_t)256 * 1024)
#define HASH_K UINT64_C(0x9E3779B97F4A7C15)

static size_t map_len(uint64_t cap)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	return (cap * sizeof(struct obj) + page - 1) / page * page;
}

static int roomy(const struct objtab *t, uint64_t cap)
{
	return cap * sizeof(struct obj) <= t->roomy_bytes;
}

/* A zeroed mapping for cap slots: a roomy table's pages are faulted in
 * at once, a big one's when first written. */
static struct obj *map_slots(const struct objtab *t, uint64_t cap)
{
	int populate = roomy(t, cap) ? MAP_POPULATE : 0;
	void *p = mmap(NULL, map_len(cap), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | populate, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void set_cap(struct objtab *t, struct obj *slots, uint64_t cap)
{
	t->slots = slots;
	t->cap = cap;
	t->grow_at = roomy(t, cap) ? cap / 2 : cap / 10 * 7;
}

int objtab_init_roomy(struct objtab *t, uint64_t roomy_bytes)
{
	*t = (struct objtab){.roomy_bytes = roomy_bytes};
	struct obj *s = map_slots(t, MIN_CAP);
	if (!s)
		return -1;
	set_cap(t, s, MIN_CAP);
	return 0;
}

int objtab_init(struct objtab *t)
{
	return objtab_init_roomy(t, OBJTAB_ROOMY_BYTES);
}

void objtab_free(struct objtab *t)
{
	if (t->slots)
		munmap(t->slots, map_len(t->cap));
	free(t->spill);
	*t = (struct objtab){0};
}

/* ---- the spill map: blocks that do not pack ------------------------------ */

static uint64_t spill_home(const struct objtab *t, uint64_t id)
{
	uint64_t h = id * HASH_K;
	return (h ^ h >> 32) & t->spill_mask;
}

static struct obj_spill *spill_find(const struct objtab *t, uint64_t id)
{
	uint64_t i = spill_home(t, id);
	while (t->spill[i].id != id)
		i = (i + 1) & t->spill_mask;
	return &t->spill[i];
}

static void spill_place(struct objtab *t, const struct obj_spill *s)
{
	uint64_t i = spill_home(t, s->id);
	while (t->spill[i].id)
		i = (i + 1) & t->spill_mask;
	t->spill[i] = *s;
}

/* Double the spill map (or make its first 16 entries).  0, or -1. */
static int spill_grow(struct objtab *t)
{
	struct obj_spill *old = t->spill;
	uint64_t oldcap = old ? t->spill_mask + 1 : 0;
	uint64_t cap = old ? oldcap * 2 : 16;
	if (!(t->spill = calloc(cap, sizeof *t->spill))) {
		t->spill = old;
		return -1;
	}
	t->spill_mask = cap - 1;
	for (uint64_t i = 0; i < oldcap; i++)
		if (old[i].id)
			spill_place(t, &old[i]);
	free(old);
	return 0;
}

static int spill_put(struct objtab *t, uint64_t id, const struct obj_block *b)
{
	if ((!t->spill || (t->spill_count + 1) * 2 > t->spill_mask + 1) &&
	    spill_grow(t) != 0)
		return -1;
	spill_place(t, &(struct obj_spill){id, *b});
	t->spill_count++;
	return 0;
}

static void spill_remove(struct objtab *t, uint64_t id)
{
	uint64_t m = t->spill_mask, i = spill_find(t, id) - t->spill;
	for (uint64_t j = (i + 1) & m; t->spill[j].id; j = (j + 1) & m) {
		uint64_t home = spill_home(t, t->spill[j].id);
		if (((j - home) & m) >= ((j - i) & m)) {
			t->spill[i] = t->spill[j];
			i = j;
		}
	}
	t->spill[i].id = 0;
	t->spill_count--;
}

const struct obj_block *objtab_spilled(const struct objtab *t,
				       const struct obj *o)
{
	return &spill_find(t, obj_id(o))->b;
}

/* ---- the table ------------------------------------------------------------ */

struct obj *objtab_probe_big(const struct objtab *t, uint64_t id)
{
	uint64_t key = objtab_key(id);
	for (uint64_t i = objtab_home(t, id);; i = objtab_next(t, i)) {
		struct obj *o = &t->slots[i];
		uint64_t k = obj_key(o);
		if (k == 0 || (k == key && (key != OBJ_KEY_BIG || obj_id(o) == id)))
			return o;
	}
}

/* Put o in a table known to have room and not to hold its ID. */
static void place(struct objtab *t, const struct obj *o)
{
	uint64_t i = objtab_home(t, obj_id(o));
	while (obj_used(&t->slots[i]))
		i = objtab_next(t, i);
	t->slots[i] = *o;
}

/* Grow by half.  The old slots are read in index order and their pages
 * unmapped behind the reading: homes keep their order (objtab_home), so the
 * writes sweep the new table from its start at 1.5 times the pace, and the
 * two mappings together stay near the size of the new one instead of
 * 1.67 times it.  0, or -1 with the table unchanged. */
int objtab_grow(struct objtab *t)
{
	struct obj *old = t->slots;
	uint64_t oldcap = t->cap, cap = oldcap + oldcap / 2;
	struct obj *s = map_slots(t, cap);
	if (!s)
		return -1;
	set_cap(t, s, cap);
	size_t released = 0;
	for (uint64_t i = 0; i < oldcap; i++) {
		if (obj_used(&old[i]))
			place(t, &old[i]);
		if ((i + 1) * sizeof *old - released >= RELEASE_STEP) {
			munmap((char *)old + released, RELEASE_STEP);
			released += RELEASE_STEP;
		}
	}
	if (map_len(oldcap) > released)
		munmap((char *)old + released, map_len(oldcap) - released);
	return 0;
}

/* objtab_fill's rare path: a block or an ID that does not pack goes to
 * the spill map, and its slot says so (a big ID keeps the whole ID in the
 * slot, for the probes that must tell it from another). */
int objtab_fill_spilled(struct objtab *t, struct obj *o, uint64_t id,
			const struct obj_block *b)
{
	if (spill_put(t, id, b) != 0)
		return -1;
	uint64_t key = objtab_key(id);
	uint64_t rest = key == OBJ_KEY_BIG ? id : 0;   /* see struct obj */
	*o = (struct obj){OBJ_XSPILL << 48 | (rest & OBJ_LOW48),
			  key | (rest >> 48) << 32};
	t->count++;
	return 0;
}

int objtab_insert(struct objtab *t, uint64_t id, const struct obj_block *b)
{
	struct obj *o = objtab_slot_for(t, id);
	return o ? objtab_fill(t, o, id, b) : -1;
}

void objtab_remove_slow(struct objtab *t, struct obj *o)
{
	if (obj_spilled(o))
		spill_remove(t, obj_id(o));
	/* Backward shift: pull later members of the probe run into the hole
	 * i, gap slots back (counted, not computed again each step). */
	uint64_t i = (uint64_t)(o - t->slots), gap = 1;
	for (uint64_t j = objtab_next(t, i); obj_used(&t->slots[j]);
	     j = objtab_next(t, j), gap++) {
		uint64_t home = objtab_home(t, obj_id(&t->slots[j]));
		if (objtab_distance(t, home, j) >= gap) {
			t->slots[i] = t->slots[j];
			i = j;
			gap = 0;
		}
	}
	t->slots[i] = (struct obj){0, 0};
	t->count--;
}

uint64_t objtab_host_bytes(const struct objtab *t)
{
	uint64_t spill = t->spill ? (t->spill_mask + 1) * sizeof *t->spill : 0;
	return map_len(t->cap) + spill;
}
