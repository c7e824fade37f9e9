/*
 * gl_store.h - host-side bookkeeping of the glibc model: one record per
 * chunk not in use, in a hash table keyed by the chunk's address; two
 * small maps (footers, heaps); a cache of pages the model knows to be
 * resident.  Private to strategies/glibc.
 *
 * A chunk in use (handed out, or in a tcache) has no record, as it has
 * nothing in glibc but its size word: its size comes back with the free
 * (the engine passes the usable size the model reported), its arena from
 * its address (the heap it lies in, as glibc's heap_for_ptr finds it), and
 * whether the chunk before it is free from the footer map.  The chunks
 * with records are those glibc links or must find by address: binned
 * (unsorted, small, large), in a fastbin, the top, fenceposts, mmapped
 * chunks; bin headers have records too (under keys no chunk can have), so
 * the doubly linked bins are the same rings glibc keeps.  An operation
 * gives the chunk it works on a record (state GL_USER) for its length;
 * none is left between operations.  A program's live set thus costs the
 * model no host memory: only its free chunks do.
 *
 * The footer map is glibc's prev_size: for each binned chunk, its end
 * address -> its record, so that freeing the chunk after it finds it.
 *
 * A record's id is its slot number.  Ids stay valid until the table is
 * rehashed, which happens only when the model reserves room at the start
 * of an operation; the model then renumbers the ids it holds outside the
 * table.  The rehash grows the table in place, so the host never holds
 * an old and a new table at once.  Host memory comes from env->halloc
 * only, and a failed host allocation is seen before an operation changes
 * anything.
 */
#ifndef GL_STORE_H
#define GL_STORE_H

#include <stdint.h>
#include <string.h>

#include "strategy.h"

/* Record states. */
enum {
	GL_UNUSED = 0,   /* an empty or deleted slot */
	GL_USER,         /* in use, during the operation working on it */
	GL_FAST,         /* in a fastbin (in use physically, free for stats) */
	GL_BIN,          /* in the unsorted list or a small or large bin */
	GL_TOP,          /* an arena's top chunk */
	GL_FENCE,        /* a fencepost or an unusable old-top remnant */
	GL_MMAP,         /* an mmapped chunk */
	GL_BINHDR        /* a bin header (no memory) */
};

/* Set in st while a rehash has yet to move the record. */
#define GL_PENDING 0x80u

/* 36 bytes: packed to 4-byte alignment (the two 64-bit fields would pad
 * it to 40), one record per free chunk being most of the model's host
 * memory.  No field's address is ever taken.  A chunk's physical
 * neighbours are found by address: the next at addr + size, the previous
 * (when binned) through the footer map. */
struct __attribute__((packed, aligned(4))) gl_rec {
	uint64_t addr;           /* the key: chunk start (the prev_size word);
	                            0: empty slot, 1: deleted */
	uint64_t size;           /* chunk size, flags apart */
	uint8_t st;              /* GL_* state (| GL_PENDING in a rehash) */
	uint8_t bin;             /* GL_BIN: the bin it is in (1 = unsorted) */
	uint16_t arena;          /* owning arena */
	uint32_t fd, bk;         /* bin ring; fastbins use fd */
	uint32_t fdn, bkn;       /* large-bin size ring (group heads) */
};

_Static_assert(sizeof(struct gl_rec) == 36, "gl_rec is packed to 36 bytes");

/* An mmapped chunk keeps its offset from the mapping start (glibc's
 * prev_size) in the large-bin links, which it never uses. */
static inline uint64_t gl_lead(const struct gl_rec *r)
{
	return (uint64_t)r->fdn << 32 | r->bkn;
}

static inline void gl_set_lead(struct gl_rec *r, uint64_t lead)
{
	r->fdn = (uint32_t)(lead >> 32);
	r->bkn = (uint32_t)lead;
}

#define GL_TC_SLOTS  1024u           /* resident-page cache entries */
#define GL_DELETED   1u              /* key of a deleted slot */

/* The table: open addressing, linear probing, keyed by chunk address.  A
 * record's id is its slot, stable until the next rehash (gl_store_reserve
 * is the only place that rehashes; callers renumber their own ids).  Slot
 * 0 is a permanent "deleted" slot, so id 0 means none. */
struct gl_store {
	const struct strategy_env *env;
	struct gl_rec *tab;
	uint64_t cap, used, tombs;   /* slots; live records; deleted slots */
	uint64_t cap_inv;            /* ~2^64 / cap, for gl_home's remainder */
	uint64_t lim;                /* 3/4 of cap, see gl_store_full */
	/* resident-page cache: page number + 1, 0 = empty */
	uint64_t tc[GL_TC_SLOTS];
};

static inline struct gl_rec *gl_r(const struct gl_store *s, uint32_t id)
{
	return &s->tab[id];
}

/* The home slot of a chunk address: one slot per 8 bytes.  Inside one
 * 64 MiB region the slots follow the addresses (neighbours in memory are
 * a few slots apart, so splitting or coalescing stays in cache); each
 * region starts at a pseudo-random slot, so heaps and mappings far apart
 * do not pile up on the same slots.  A chunk is at least 32 bytes, so a
 * run of the smallest chunks fills at most every fourth slot: at one slot
 * per 32 bytes such runs filled every slot and merged into long probe
 * runs once the table was more than 5/8 full.  The capacity
 * grows by half, so it is no power of two: the 32-bit position is reduced
 * modulo cap by multiplying with cap_inv (exact for 32-bit operands, no
 * division on the hot path). */
static inline uint64_t gl_home(const struct gl_store *s, uint64_t key)
{
	uint64_t region = ((key >> 26) * UINT64_C(0x9E3779B97F4A7C15)) >> 32;
	uint32_t pos = (uint32_t)((key >> 3) + region);
	uint64_t low = s->cap_inv * pos;
	return (uint64_t)(((unsigned __int128)low * s->cap) >> 64);
}

/* The slot after j (the table is a ring). */
static inline uint64_t gl_next(const struct gl_store *s, uint64_t j)
{
	return j + 1 == s->cap ? 0 : j + 1;
}

/* Set the capacity (at most 2^32 - 1 slots: ids are 32-bit). */
static inline void gl_set_cap(struct gl_store *s, uint64_t cap)
{
	s->cap = cap;
	s->cap_inv = UINT64_MAX / cap + 1;
	s->lim = cap / 4 * 3;
}

/* The record whose chunk starts at key; 0 when there is none. */
static inline uint32_t gl_find(const struct gl_store *s, uint64_t key)
{
	uint64_t j = gl_home(s, key);
	for (;; j = gl_next(s, j)) {
		uint64_t k = s->tab[j].addr;
		if (k == key)
			return (uint32_t)j;
		if (k == 0)
			return 0;
	}
}

/* A zeroed record for a chunk at key (no chunk may start there yet).
 * Room must have been reserved. */
static inline uint32_t gl_new_at(struct gl_store *s, uint64_t key)
{
	uint64_t j = gl_home(s, key);
	while (s->tab[j].addr > GL_DELETED || j == 0)
		j = gl_next(s, j);
	if (s->tab[j].addr == GL_DELETED)
		s->tombs--;
	struct gl_rec *r = &s->tab[j];
	memset(r, 0, sizeof *r);
	r->addr = key;
	s->used++;
	return (uint32_t)j;
}

/* Delete record id.  The slot becomes a tombstone, unless the next slot
 * is empty: then it and the tombstones before it become empty again (no
 * probe can pass through them to reach a record). */
static inline void gl_del(struct gl_store *s, uint32_t id)
{
	uint64_t j = id;
	struct gl_rec *r = &s->tab[id];
	r->st = GL_UNUSED;
	s->used--;
	if (s->tab[gl_next(s, j)].addr != 0) {
		r->addr = GL_DELETED;
		s->tombs++;
		return;
	}
	r->addr = 0;
	for (j = j - 1; j != 0 && s->tab[j].addr == GL_DELETED; j--) {
		s->tab[j].addr = 0;
		s->tombs--;
	}
}

/* Place record *cur (old id *curid) during an in-place rehash: probe from
 * its home past placed records to the first empty or pending slot.  An
 * empty slot ends the move (1); a pending record there is swapped out into
 * *cur and *curid, to be placed next (0).  A placed record never passes a
 * pending one, so taking a pending record out of its slot leaves no gap
 * in any placed record's probe run. */
static inline int gl_place(struct gl_store *s, struct gl_rec *cur,
			   uint32_t *curid, uint32_t *map)
{
	uint64_t j = gl_home(s, cur->addr);
	while (j == 0 || (s->tab[j].addr > GL_DELETED &&
			  !(s->tab[j].st & GL_PENDING)))
		j = gl_next(s, j);
	struct gl_rec *t = &s->tab[j];
	map[*curid] = (uint32_t)j;
	cur->st &= ~GL_PENDING;
	if (t->addr == 0) {
		*t = *cur;
		return 1;
	}
	struct gl_rec evicted = *t;
	*t = *cur;
	*cur = evicted;
	*curid = (uint32_t)j;
	return 0;
}

/* Grow the table to ncap slots in place (the host realloc extends it, so
 * the old and the new table are never both resident) and move every
 * record to its slot under the new capacity.  *map (ocap entries, free it
 * with gl_store_free_map) then maps each old id to its new one, 0 for
 * none, for the caller to renumber the ids it keeps; the links inside the
 * table are renumbered here.  0 on host OOM (nothing changed). */
static inline int gl_store_rehash(struct gl_store *s, uint64_t ncap,
				  uint32_t **map, uint64_t *ocap)
{
	uint64_t on = s->cap;
	if (ncap > UINT32_MAX)
		return 0;
	uint32_t *mp = strat_halloc(s->env, on * sizeof *mp);
	if (!mp)
		return 0;
	struct gl_rec *t = strat_hrealloc(s->env, s->tab, on * sizeof *t,
					  ncap * sizeof *t);
	if (!t) {
		strat_hfree(s->env, mp, on * sizeof *mp);
		return 0;
	}
	memset(t + on, 0, (ncap - on) * sizeof *t);
	memset(mp, 0, on * sizeof *mp);
	s->tab = t;
	gl_set_cap(s, ncap);
	s->tombs = 0;
	/* tombstones go; records are marked pending */
	for (uint64_t i = 1; i < on; i++) {
		if (t[i].addr == GL_DELETED)
			t[i].addr = 0;
		else if (t[i].addr > GL_DELETED)
			t[i].st |= GL_PENDING;
	}
	for (uint64_t i = 1; i < on; i++) {
		if (t[i].addr <= GL_DELETED || !(t[i].st & GL_PENDING))
			continue;
		struct gl_rec cur = t[i];
		uint32_t curid = (uint32_t)i;
		t[i].addr = 0;
		while (!gl_place(s, &cur, &curid, mp))
			;
	}
	for (uint64_t i = 1; i < ncap; i++) {
		struct gl_rec *r = &t[i];
		if (r->addr <= GL_DELETED)
			continue;
		r->fd = mp[r->fd];
		r->bk = mp[r->bk];
		if (r->st != GL_MMAP) {          /* there they hold the lead */
			r->fdn = mp[r->fdn];
			r->bkn = mp[r->bkn];
		}
	}
	*map = mp;
	*ocap = on;
	return 1;
}

static inline void gl_store_free_map(struct gl_store *s, uint32_t *map,
				     uint64_t n)
{
	strat_hfree(s->env, map, n * sizeof *map);
}

static inline void gl_store_free_tab(struct gl_store *s, struct gl_rec *t,
				     uint64_t n)
{
	strat_hfree(s->env, t, n * sizeof *t);
}

/* Does the table need a rehash before n more records are made?  Records
 * and deleted slots together may fill 3/4 of it: most probes are for
 * chunks in use, which have no record, and such a probe runs to the next
 * empty slot. */
static inline int gl_store_full(const struct gl_store *s, uint64_t n)
{
	return s->used + s->tombs + n >= s->lim;
}

/* The capacity a rehash should use for n more records: the same (only
 * deleted slots go) while the records fill at most 3/5 of it, else grown
 * by half until they do (a table grown at 3/4 is then half full). */
static inline uint64_t gl_store_want(const struct gl_store *s, uint64_t n)
{
	uint64_t c = s->cap;
	while (5 * (s->used + n + 1) > 3 * c)
		c += c / 2;
	return c;
}

/* ---- a map of nonzero 64-bit keys: footers and heaps --------------------- */

/* Open addressing with linear probing, at most 3/4 full, power-of-two
 * capacity; a deletion shifts the run after it back, so there are no
 * tombstones and a probe ends at the first empty slot. */
struct gl_kv {
	uint64_t key, val;               /* key 0: empty */
};

struct gl_map {
	struct gl_kv *t;
	uint64_t cap, n, lim;            /* lim: 3/4 of cap */
	unsigned shift;                  /* 64 - log2(cap) */
};

static inline uint64_t gl_map_home(const struct gl_map *m, uint64_t key)
{
	return (key * UINT64_C(0x9E3779B97F4A7C15)) >> m->shift;
}

/* The entry of key, or NULL. */
static inline struct gl_kv *gl_map_find(const struct gl_map *m, uint64_t key)
{
	if (!m->n)
		return NULL;
	for (uint64_t j = gl_map_home(m, key);; j = (j + 1) & (m->cap - 1)) {
		if (m->t[j].key == key)
			return &m->t[j];
		if (m->t[j].key == 0)
			return NULL;
	}
}

/* Add key -> val (key absent; room made by gl_map_room). */
static inline void gl_map_put(struct gl_map *m, uint64_t key, uint64_t val)
{
	uint64_t j = gl_map_home(m, key);
	while (m->t[j].key)
		j = (j + 1) & (m->cap - 1);
	m->t[j].key = key;
	m->t[j].val = val;
	m->n++;
}

/* Remove entry e.  The entries after it in its run move back into the
 * hole when their home does not lie cyclically in (hole, their slot]. */
static inline void gl_map_del(struct gl_map *m, struct gl_kv *e)
{
	uint64_t mask = m->cap - 1, hole = (uint64_t)(e - m->t);
	for (uint64_t j = (hole + 1) & mask; m->t[j].key; j = (j + 1) & mask) {
		uint64_t home = gl_map_home(m, m->t[j].key);
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			m->t[hole] = m->t[j];
			hole = j;
		}
	}
	m->t[hole].key = 0;
	m->n--;
}

/* Room for n more entries, the capacity doubled as needed.  0 on host
 * OOM (nothing changed). */
static inline int gl_map_room(struct gl_map *m, const struct strategy_env *env,
			      uint64_t n)
{
	if (m->n + n <= m->lim)
		return 1;
	uint64_t cap = m->cap ? m->cap : 64;
	unsigned shift = m->cap ? m->shift : 58;
	while (4 * (m->n + n) > 3 * cap) {
		cap *= 2;
		shift--;
	}
	struct gl_kv *t = strat_halloc(env, cap * sizeof *t);
	if (!t)
		return 0;
	memset(t, 0, cap * sizeof *t);
	struct gl_map old = *m;
	m->t = t;
	m->cap = cap;
	m->lim = cap / 4 * 3;
	m->shift = shift;
	m->n = 0;
	for (uint64_t i = 0; i < old.cap; i++)
		if (old.t[i].key)
			gl_map_put(m, old.t[i].key, old.t[i].val);
	strat_hfree(env, old.t, old.cap * sizeof *old.t);
	return 1;
}

static inline void gl_map_fini(struct gl_map *m, const struct strategy_env *env)
{
	strat_hfree(env, m->t, m->cap * sizeof *m->t);
	memset(m, 0, sizeof *m);
}

/* ---- resident pages ------------------------------------------------------ */

/* The allocator writes [addr, addr+len): pages become resident.  A write
 * inside one page already known resident costs nothing. */
static inline void gl_write(struct gl_store *s, struct simos *os, uint64_t addr,
			    uint64_t len, struct sim_err *err, int *fault)
{
	uint64_t pg = addr >> SIMOS_PAGE_SHIFT;
	if (((addr + len - 1) >> SIMOS_PAGE_SHIFT) == pg) {
		uint64_t *c = &s->tc[pg & (GL_TC_SLOTS - 1)];
		if (*c == pg + 1)
			return;
		*c = pg + 1;
	}
	if (simos_touch(os, addr, len, err) == SIM_ECHECK)
		*fault = 1;
}

/* Pages of [addr, addr+len) may have stopped being resident. */
static inline void gl_forget(struct gl_store *s, uint64_t addr, uint64_t len)
{
	uint64_t first = addr >> SIMOS_PAGE_SHIFT;
	uint64_t n = (len + SIMOS_PAGE_SIZE - 1) >> SIMOS_PAGE_SHIFT;
	if (n >= GL_TC_SLOTS) {
		memset(s->tc, 0, sizeof s->tc);
		return;
	}
	for (uint64_t p = first; p < first + n; p++)
		if (s->tc[p & (GL_TC_SLOTS - 1)] == p + 1)
			s->tc[p & (GL_TC_SLOTS - 1)] = 0;
}

/* ---- setup and teardown ------------------------------------------------------ */

static inline int gl_store_init(struct gl_store *s, const struct strategy_env *env)
{
	memset(s, 0, sizeof *s);
	s->env = env;
	gl_set_cap(s, 1024);
	s->tab = strat_halloc(env, s->cap * sizeof *s->tab);
	if (!s->tab)
		return 0;
	memset(s->tab, 0, s->cap * sizeof *s->tab);
	s->tab[0].addr = GL_DELETED;
	return 1;
}

static inline void gl_store_fini(struct gl_store *s)
{
	if (s->tab)
		gl_store_free_tab(s, s->tab, s->cap);
	memset(s, 0, sizeof *s);
}

#endif
