/*
 * objtab.h - the engine's object table: workload object ID -> the block the
 * strategy gave it (address, requested size, usable size).  An open-
 * addressing hash keyed by ID, sized to the live set (not to the number of
 * IDs ever used), 16 bytes a slot: at 10 million live objects it is most of
 * the simulator's host memory, so the block is packed (see struct obj).
 */
#ifndef SIM_OBJTAB_H
#define SIM_OBJTAB_H

#include <stddef.h>
#include <stdint.h>

/* One slot.  The ID is kept as a 32-bit key: trace IDs are dense (each new
 * object takes the next one), so a run meets an ID of 2^32 - 1 or more
 * only after four billion objects.  The address takes 48 bits (the
 * simulated address space ends below 2^47), the requested size 32 and the
 * usable size its excess over the requested size, 16.  What does not fit
 * - a bigger ID, size or excess, or a strategy that reports less than the
 * size - the table's spill map holds whole, and the slot says so with an
 * excess of OBJ_XSPILL.  A big ID's slot has the key OBJ_KEY_BIG and the
 * whole ID in the other fields: the low 48 bits in lo, the rest in hi's
 * size. */
struct obj {
	uint64_t lo;         /* address | excess << 48 */
	uint64_t hi;         /* key | requested size << 32; key 0: empty */
};

#define OBJ_LOW48   ((UINT64_C(1) << 48) - 1)
#define OBJ_XSPILL  UINT64_C(0xFFFF)
#define OBJ_KEY_BIG UINT64_C(0xFFFFFFFF)

/* A block as the engine uses it. */
struct obj_block {
	uint64_t addr, size, usable;
};

/* The rare blocks that do not pack (open addressing keyed by ID). */
struct obj_spill {
	uint64_t id;
	struct obj_block b;
};

struct objtab {
	struct obj *slots;   /* cap slots in their own mapping */
	uint64_t cap;        /* any size: the hash is scaled, not masked */
	uint64_t count;
	uint64_t grow_at;    /* the count that makes the table grow */
	uint64_t roomy_bytes;   /* tables up to this size grow at half full
				   and are faulted in when mapped (objtab.c) */
	struct obj_spill *spill;
	uint64_t spill_mask, spill_count;
};

/* The key a slot holds for id. */
static inline uint64_t objtab_key(uint64_t id)
{
	return id < OBJ_KEY_BIG ? id : OBJ_KEY_BIG;
}

static inline uint64_t obj_key(const struct obj *o)
{
	return (uint32_t)o->hi;
}

static inline int obj_used(const struct obj *o)
{
	return obj_key(o) != 0;
}

/* The ID of the object in slot o. */
static inline uint64_t obj_id(const struct obj *o)
{
	if (obj_key(o) != OBJ_KEY_BIG)
		return obj_key(o);
	return (o->lo & OBJ_LOW48) | (o->hi >> 32) << 48;
}

/* The home slot of id: a multiplicative hash scaled to the capacity.  The
 * home is monotone in the hash, so a grown table keeps the old one's order
 * (the resize relies on it, see objtab.c). */
static inline uint64_t objtab_home(const struct objtab *t, uint64_t id)
{
	uint64_t h = id * UINT64_C(0x9E3779B97F4A7C15);
	return (uint64_t)(((unsigned __int128)h * t->cap) >> 64);
}

/* The slot after i, around the table. */
static inline uint64_t objtab_next(const struct objtab *t, uint64_t i)
{
	return i + 1 == t->cap ? 0 : i + 1;
}

/* Slots from a to b, going forward around the table (b - a wraps below
 * zero exactly when b is before a). */
static inline uint64_t objtab_distance(const struct objtab *t, uint64_t a,
				       uint64_t b)
{
	uint64_t d = b - a;
	return d < t->cap ? d : d + t->cap;
}

/* Ask the CPU to fetch id's home slot now: a free or a new ID lands on a
 * random slot of a table bigger than the caches, so the engine prefetches
 * a few events ahead of the one it handles.  A probe reads the next slot
 * too, and a removal the two after its object (objtab_remove), which may
 * be in the next cache line: fetch both lines. */
static inline void objtab_prefetch(const struct objtab *t, uint64_t id)
{
	const char *p = (const char *)&t->slots[objtab_home(t, id)];
	__builtin_prefetch(p, 1);
	__builtin_prefetch(p + 3 * sizeof(struct obj) - 1, 1);
}

/* Tables up to this size grow at half full, bigger ones at 70 % (see
 * objtab.c). */
#define OBJTAB_ROOMY_BYTES ((uint64_t)64 << 20)

/* Initialise an empty table.  0 on success, -1 when out of host memory. */
int objtab_init(struct objtab *t);
/* The same with tables up to roomy_bytes kept roomy (0: every table at
 * the big ones' load, as tests of long runs want). */
int objtab_init_roomy(struct objtab *t, uint64_t roomy_bytes);
void objtab_free(struct objtab *t);

/* objtab_probe for a big ID (objtab_key(id) == OBJ_KEY_BIG) or ID 0
 * (objtab.c): the whole ID is compared. */
struct obj *objtab_probe_big(const struct objtab *t, uint64_t id);

/* IDs 1 to 2^32 - 2, the ones the inline probe handles. */
static inline int objtab_small_id(uint64_t id)
{
	return id - 1 < OBJ_KEY_BIG - 1;
}

/* id's slot, or the empty slot where the probe for it stops (where an
 * insert puts it). */
static inline struct obj *objtab_probe(const struct objtab *t, uint64_t id)
{
	if (__builtin_expect(!objtab_small_id(id), 0))
		return objtab_probe_big(t, id);
	for (uint64_t i = objtab_home(t, id);; i = objtab_next(t, i)) {
		struct obj *o = &t->slots[i];
		uint64_t k = obj_key(o);
		if (k == id || k == 0)
			return o;
	}
}

/* The slot of the object with id, or NULL. */
static inline struct obj *objtab_find(const struct objtab *t, uint64_t id)
{
	struct obj *o = objtab_probe(t, id);
	return obj_used(o) ? o : NULL;
}

/* The spilled block of o (objtab.c). */
const struct obj_block *objtab_spilled(const struct objtab *t,
				       const struct obj *o);

static inline int obj_spilled(const struct obj *o)
{
	return (o->lo >> 48) == OBJ_XSPILL;
}

/* The block in slot o, which is not spilled. */
static inline struct obj_block objtab_packed_block(const struct obj *o)
{
	uint64_t size = o->hi >> 32;
	return (struct obj_block){o->lo & OBJ_LOW48, size, size + (o->lo >> 48)};
}

/* The block in slot o. */
static inline struct obj_block objtab_block(const struct objtab *t,
					    const struct obj *o)
{
	if (__builtin_expect(obj_spilled(o), 0))
		return *objtab_spilled(t, o);
	return objtab_packed_block(o);
}

/* Insert a new object (id, nonzero, must not be present) with its block.
 * 0 on success, -1 when out of host memory.  Pointers to slots are
 * invalidated by the next insert or remove. */
int objtab_insert(struct objtab *t, uint64_t id, const struct obj_block *b);

/* Insert in two steps with one probe, for a caller that must know whether
 * id is live before it has the block (the engine's allocation: the ID
 * check, then the strategy, then the insert).  objtab_slot_for makes room
 * for one more object (growing the table if need be), then returns id's
 * slot: obj_used(o) when id is present, else the empty slot where
 * objtab_insert would put it; NULL when out of host memory.  objtab_fill
 * stores id and its block in that empty slot, which must still be the one
 * objtab_slot_for returned (no insert or remove since).  0, or -1 when out
 * of host memory (the slot stays empty). */
int objtab_grow(struct objtab *t);   /* by half: 0, or -1 (unchanged) */
int objtab_fill_spilled(struct objtab *t, struct obj *o, uint64_t id,
			const struct obj_block *b);

/* Inline, as objtab_find is: they run once per allocation. */
static inline struct obj *objtab_slot_for(struct objtab *t, uint64_t id)
{
	if (t->count >= t->grow_at && objtab_grow(t) != 0)
		return NULL;
	return objtab_probe(t, id);
}

static inline int objtab_fill(struct objtab *t, struct obj *o, uint64_t id,
			      const struct obj_block *b)
{
	uint64_t x = b->usable - b->size;   /* huge when usable < size */
	if (__builtin_expect(b->addr > OBJ_LOW48 || b->size > UINT32_MAX ||
			     x >= OBJ_XSPILL || id >= OBJ_KEY_BIG, 0))
		return objtab_fill_spilled(t, o, id, b);
	*o = (struct obj){b->addr | x << 48, id | b->size << 32};
	t->count++;
	return 0;
}

/* Remove the object in slot o the general way: the spill map, then the
 * whole backward shift (objtab.c).  objtab_remove's rare path. */
void objtab_remove_slow(struct objtab *t, struct obj *o);

/* Whether the probe run after slot o is shorter than two slots (92 % of
 * removals on make bench's workload, its table a third full; 75 % at half
 * full) and does not go round the end of the table (one slot in cap / 2
 * says no, whatever follows it), so that objtab_remove_quick can remove
 * o's object if its block is packed.
 * Both keys are below 2^32: their product is 0 when either is, one test
 * the compiler cannot split into two branches (the second key's is a
 * coin flip). */
static inline int objtab_run_is_short(const struct objtab *t,
				      const struct obj *o)
{
	uint64_t i = (uint64_t)(o - t->slots);
	return i + 2 < t->cap &&
	       obj_key(&t->slots[i + 1]) * obj_key(&t->slots[i + 2]) == 0;
}

/* Remove the object in slot o, whose block is packed and for which
 * objtab_run_is_short holds,
 * with no branch on what the slot after it holds.  Whether that slot is
 * used is a coin flip at the table's load, and a loop that branched on it
 * was mispredicted about once a removal.  The slot is copied into the
 * hole whatever it holds, and the hole moves to it when its member moves
 * (used and not at home), else the copy is cleared with the hole: the
 * backward shift's result, as the run ends after that slot.  No call, so
 * a caller whose rare paths are tail calls saves no registers. */
static inline void objtab_remove_quick(struct objtab *t, struct obj *o)
{
	struct obj *s = t->slots;
	uint64_t i = (uint64_t)(o - s), j = i + 1;   /* below cap: see above */
	struct obj x = s[j];
	uint64_t m = -(uint64_t)(obj_used(&x) &
				 (objtab_home(t, obj_id(&x)) != j));
	s[i] = x;
	s[i ^ ((i ^ j) & m)] = (struct obj){0, 0};
	t->count--;
}

/* Remove the object in slot o (from objtab_find, with no insert or remove
 * since).  Inline, as objtab_find is: it runs once per free.  The table
 * never shrinks: it stays sized to the peak live set, which bounds it
 * anyway, and a workload whose live set swings (a program that builds and
 * drops big structures) would otherwise pay for rehashing and fresh pages
 * at every swing. */
static inline void objtab_remove(struct objtab *t, struct obj *o)
{
	if (__builtin_expect(!obj_spilled(o) && objtab_run_is_short(t, o), 1))
		objtab_remove_quick(t, o);
	else
		objtab_remove_slow(t, o);
}

/* Host bytes the table uses. */
uint64_t objtab_host_bytes(const struct objtab *t);

#endif
