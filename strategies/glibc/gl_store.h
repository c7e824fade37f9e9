/*
 * gl_store.h - host-side bookkeeping of the glibc model: chunk records,
 * the map from a user chunk's address to its record, and a cache of pages
 * the model knows to be resident.  Private to strategies/glibc.
 *
 * Every chunk of every arena (in use, in the tcache, in a fastbin, binned,
 * the top, fenceposts) and every mmapped chunk has one record.  Records are
 * numbered from 1 (0 is "none", glibc's NULL) and live in blocks of 4096
 * that never move, so a pointer to a record stays valid while others are
 * made.  The chunks of one heap segment are also linked in address order
 * (prev/next), which replaces glibc's size and prev_size arithmetic when
 * finding neighbours.  Bin headers are records too (state GL_HDR), so the
 * doubly linked bins are the same rings glibc keeps.
 *
 * Host memory comes from env->halloc only.  A failed host allocation is
 * detected before an operation changes anything (gl_store_reserve).
 */
#ifndef GL_STORE_H
#define GL_STORE_H

#include <stdint.h>
#include <string.h>

#include "strategy.h"

/* Record states. */
enum {
	GL_UNUSED = 0,   /* on the record free list */
	GL_USER,         /* in use: handed out, or glibc-internal in use */
	GL_TCACHE,       /* in a tcache bin (in use for the arena) */
	GL_FAST,         /* in a fastbin (in use physically, free for stats) */
	GL_BIN,          /* in the unsorted list or a small or large bin */
	GL_TOP,          /* an arena's top chunk */
	GL_FENCE,        /* a fencepost or an unusable old-top remnant */
	GL_MMAP,         /* an mmapped chunk */
	GL_BINHDR        /* a bin header (no memory) */
};

struct gl_rec {
	uint64_t addr;           /* chunk start (the prev_size word) */
	uint64_t size;           /* chunk size, flags apart */
	uint32_t prev, next;     /* physical neighbours in the segment */
	uint32_t fd, bk;         /* bin ring; fastbin and tcache use fd */
	uint32_t fdn, bkn;       /* large-bin size ring (group heads) */
	uint8_t st;              /* GL_* state */
	uint8_t bin;             /* GL_BIN: the bin it is in (1 = unsorted) */
	uint16_t arena;          /* owning arena */
	uint32_t spare;
};

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

#define GL_BLK_SHIFT 12
#define GL_BLK_RECS  (1u << GL_BLK_SHIFT)
#define GL_TC_SLOTS  1024u           /* resident-page cache entries */

struct gl_store {
	const struct strategy_env *env;
	struct gl_rec **blk;     /* record blocks */
	uint32_t nblk, cap_blk;
	uint32_t hw;             /* records handed out so far (ids < hw) */
	uint32_t free_head;      /* recycled records, linked by fd */
	uint32_t nfree;
	/* address -> record of chunks the program holds */
	struct gl_slot { uint64_t key; uint32_t id; uint32_t pad; } *slots;
	uint64_t nslots, nused;
	unsigned shift;          /* 64 - log2(nslots) */
	uint64_t host_bytes;
	/* resident-page cache: page number + 1, 0 = empty */
	uint64_t tc[GL_TC_SLOTS];
};

static inline struct gl_rec *gl_r(const struct gl_store *s, uint32_t id)
{
	return &s->blk[id >> GL_BLK_SHIFT][id & (GL_BLK_RECS - 1)];
}

/* ---- records ------------------------------------------------------------ */

static inline int gl_store_add_block(struct gl_store *s)
{
	if (s->nblk == s->cap_blk) {
		uint32_t ncap = s->cap_blk ? 2 * s->cap_blk : 16;
		struct gl_rec **nb = strat_hrealloc(s->env, s->blk,
						    s->cap_blk * sizeof *nb,
						    ncap * sizeof *nb);
		if (!nb)
			return 0;
		s->blk = nb;
		s->host_bytes += (ncap - s->cap_blk) * sizeof *nb;
		s->cap_blk = ncap;
	}
	struct gl_rec *b = strat_halloc(s->env, GL_BLK_RECS * sizeof *b);
	if (!b)
		return 0;
	memset(b, 0, GL_BLK_RECS * sizeof *b);
	s->blk[s->nblk++] = b;
	s->host_bytes += GL_BLK_RECS * sizeof *b;
	return 1;
}

/* Make sure n records can be made without a host allocation. */
static inline int gl_store_reserve_recs(struct gl_store *s, uint32_t n)
{
	while (s->nfree + ((uint64_t)s->nblk << GL_BLK_SHIFT) - s->hw < n)
		if (!gl_store_add_block(s))
			return 0;
	return 1;
}

/* A zeroed record (after gl_store_reserve_recs, never fails). */
static inline uint32_t gl_new(struct gl_store *s)
{
	uint32_t id;
	if (s->free_head) {
		id = s->free_head;
		s->free_head = gl_r(s, id)->fd;
		s->nfree--;
	} else {
		id = s->hw++;
	}
	struct gl_rec *r = gl_r(s, id);
	memset(r, 0, sizeof *r);
	return id;
}

/* n consecutive zeroed records (bin headers); 0 on host OOM. */
static inline uint32_t gl_new_run(struct gl_store *s, uint32_t n)
{
	while (((uint64_t)s->nblk << GL_BLK_SHIFT) - s->hw < n)
		if (!gl_store_add_block(s))
			return 0;
	uint32_t first = s->hw;
	s->hw += n;
	for (uint32_t i = 0; i < n; i++)
		memset(gl_r(s, first + i), 0, sizeof(struct gl_rec));
	return first;
}

static inline void gl_del(struct gl_store *s, uint32_t id)
{
	struct gl_rec *r = gl_r(s, id);
	r->st = GL_UNUSED;
	r->fd = s->free_head;
	s->free_head = id;
	s->nfree++;
}

/* ---- address map -------------------------------------------------------------- */

static inline uint64_t gl_hash(const struct gl_store *s, uint64_t key)
{
	return ((key >> 4) * UINT64_C(0x9E3779B97F4A7C15)) >> s->shift;
}

static inline int gl_map_grow(struct gl_store *s)
{
	uint64_t n = s->nslots ? 2 * s->nslots : 1024;
	struct gl_slot *ns = strat_halloc(s->env, n * sizeof *ns);
	if (!ns)
		return 0;
	memset(ns, 0, n * sizeof *ns);
	struct gl_slot *old = s->slots;
	uint64_t on = s->nslots;
	s->slots = ns;
	s->nslots = n;
	s->shift = 64 - (unsigned)__builtin_ctzll(n);
	for (uint64_t i = 0; i < on; i++) {
		if (!old[i].key)
			continue;
		uint64_t j = gl_hash(s, old[i].key);
		while (ns[j].key)
			j = (j + 1) & (n - 1);
		ns[j] = old[i];
	}
	strat_hfree(s->env, old, on * sizeof *old);
	s->host_bytes += (n - on) * sizeof *ns;
	return 1;
}

/* Room for n more entries at most half full. */
static inline int gl_map_reserve(struct gl_store *s, uint64_t n)
{
	while (2 * (s->nused + n) > s->nslots)
		if (!gl_map_grow(s))
			return 0;
	return 1;
}

static inline void gl_map_put(struct gl_store *s, uint64_t key, uint32_t id)
{
	uint64_t j = gl_hash(s, key), m = s->nslots - 1;
	while (s->slots[j].key)
		j = (j + 1) & m;
	s->slots[j].key = key;
	s->slots[j].id = id;
	s->nused++;
}

/* The record of key, removed from the map; 0 when absent. */
static inline uint32_t gl_map_take(struct gl_store *s, uint64_t key)
{
	if (!s->nslots)
		return 0;
	uint64_t j = gl_hash(s, key), m = s->nslots - 1;
	while (s->slots[j].key != key) {
		if (!s->slots[j].key)
			return 0;
		j = (j + 1) & m;
	}
	uint32_t id = s->slots[j].id;
	/* backward-shift deletion */
	uint64_t hole = j;
	for (uint64_t k = (j + 1) & m; s->slots[k].key; k = (k + 1) & m) {
		uint64_t home = gl_hash(s, s->slots[k].key);
		if (((k - home) & m) >= ((k - hole) & m)) {
			s->slots[hole] = s->slots[k];
			hole = k;
		}
	}
	s->slots[hole].key = 0;
	s->nused--;
	return id;
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
	s->hw = 1;                       /* record 0 is "none" */
	return gl_store_add_block(s) && gl_map_grow(s);
}

static inline void gl_store_fini(struct gl_store *s)
{
	for (uint32_t i = 0; i < s->nblk; i++)
		strat_hfree(s->env, s->blk[i], GL_BLK_RECS * sizeof(struct gl_rec));
	strat_hfree(s->env, s->blk, s->cap_blk * sizeof *s->blk);
	strat_hfree(s->env, s->slots, s->nslots * sizeof *s->slots);
	memset(s, 0, sizeof *s);
}

#endif
