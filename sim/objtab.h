/*
 * objtab.h - the engine's object table: workload object ID -> the block the
 * strategy gave it (address, requested size, usable size).  An open-
 * addressing hash keyed by ID, sized to the live set (not to the number of
 * IDs ever used), 24 bytes a slot: at 10 million live objects it is most of
 * the simulator's host memory, so the block is packed (see struct obj).
 */
#ifndef SIM_OBJTAB_H
#define SIM_OBJTAB_H

#include <stddef.h>
#include <stdint.h>

/* One slot.  The address and the requested size take 48 bits each (the
 * simulated address space ends below 2^47, and sizes are at most 2^48);
 * the usable size is kept as its excess over the requested size, a 32-bit
 * number split over the two top halfwords.  An excess of OBJ_SPILLED means
 * the block did not fit - an excess of 4 GiB or more, or a strategy that
 * broke the contract - and the table's spill map holds it whole. */
struct obj {
	uint64_t id;         /* 0 marks an empty slot */
	uint64_t lo;         /* address | excess bits 0-15 << 48 */
	uint64_t hi;         /* requested size | excess bits 16-31 << 48 */
};

#define OBJ_LOW48   ((UINT64_C(1) << 48) - 1)
#define OBJ_SPILLED UINT64_C(0xFFFFFFFF)

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
	struct obj_spill *spill;
	uint64_t spill_mask, spill_count;
};

/* The home slot of id: a multiplicative hash scaled to the capacity.  The
 * home is monotone in the hash, so a grown table keeps the old one's order
 * (the resize relies on it, see objtab.c). */
static inline uint64_t objtab_home(const struct objtab *t, uint64_t id)
{
	uint64_t h = id * UINT64_C(0x9E3779B97F4A7C15);
	return (uint64_t)(((unsigned __int128)h * t->cap) >> 64);
}

/* Ask the CPU to fetch id's home slot now: a free or a new ID lands on a
 * random slot of a table bigger than the caches, so the engine prefetches
 * a few events ahead of the one it handles.  A 24-byte slot may straddle
 * two cache lines, and a probe often reads the next slot: fetch both. */
static inline void objtab_prefetch(const struct objtab *t, uint64_t id)
{
	const char *p = (const char *)&t->slots[objtab_home(t, id)];
	__builtin_prefetch(p, 1);
	__builtin_prefetch(p + 2 * sizeof(struct obj) - 1, 1);
}

/* Initialise an empty table.  0 on success, -1 when out of host memory. */
int objtab_init(struct objtab *t);
void objtab_free(struct objtab *t);

/* The slot of the object with id, or NULL. */
static inline struct obj *objtab_find(const struct objtab *t, uint64_t id)
{
	for (uint64_t i = objtab_home(t, id);; i = i + 1 == t->cap ? 0 : i + 1) {
		struct obj *o = &t->slots[i];
		if (o->id == id)
			return o;
		if (o->id == 0)
			return NULL;
	}
}

/* The spilled block of o (objtab.c). */
const struct obj_block *objtab_spilled(const struct objtab *t,
				       const struct obj *o);

static inline uint64_t obj_excess(const struct obj *o)
{
	return (o->lo >> 48) | (o->hi >> 48) << 16;
}

/* The block in slot o. */
static inline struct obj_block objtab_block(const struct objtab *t,
					    const struct obj *o)
{
	uint64_t x = obj_excess(o);
	if (__builtin_expect(x == OBJ_SPILLED, 0))
		return *objtab_spilled(t, o);
	uint64_t size = o->hi & OBJ_LOW48;
	return (struct obj_block){o->lo & OBJ_LOW48, size, size + x};
}

/* Insert a new object (id, nonzero, must not be present) with its block.
 * 0 on success, -1 when out of host memory.  Pointers to slots are
 * invalidated by the next insert or remove. */
int objtab_insert(struct objtab *t, uint64_t id, const struct obj_block *b);

/* Insert in two steps with one probe, for a caller that must know whether
 * id is live before it has the block (the engine's allocation: the ID
 * check, then the strategy, then the insert).  objtab_slot_for makes room
 * for one more object (growing the table if need be), then returns id's
 * slot: o->id == id when id is present, else the empty slot where
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
	/* The probe stops at id or at the first empty slot: that slot is
	 * where objtab_insert would put id, so the table comes out the same. */
	for (uint64_t i = objtab_home(t, id);; i = i + 1 == t->cap ? 0 : i + 1) {
		struct obj *o = &t->slots[i];
		if (o->id == id || o->id == 0)
			return o;
	}
}

static inline int objtab_fill(struct objtab *t, struct obj *o, uint64_t id,
			      const struct obj_block *b)
{
	uint64_t x = b->usable - b->size;
	if (__builtin_expect(b->addr > OBJ_LOW48 || b->size > OBJ_LOW48 ||
			     b->usable < b->size || x >= OBJ_SPILLED, 0))
		return objtab_fill_spilled(t, o, id, b);
	*o = (struct obj){id, b->addr | (x & 0xFFFF) << 48,
			  b->size | (x >> 16) << 48};
	t->count++;
	return 0;
}

/* Remove the object in slot o (from objtab_find, with no insert or remove
 * since). */
void objtab_remove(struct objtab *t, struct obj *o);

/* Host bytes the table uses. */
uint64_t objtab_host_bytes(const struct objtab *t);

#endif
