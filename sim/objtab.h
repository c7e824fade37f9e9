/*
 * objtab.h - the engine's object table: workload object ID -> the block the
 * strategy gave it.  An open-addressing hash keyed by ID, sized to the live
 * set (not to the number of IDs ever used), 32 bytes a slot.
 */
#ifndef SIM_OBJTAB_H
#define SIM_OBJTAB_H

#include <stdint.h>

struct obj {
	uint64_t id;         /* 0 marks an empty slot */
	uint64_t addr;
	uint64_t usable;
	uint64_t size_flags; /* requested size (48 bits) | flags << 56 */
};

#define OBJ_SIZE(o)  ((o)->size_flags & (((uint64_t)1 << 56) - 1))
#define OBJ_FLAGS(o) ((unsigned)((o)->size_flags >> 56))
#define OBJ_PACK(size, flags) ((size) | ((uint64_t)(flags) << 56))

/* Object flags kept beside the size. */
#define OBJ_DEAD 0x80u   /* freed by the workload, not yet swept (GC mode) */

struct objtab {
	struct obj *slots;
	uint64_t mask;       /* capacity - 1 (capacity a power of two) */
	uint64_t count;
	unsigned shift;      /* 64 - log2(capacity): hash takes the top bits */
};

/* The home slot of id: the top bits of a multiplicative hash. */
static inline uint64_t objtab_home(const struct objtab *t, uint64_t id)
{
	return (id * UINT64_C(0x9E3779B97F4A7C15)) >> t->shift;
}

/* Ask the CPU to fetch id's home slot now: a free or a new ID lands on a
 * random slot of a table bigger than the caches, so the engine prefetches
 * a few events ahead of the one it handles. */
static inline void objtab_prefetch(const struct objtab *t, uint64_t id)
{
	__builtin_prefetch(&t->slots[objtab_home(t, id)], 1);
}

/* Initialise an empty table.  0 on success, -1 when out of host memory. */
int objtab_init(struct objtab *t);
void objtab_free(struct objtab *t);

/* The object with id, or NULL. */
struct obj *objtab_find(const struct objtab *t, uint64_t id);

/* Insert a new object (id must not be present).  Returns the slot, or NULL
 * when out of host memory.  Pointers to slots are invalidated by the next
 * insert or remove. */
struct obj *objtab_insert(struct objtab *t, uint64_t id);

/* Remove the object with id (must be present). */
void objtab_remove(struct objtab *t, uint64_t id);

/* Host bytes the table uses. */
uint64_t objtab_host_bytes(const struct objtab *t);

#endif
