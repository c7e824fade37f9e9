/*
 * gl_core.h - the arena-level half of the glibc model, private to
 * strategies/glibc (included by glibc.c only): the model's state, chunks
 * and their physical neighbours, the bins, tcache and fastbins,
 * coalescing and malloc_consolidate, the simulated OS calls, mmapped
 * chunks, non-main heaps, systrim and heap_trim, _int_free, sysmalloc and
 * _int_malloc.  glibc.c has the rest (arenas, threads, the public
 * functions, the strategy operations) and the theory; section numbers are
 * glibc-malloc.md's.
 */
#ifndef GL_CORE_H
#define GL_CORE_H

#include <string.h>

#include "strategy.h"
#include "gl_sizes.h"
#include "gl_store.h"

#define GL_NONE     UINT32_MAX
#define GL_FAIL     UINT64_MAX       /* MORECORE_FAILURE / MAP_FAILED */
#define GL_LOCK_CTR 16               /* per-arena lock counters reported */

/* A main-arena segment (brk region or mmap fallback) or a non-main heap. */
struct gl_heap {
	uint64_t base, size, mprotect_size;
	uint64_t tail;                   /* once closed by fenceposts: the
	                                    chunk before the last one */
};

struct gl_arena {
	uint32_t idx;
	uint32_t top;                    /* 0 before the first sysmalloc */
	uint32_t bins[GL_NBINS];         /* bin headers (records) */
	uint32_t fast[GL_NFASTBINS];
	uint32_t next;                   /* ring of arenas (index) */
	int have_fast, noncontig;
	uint64_t last_remainder;         /* an address, as glibc compares it */
	uint64_t system_mem, max_system_mem;
	uint64_t nonempty[2];            /* bit i: bin i holds a chunk */
	uint64_t nfast, fast_bytes, nbin, bin_bytes;
	struct gl_heap *heaps;           /* oldest first */
	uint32_t nheaps, cap_heaps;
	uint64_t locks;
};

struct gl_thread {
	uint32_t arena;                  /* thread_arena; GL_NONE: not chosen */
	int has_tcache;
	uint16_t counts[GL_TCACHE_BINS];
	uint16_t cap[GL_TCACHE_BINS];
	uint64_t *ent[GL_TCACHE_BINS];   /* chunk addresses, LIFO at the end:
	                                    in use to the arena, no record */
};

struct gl {
	const struct strategy_env *env;
	struct simos *os;
	struct gl_store s;
	struct gl_map foot;              /* binned chunk's end -> its record */
	struct gl_map heapmap;           /* non-main heap (base / HEAP_MAX + 1)
	                                    -> its arena */
	/* tunables (mp_) */
	uint64_t tcache_count, tcache_bins, unsorted_limit, max_fast;
	uint64_t mmap_threshold, trim_threshold, top_pad, n_mmaps_max;
	uint64_t arena_max, arena_test, cores;
	int no_dyn_threshold;
	/* process-wide state */
	uint64_t n_mmaps, mmapped_mem, max_n_mmaps, max_mmapped_mem;
	uint64_t sbrk_base, narenas_limit, aligned_heap_area;
	struct gl_arena **ar;
	uint32_t narenas, cap_ar, next_to_use;
	struct gl_thread **th;           /* by tid, for tids below GL_TID_DIRECT */
	uint32_t nth, first_tid;
	struct gl_thread **all;          /* every thread, in order of arrival */
	uint32_t nall, cap_all;
	struct gl_tid { uint32_t tid, idx; } *tids;   /* larger tids -> all[] */
	uint32_t ntids, cap_tids;
	int any_thread, multi;
	/* counters */
	uint64_t hits, misses, locks, ntcache, consolidations, trims;
	uint64_t nfast_all;              /* chunks in fastbins, all arenas */
	uint64_t extra_heaps;
	struct sim_err err;              /* scratch for simos_touch */
	int fault;                       /* a write hit unmapped memory */
};

#define REC(g, id) gl_r(&(g)->s, (id))

/* ---- writes to simulated memory (RSS, section 13) ----------------------- */

static void wr(struct gl *g, uint64_t addr, uint64_t len)
{
	gl_write(&g->s, g->os, addr, len, &g->err, &g->fault);
}

static void w_head(struct gl *g, uint64_t p)
{
	wr(g, p + 8, 8);
}

static void w_foot(struct gl *g, uint64_t p, uint64_t size)
{
	wr(g, p + size, 8);
}

/* ---- locks ------------------------------------------------------------- */

static void lock(struct gl *g, struct gl_arena *av)
{
	av->locks++;
	g->locks++;
}

/* ---- physical neighbours ------------------------------------------------ */

/* Split the chunk id at offset nb; the upper part gets a new record. */
static uint32_t split_at(struct gl *g, uint32_t id, uint64_t nb)
{
	uint32_t n = gl_new_at(&g->s, REC(g, id)->addr + nb);
	struct gl_rec *p = REC(g, id), *q = REC(g, n);
	q->size = p->size - nb;
	p->size = nb;
	q->arena = p->arena;
	return n;
}

/* Merge chunk n, the one right after id, into id. */
static void absorb(struct gl *g, uint32_t id, uint32_t n)
{
	REC(g, id)->size += REC(g, n)->size;
	gl_del(&g->s, n);
}

/* The chunk of record id now starts at addr: it moves to a new record,
 * whose id is returned (only the top and mmapped chunks move). */
static uint32_t rekey(struct gl *g, uint32_t id, uint64_t addr)
{
	uint32_t n = gl_new_at(&g->s, addr);
	struct gl_rec *r = REC(g, n);
	*r = *REC(g, id);
	r->addr = addr;
	gl_del(&g->s, id);
	return n;
}

/* The binned chunk ending at addr, 0 when there is none: the chunk at
 * addr has PREV_INUSE clear and this is its prev_size. */
static uint32_t prev_bin(const struct gl *g, uint64_t addr)
{
	const struct gl_kv *e = gl_map_find(&g->foot, addr);
	return e ? (uint32_t)e->val : 0;
}

/* The arena of a chunk at addr, as arena_for_chunk finds it: a non-main
 * heap is aligned to HEAP_MAX and its whole reservation is its own. */
static uint32_t arena_at(const struct gl *g, uint64_t addr)
{
	const struct gl_kv *e = gl_map_find(&g->heapmap, addr / GL_HEAP_MAX + 1);
	return e ? (uint32_t)e->val : 0;
}

/* A record for the chunk in use at addr (size bytes), for the operation
 * about to work on it. */
static uint32_t user_rec(struct gl *g, uint64_t addr, uint64_t size)
{
	uint32_t id = gl_new_at(&g->s, addr);
	struct gl_rec *r = REC(g, id);
	r->size = size;
	r->st = GL_USER;
	r->arena = (uint16_t)arena_at(g, addr);
	return id;
}

/* The operation is done with chunk id: a chunk in use keeps no record. */
static void drop_user(struct gl *g, uint32_t id)
{
	if (REC(g, id)->st == GL_USER)
		gl_del(&g->s, id);
}

/* ---- bins (4.3 - 4.6) ------------------------------------------------------- */

static uint32_t hdr(const struct gl_arena *av, unsigned bin)
{
	return av->bins[bin];
}

static int bin_empty(struct gl *g, const struct gl_arena *av, unsigned bin)
{
	return REC(g, hdr(av, bin))->fd == hdr(av, bin);
}

static void mark_bin(struct gl_arena *av, unsigned bin)
{
	av->nonempty[bin >> 6] |= UINT64_C(1) << (bin & 63);
}

static void unmark_bin(struct gl_arena *av, unsigned bin)
{
	av->nonempty[bin >> 6] &= ~(UINT64_C(1) << (bin & 63));
}

/* Link v between b (its bk side) and f (its fd side). */
static void ring_link(struct gl *g, uint32_t b, uint32_t v, uint32_t f)
{
	struct gl_rec *r = REC(g, v);
	r->bk = b;
	r->fd = f;
	REC(g, b)->fd = v;
	REC(g, f)->bk = v;
	wr(g, r->addr + 16, 16);
}

/* Binned chunk r leaves the bins: the chunk after it no longer has its
 * prev_size. */
static void drop_footer(struct gl *g, const struct gl_rec *r)
{
	gl_map_del(&g->foot, gl_map_find(&g->foot, r->addr + r->size));
}

/* unlink_chunk: take a binned chunk out of its list. */
static void bin_unlink(struct gl *g, struct gl_arena *av, uint32_t v)
{
	struct gl_rec *r = REC(g, v);
	uint32_t f = r->fd, b = r->bk;
	struct gl_rec *fr = REC(g, f);
	fr->bk = b;
	REC(g, b)->fd = f;
	if (!gl_in_smallbin_range(r->size) && r->fdn) {
		if (fr->fdn == 0) {          /* f follows v in its size group */
			if (r->fdn == v) {
				fr->fdn = fr->bkn = f;
			} else {
				fr->fdn = r->fdn;
				fr->bkn = r->bkn;
				REC(g, r->fdn)->bkn = f;
				REC(g, r->bkn)->fdn = f;
			}
		} else {
			REC(g, r->fdn)->bkn = r->bkn;
			REC(g, r->bkn)->fdn = r->fdn;
		}
	}
	drop_footer(g, r);
	av->nbin--;
	av->bin_bytes -= r->size;
	if (r->bin >= 2 && bin_empty(g, av, r->bin))
		unmark_bin(av, r->bin);
}

/* Put v at the head of the unsorted list (free, consolidate, remainders). */
static void unsorted_push(struct gl *g, struct gl_arena *av, uint32_t v)
{
	uint32_t h = hdr(av, 1);
	struct gl_rec *r = REC(g, v);
	ring_link(g, h, v, REC(g, h)->fd);
	r->st = GL_BIN;
	r->bin = 1;
	if (!gl_in_smallbin_range(r->size))
		r->fdn = r->bkn = 0;
	gl_map_put(&g->foot, r->addr + r->size, v);
	av->nbin++;
	av->bin_bytes += r->size;
}

/* Sort v (just taken off the unsorted list) into its small or large bin. */
static void bin_place(struct gl *g, struct gl_arena *av, uint32_t v)
{
	struct gl_rec *r = REC(g, v);
	uint64_t size = r->size;
	unsigned bin = gl_bin_index(size);
	uint32_t h = hdr(av, bin), b = h, f = REC(g, h)->fd;
	if (!gl_in_smallbin_range(size)) {
		if (f == h) {
			r->fdn = r->bkn = v;
		} else if (size < REC(g, REC(g, h)->bk)->size) {
			/* smaller than all: the tail, a new size group */
			uint32_t first = f;
			f = h;
			b = REC(g, h)->bk;
			r->fdn = first;
			r->bkn = REC(g, first)->bkn;
			REC(g, first)->bkn = v;
			REC(g, r->bkn)->fdn = v;
		} else {
			while (size < REC(g, f)->size)
				f = REC(g, f)->fdn;
			if (size == REC(g, f)->size) {
				f = REC(g, f)->fd;       /* second in its group */
			} else {
				r->fdn = f;
				r->bkn = REC(g, f)->bkn;
				REC(g, f)->bkn = v;
				REC(g, r->bkn)->fdn = v;
			}
			b = REC(g, f)->bk;
		}
		if (r->fdn)
			wr(g, r->addr + 32, 16);   /* fd_nextsize, bk_nextsize */
	}
	ring_link(g, b, v, f);
	r->bin = (uint8_t)bin;
	mark_bin(av, bin);
}

/* ---- tcache and fastbins ------------------------------------------------------ */

/* Room in tcache bin tc for one more chunk (its array grows on demand;
 * a host allocation failure counts as a full bin). */
static int tc_room(struct gl *g, struct gl_thread *t, uint64_t tc)
{
	uint32_t n = t->counts[tc];
	if (n >= g->tcache_count)
		return 0;
	if (n < t->cap[tc])
		return 1;
	uint32_t ncap = t->cap[tc] ? 2u * t->cap[tc] : 8u;
	if (ncap > g->tcache_count)
		ncap = (uint32_t)g->tcache_count;
	uint64_t *e = strat_hrealloc(g->env, t->ent[tc], t->cap[tc] * sizeof *e,
				     ncap * sizeof *e);
	if (!e)
		return 0;
	t->ent[tc] = e;
	t->cap[tc] = (uint16_t)ncap;
	return 1;
}

/* tcache_put, after tc_room: the chunk is in use to its arena, so its
 * record goes. */
static void tcache_put(struct gl *g, struct gl_thread *t, uint32_t id,
		       uint64_t tc)
{
	uint64_t addr = REC(g, id)->addr;
	t->ent[tc][t->counts[tc]++] = addr;
	gl_del(&g->s, id);
	wr(g, addr + 16, 16);            /* next and key */
}

/* The size of the chunks in tcache bin tc (tidx2usize + SIZE_SZ). */
static uint64_t tc_size(uint64_t tc)
{
	return GL_MINSIZE + GL_ALIGN * tc;
}

/* tcache_get, for an operation that works on the chunk (a record). */
static uint32_t tcache_get(struct gl *g, struct gl_thread *t, uint64_t tc)
{
	uint64_t addr = t->ent[tc][--t->counts[tc]];
	wr(g, addr + 24, 8);             /* key = 0 */
	return user_rec(g, addr, tc_size(tc));
}

/* The tcache bin of chunk size csize, or GL_NONE when t has no room for it. */
static uint64_t tc_bin(const struct gl *g, const struct gl_thread *t,
		       uint64_t csize)
{
	uint64_t tc = gl_tidx(csize);
	return t && t->has_tcache && tc < g->tcache_bins ? tc : GL_NONE;
}

static void fast_push(struct gl *g, struct gl_arena *av, uint32_t id)
{
	struct gl_rec *r = REC(g, id);
	unsigned i = gl_fastbin_index(r->size);
	r->st = GL_FAST;
	r->fd = av->fast[i];
	av->fast[i] = id;
	av->have_fast = 1;
	av->nfast++;
	g->nfast_all++;
	av->fast_bytes += r->size;
	wr(g, r->addr + 16, 8);
}

static uint32_t fast_pop(struct gl *g, struct gl_arena *av, unsigned i)
{
	uint32_t id = av->fast[i];
	struct gl_rec *r = REC(g, id);
	av->fast[i] = r->fd;
	av->nfast--;
	g->nfast_all--;
	av->fast_bytes -= r->size;
	r->st = GL_USER;
	return id;
}

/* ---- coalescing and consolidation (8, 8.1) ---------------------------------- */

/* Merge chunk id (in no list) with its free neighbours, then put it at the
 * head of the unsorted list or make it the top.  Returns the merged size
 * (the new top's size when it merged into the top). */
static uint64_t coalesce(struct gl *g, struct gl_arena *av, uint32_t id)
{
	struct gl_rec *p = REC(g, id);
	uint32_t q = prev_bin(g, p->addr);
	if (q) {
		bin_unlink(g, av, q);
		absorb(g, q, id);
		id = q;
		p = REC(g, id);
	}
	uint64_t next = p->addr + p->size;
	uint32_t n = gl_find(&g->s, next);   /* 0: a chunk in use */
	if (n != av->top) {
		if (n && REC(g, n)->st == GL_BIN) {
			bin_unlink(g, av, n);
			absorb(g, id, n);
		} else {
			w_head(g, next);         /* clear its PREV_INUSE */
		}
		unsorted_push(g, av, id);
		w_head(g, p->addr);
		w_foot(g, p->addr, p->size);
		return p->size;
	}
	absorb(g, id, n);
	av->top = id;
	p->st = GL_TOP;
	w_head(g, p->addr);
	return p->size;
}

/* malloc_consolidate: every fastbin, index 0 first, each from its head. */
static void consolidate(struct gl *g, struct gl_arena *av)
{
	av->have_fast = 0;
	g->consolidations++;
	for (unsigned i = 0; i < GL_NFASTBINS; i++) {
		uint32_t id = av->fast[i];
		av->fast[i] = 0;
		while (id) {
			struct gl_rec *r = REC(g, id);
			uint32_t next = r->fd;
			av->nfast--;
			g->nfast_all--;
			av->fast_bytes -= r->size;
			r->st = GL_USER;
			coalesce(g, av, id);
			id = next;
		}
	}
}

/* ---- the operating system ------------------------------------------------- */

static uint64_t os_sbrk(struct gl *g, int64_t incr)
{
	uint64_t old;
	if (incr == 0)
		return simos_brk_current(g->os);
	if (simos_sbrk(g->os, incr, &old) != SIM_OK)
		return GL_FAIL;
	return old;
}

static uint64_t os_mmap(struct gl *g, uint64_t hint, uint64_t len, int prot)
{
	uint64_t a;
	return simos_mmap(g->os, hint, len, prot, 0, &a) == SIM_OK ? a : GL_FAIL;
}

static void os_munmap(struct gl *g, uint64_t addr, uint64_t len)
{
	simos_munmap(g->os, addr, len);
	gl_forget(&g->s, addr, len);
}

/* ---- mmapped chunks (7.1, 8, 10.1) ---------------------------------------- */

static uint32_t mmap_chunk(struct gl *g, uint64_t nb)
{
	uint64_t size = gl_mmap_size(nb);
	if (size <= nb)
		return 0;
	uint64_t mm = os_mmap(g, 0, size, SIMOS_PROT_RW);
	if (mm == GL_FAIL)
		return 0;
	uint32_t id = gl_new_at(&g->s, mm);
	struct gl_rec *r = REC(g, id);
	r->size = size;
	r->st = GL_MMAP;
	wr(g, mm, 16);
	g->n_mmaps++;
	if (g->n_mmaps > g->max_n_mmaps)
		g->max_n_mmaps = g->n_mmaps;
	g->mmapped_mem += size;
	if (g->mmapped_mem > g->max_mmapped_mem)
		g->max_mmapped_mem = g->mmapped_mem;
	return id;
}

static void munmap_chunk(struct gl *g, uint32_t id)
{
	struct gl_rec *r = REC(g, id);
	uint64_t lead = gl_lead(r), total = lead + r->size;
	g->n_mmaps--;
	g->mmapped_mem -= total;
	os_munmap(g, r->addr - lead, total);
	gl_del(&g->s, id);
}

/* mremap_chunk: resize in place or by moving; 0 when mremap fails. */
static uint32_t mremap_chunk(struct gl *g, uint32_t id, uint64_t nb)
{
	struct gl_rec *r = REC(g, id);
	uint64_t lead = gl_lead(r), block = r->addr - lead;
	uint64_t total = lead + r->size;
	uint64_t nsize = gl_align_up(nb + lead + GL_SIZE_SZ, GL_PAGE), cp;
	if (nsize == total)
		return id;
	if (simos_mremap(g->os, block, total, nsize, 1, &cp) != SIM_OK)
		return 0;
	gl_forget(&g->s, block, total);
	if (cp != block)
		id = rekey(g, id, cp + lead);
	r = REC(g, id);
	r->size = nsize - lead;
	g->mmapped_mem = g->mmapped_mem - total + nsize;
	if (g->mmapped_mem > g->max_mmapped_mem)
		g->max_mmapped_mem = g->mmapped_mem;
	w_head(g, r->addr);
	return id;
}

/* ---- heaps of non-main arenas (7.3, 9.2) ------------------------------------ */

static int heaps_room(struct gl *g, struct gl_arena *av)
{
	if (av->nheaps < av->cap_heaps)
		return 1;
	uint32_t n = av->cap_heaps ? 2 * av->cap_heaps : 4;
	struct gl_heap *h = strat_hrealloc(g->env, av->heaps,
					   av->cap_heaps * sizeof *h,
					   n * sizeof *h);
	if (!h)
		return 0;
	av->heaps = h;
	av->cap_heaps = n;
	return 1;
}

/* Room for one more heap of a non-main arena: in its list and the heap
 * map.  0 on host OOM. */
static int heap_room(struct gl *g, struct gl_arena *av)
{
	return heaps_room(g, av) && gl_map_room(&g->heapmap, g->env, 1);
}

/* A new heap of non-main arena av, found by the addresses in it. */
static void add_heap(struct gl *g, struct gl_arena *av, const struct gl_heap *h)
{
	av->heaps[av->nheaps++] = *h;
	gl_map_put(&g->heapmap, h->base / GL_HEAP_MAX + 1, av->idx);
}

/* new_heap: a 64 MiB-aligned reservation with size bytes read/write.
 * Returns 1 and *h, or 0. */
static int new_heap(struct gl *g, uint64_t size, uint64_t top_pad,
		    struct gl_heap *h)
{
	const uint64_t max = GL_HEAP_MAX;
	if (size + top_pad < GL_HEAP_MIN)
		size = GL_HEAP_MIN;
	else if (size + top_pad <= max)
		size += top_pad;
	else if (size > max)
		return 0;
	else
		size = max;
	size = gl_align_up(size, GL_PAGE);
	uint64_t p2 = GL_FAIL;
	if (g->aligned_heap_area) {
		p2 = os_mmap(g, g->aligned_heap_area, max, SIMOS_PROT_NONE);
		g->aligned_heap_area = 0;
		if (p2 != GL_FAIL && (p2 & (max - 1))) {
			os_munmap(g, p2, max);
			p2 = GL_FAIL;
		}
	}
	if (p2 == GL_FAIL) {
		uint64_t p1 = os_mmap(g, 0, max << 1, SIMOS_PROT_NONE);
		if (p1 != GL_FAIL) {
			p2 = gl_align_up(p1, max);
			uint64_t ul = p2 - p1;
			if (ul)
				os_munmap(g, p1, ul);
			else
				g->aligned_heap_area = p2 + max;
			os_munmap(g, p2 + max, max - ul);
		} else {
			p2 = os_mmap(g, 0, max, SIMOS_PROT_NONE);
			if (p2 == GL_FAIL)
				return 0;
			if (p2 & (max - 1)) {
				os_munmap(g, p2, max);
				return 0;
			}
		}
	}
	if (simos_mprotect(g->os, p2, size, SIMOS_PROT_RW) != SIM_OK) {
		os_munmap(g, p2, max);
		return 0;
	}
	h->base = p2;
	h->size = h->mprotect_size = size;
	h->tail = 0;
	wr(g, p2, GL_HEAP_INFO);
	return 1;
}

static int grow_heap(struct gl *g, struct gl_heap *h, uint64_t diff)
{
	diff = gl_align_up(diff, GL_PAGE);
	uint64_t nsize = h->size + diff;
	if (nsize > GL_HEAP_MAX)
		return -1;
	if (nsize > h->mprotect_size) {
		if (simos_mprotect(g->os, h->base + h->mprotect_size,
				   nsize - h->mprotect_size, SIMOS_PROT_RW) != SIM_OK)
			return -2;
		h->mprotect_size = nsize;
	}
	h->size = nsize;
	return 0;
}

/* shrink_heap with overcommit_memory != 2: MADV_DONTNEED, mapping kept. */
static int shrink_heap(struct gl *g, struct gl_heap *h, uint64_t diff)
{
	if (h->size < diff || h->size - diff < GL_HEAP_INFO)
		return -1;
	uint64_t nsize = h->size - diff;
	simos_madvise_dontneed(g->os, h->base + nsize, diff);
	gl_forget(&g->s, h->base + nsize, diff);
	h->size = nsize;
	return 0;
}

/* heap_trim: delete wholly free newest heaps, then trim the top's heap. */
static int heap_trim(struct gl *g, struct gl_arena *av, uint64_t pad)
{
	uint32_t hi = av->nheaps - 1;
	while (hi > 0 && REC(g, av->top)->addr == av->heaps[hi].base + GL_HEAP_INFO) {
		struct gl_heap *prev = &av->heaps[hi - 1];
		/* before the fencepost at the end of the previous heap: the
		 * 16-byte fencepost or the small old-top remnant */
		uint32_t p = gl_find(&g->s, prev->tail);
		struct gl_rec *pr = REC(g, p);
		uint64_t nsize = pr->size + (GL_MINSIZE - 2 * GL_SIZE_SZ);
		uint32_t q = prev_bin(g, pr->addr);
		if (q)
			nsize += REC(g, q)->size;
		if (nsize + (GL_HEAP_MAX - prev->size) < pad + GL_MINSIZE + GL_PAGE)
			break;
		av->system_mem -= av->heaps[hi].size;
		gl_del(&g->s, av->top);
		gl_map_del(&g->heapmap, gl_map_find(&g->heapmap,
			   av->heaps[hi].base / GL_HEAP_MAX + 1));
		os_munmap(g, av->heaps[hi].base, GL_HEAP_MAX);
		av->nheaps--;
		g->extra_heaps--;
		if (q) {
			p = q;
			bin_unlink(g, av, p);
		}
		uint64_t end = prev->base + prev->size;
		for (uint64_t a; (a = REC(g, p)->addr + REC(g, p)->size) < end;)
			absorb(g, p, gl_find(&g->s, a));
		prev->tail = 0;
		pr = REC(g, p);
		pr->size = nsize;
		pr->st = GL_TOP;
		av->top = p;
		w_head(g, pr->addr);
		hi--;
	}
	struct gl_rec *t = REC(g, av->top);
	uint64_t top_size = t->size;
	if (top_size < g->trim_threshold)
		return 0;
	int64_t top_area = (int64_t)top_size - GL_MINSIZE - 1;
	if (top_area < 0 || (uint64_t)top_area <= pad)
		return 0;
	uint64_t extra = gl_align_down((uint64_t)top_area - pad, GL_PAGE);
	if (extra == 0 || shrink_heap(g, &av->heaps[hi], extra) != 0)
		return 0;
	av->system_mem -= extra;
	t->size -= extra;
	g->trims++;
	return 1;
}

/* ---- systrim (9.1) ----------------------------------------------------------- */

static int systrim(struct gl *g, uint64_t pad, struct gl_arena *av)
{
	struct gl_rec *t = REC(g, av->top);
	uint64_t top_size = t->size;
	int64_t top_area = (int64_t)top_size - GL_MINSIZE - 1;
	if (top_area <= (int64_t)pad)
		return 0;
	uint64_t extra = gl_align_down((uint64_t)top_area - pad, GL_PAGE);
	if (extra == 0)
		return 0;
	uint64_t cur = os_sbrk(g, 0);
	if (cur != t->addr + top_size)
		return 0;
	os_sbrk(g, -(int64_t)extra);
	uint64_t nbrk = os_sbrk(g, 0);
	uint64_t released = cur - nbrk;
	if (released == 0)
		return 0;
	gl_forget(&g->s, nbrk, released);
	av->heaps[av->nheaps - 1].size -= released;
	av->system_mem -= released;
	t->size -= released;
	g->trims++;
	return 1;
}

/* ---- _int_free (8) ------------------------------------------------------------- */

static void int_free(struct gl *g, struct gl_arena *av, uint32_t id,
		     struct gl_thread *t, int have_lock)
{
	struct gl_rec *r = REC(g, id);
	uint64_t size = r->size;
	uint64_t tc = tc_bin(g, t, size);
	if (tc != GL_NONE && tc_room(g, t, tc)) {
		tcache_put(g, t, id, tc);
		return;
	}
	if (size <= g->max_fast) {
		fast_push(g, av, id);
		return;
	}
	if (r->st == GL_MMAP) {
		munmap_chunk(g, id);
		return;
	}
	if (g->multi && !have_lock)
		lock(g, av);
	uint64_t merged = coalesce(g, av, id);
	if (merged < GL_CONSOLIDATE)
		return;
	if (av->have_fast)
		consolidate(g, av);
	if (av->idx == 0) {
		if (REC(g, av->top)->size >= g->trim_threshold)
			systrim(g, g->top_pad, av);
	} else {
		heap_trim(g, av, g->top_pad);
	}
}

/* ---- sysmalloc (7) ------------------------------------------------------------ */

/* Split nb bytes off the bottom of the top chunk; the victim keeps the
 * top's record until it is handed out, the new top gets one. */
static uint32_t split_top(struct gl *g, struct gl_arena *av, uint64_t nb)
{
	uint32_t v = av->top;
	uint32_t n = split_at(g, v, nb);
	struct gl_rec *vr = REC(g, v), *nr = REC(g, n);
	vr->st = GL_USER;
	nr->st = GL_TOP;
	av->top = n;
	w_head(g, vr->addr);
	w_head(g, nr->addr);
	return v;
}

/* A new top chunk starting a segment (main) or a heap (non-main). */
static uint32_t new_top(struct gl *g, struct gl_arena *av, uint64_t addr,
			uint64_t size)
{
	uint32_t n = gl_new_at(&g->s, addr);
	struct gl_rec *r = REC(g, n);
	r->size = size;
	r->st = GL_TOP;
	r->arena = (uint16_t)av->idx;
	av->top = n;
	w_head(g, addr);
	return n;
}

/* Main arena, old top cut off by a gap (7.2 step 5): two 16-byte
 * fenceposts at its end, the rest freed when it is a chunk. */
static void fence_main(struct gl *g, struct gl_arena *av, uint32_t id,
		       uint64_t old_size, struct gl_thread *t)
{
	uint64_t s2 = (old_size - 2 * GL_HDR) & ~(uint64_t)GL_MASK;
	uint32_t f1 = s2 ? split_at(g, id, s2) : id;
	uint32_t f2 = split_at(g, f1, GL_HDR);
	REC(g, f1)->st = GL_FENCE;
	REC(g, f2)->st = GL_FENCE;
	w_head(g, REC(g, id)->addr);
	w_head(g, REC(g, f1)->addr);
	w_head(g, REC(g, f2)->addr);
	av->heaps[av->nheaps - 2].tail = REC(g, f1)->addr;
	if (s2 >= GL_MINSIZE) {
		REC(g, id)->st = GL_USER;
		int_free(g, av, id, t, 1);
	} else if (s2) {
		REC(g, id)->st = GL_FENCE;
	}
}

/* Non-main arena, old top left at the end of a full heap (7.3 step 3). */
static void fence_heap(struct gl *g, struct gl_arena *av, uint32_t id,
		       uint64_t old_size, struct gl_thread *t)
{
	uint64_t s2 = (old_size - GL_MINSIZE) & ~(uint64_t)GL_MASK;
	struct gl_rec *p = REC(g, id);
	uint32_t f2, tail;
	if (s2 >= GL_MINSIZE) {
		uint32_t f1 = split_at(g, id, s2);
		f2 = split_at(g, f1, GL_HDR);
		REC(g, f1)->st = GL_FENCE;
		w_head(g, REC(g, f1)->addr);
		w_foot(g, REC(g, f1)->addr, GL_HDR);
		tail = f1;
	} else {
		f2 = split_at(g, id, s2 + GL_HDR);
		p->st = GL_FENCE;
		w_foot(g, p->addr, p->size);
		tail = id;
	}
	REC(g, f2)->st = GL_FENCE;
	w_head(g, REC(g, f2)->addr);
	w_head(g, p->addr);
	av->heaps[av->nheaps - 2].tail = REC(g, tail)->addr;
	if (s2 >= GL_MINSIZE) {
		p->st = GL_USER;
		int_free(g, av, id, t, 1);
	}
}

/* Grow a non-main arena: extend its heap, else start a new heap, else try
 * a direct mmap.  Returns an mmapped chunk, or 0 (top possibly bigger). */
static uint32_t grow_nonmain(struct gl *g, struct gl_arena *av, uint64_t nb,
			     struct gl_thread *t, int tried_mmap)
{
	uint32_t top = av->top;
	struct gl_rec *tr = REC(g, top);
	uint64_t old_size = tr->size;
	struct gl_heap *h = &av->heaps[av->nheaps - 1], nh;
	uint64_t old_hsize = h->size;
	if (grow_heap(g, h, GL_MINSIZE + nb - old_size) == 0) {
		av->system_mem += h->size - old_hsize;
		tr->size = h->base + h->size - tr->addr;
		w_head(g, tr->addr);
		return 0;
	}
	if (heap_room(g, av) &&
	    new_heap(g, nb + GL_MINSIZE + GL_HEAP_INFO, g->top_pad, &nh)) {
		av->system_mem += nh.size;
		new_top(g, av, nh.base + GL_HEAP_INFO, nh.size - GL_HEAP_INFO);
		add_heap(g, av, &nh);
		g->extra_heaps++;
		fence_heap(g, av, top, old_size, t);
		return 0;
	}
	return tried_mmap ? 0 : mmap_chunk(g, nb);
}

/* Grow the main arena with brk, or with mmap when brk fails (7.2). */
static void grow_main(struct gl *g, struct gl_arena *av, uint64_t nb,
		      struct gl_thread *t)
{
	uint32_t old_top = av->top;
	uint64_t old_size = old_top ? REC(g, old_top)->size : 0;
	uint64_t old_end = old_top ? REC(g, old_top)->addr + old_size : 0;
	uint64_t size = nb + g->top_pad + GL_MINSIZE;
	if (!heaps_room(g, av))
		return;   /* no host memory for a segment: as if brk failed */
	if (!av->noncontig)
		size -= old_size;
	size = gl_align_up(size, GL_PAGE);
	uint64_t brk = GL_FAIL, snd = GL_FAIL;
	if ((int64_t)size > 0)
		brk = os_sbrk(g, (int64_t)size);
	if (brk == GL_FAIL) {               /* sysmalloc_mmap_fallback */
		uint64_t ms = av->noncontig ? size
					    : gl_align_up(size + old_size, GL_PAGE);
		if (ms < GL_MMAP_AS_CORE)
			ms = GL_MMAP_AS_CORE;
		uint64_t mb = ms > nb ? os_mmap(g, 0, ms, SIMOS_PROT_RW) : GL_FAIL;
		if (mb != GL_FAIL) {
			av->noncontig = 1;
			brk = mb;
			snd = mb + ms;
			size = ms;
		}
	}
	if (brk == GL_FAIL)
		return;
	if (!g->sbrk_base)
		g->sbrk_base = brk;
	av->system_mem += size;
	if (old_top && brk == old_end && snd == GL_FAIL) {
		av->heaps[av->nheaps - 1].size += size;
		REC(g, old_top)->size += size;
		w_head(g, REC(g, old_top)->addr);
		return;
	}
	uint64_t correction = 0, aligned = brk;
	if (!av->noncontig) {
		if (old_size)
			av->system_mem += brk - old_end;   /* foreign sbrk */
		uint64_t mis = (brk + GL_HDR) & GL_MASK;
		if (mis) {
			correction = GL_ALIGN - mis;
			aligned += correction;
		}
		correction += old_size;
		uint64_t end = brk + size + correction;
		correction += gl_align_up(end, GL_PAGE) - end;
		snd = os_sbrk(g, (int64_t)correction);
		if (snd == GL_FAIL) {
			correction = 0;
			snd = os_sbrk(g, 0);
		}
	} else if (snd == GL_FAIL) {
		snd = os_sbrk(g, 0);
	}
	struct gl_heap seg = {brk, snd + correction - brk, 0, 0};
	new_top(g, av, aligned, snd - aligned + correction);
	av->heaps[av->nheaps++] = seg;
	av->system_mem += correction;
	if (old_size)
		fence_main(g, av, old_top, old_size, t);
}

static uint32_t sysmalloc(struct gl *g, uint64_t nb, struct gl_arena *av,
			  struct gl_thread *t)
{
	int tried_mmap = 0;
	if (!av || (nb >= g->mmap_threshold && g->n_mmaps < g->n_mmaps_max)) {
		uint32_t id = mmap_chunk(g, nb);
		if (id)
			return id;
		tried_mmap = 1;
	}
	if (!av)
		return 0;
	if (av->idx != 0) {
		uint32_t id = grow_nonmain(g, av, nb, t, tried_mmap);
		if (id)
			return id;
	} else {
		grow_main(g, av, nb, t);
	}
	if (av->system_mem > av->max_system_mem)
		av->max_system_mem = av->system_mem;
	if (av->top && REC(g, av->top)->size >= nb + GL_MINSIZE)
		return split_top(g, av, nb);
	return 0;
}

/* ---- _int_malloc (6) ----------------------------------------------------------- */

/* A binned chunk v, already unlinked, for a request of nb: handed out whole
 * when less than MINSIZE would be left, else split with the remainder at
 * the head of the unsorted list (and as last_remainder when set_lr). */
static uint32_t take_chunk(struct gl *g, struct gl_arena *av, uint32_t v,
			   uint64_t nb, int set_lr)
{
	struct gl_rec *r = REC(g, v);
	r->st = GL_USER;
	if (r->size - nb < GL_MINSIZE) {
		w_head(g, r->addr + r->size);    /* its PREV_INUSE */
		return v;
	}
	uint32_t rem = split_at(g, v, nb);
	struct gl_rec *rr = REC(g, rem);
	unsorted_push(g, av, rem);
	if (set_lr)
		av->last_remainder = rr->addr;
	w_head(g, r->addr);
	w_head(g, rr->addr);
	w_foot(g, rr->addr, rr->size);
	return v;
}

/* The tail of small bin idx, marked in use. */
static uint32_t small_take(struct gl *g, struct gl_arena *av, unsigned idx)
{
	uint32_t v = REC(g, hdr(av, idx))->bk;
	bin_unlink(g, av, v);
	struct gl_rec *r = REC(g, v);
	r->st = GL_USER;
	w_head(g, r->addr + r->size);
	return v;
}

/* 6.5a: split the lone last_remainder v; the rest takes its place. */
static uint32_t split_remainder(struct gl *g, struct gl_arena *av, uint32_t v,
				uint64_t nb)
{
	uint32_t uh = hdr(av, 1);
	uint32_t rem = split_at(g, v, nb);
	struct gl_rec *r = REC(g, v), *rr = REC(g, rem), *h = REC(g, uh);
	gl_map_find(&g->foot, rr->addr + rr->size)->val = rem;  /* same end */
	h->fd = h->bk = rem;
	rr->fd = rr->bk = uh;
	rr->st = GL_BIN;
	rr->bin = 1;
	if (!gl_in_smallbin_range(rr->size))
		rr->fdn = rr->bkn = 0;
	av->last_remainder = rr->addr;
	av->bin_bytes -= nb;
	r->st = GL_USER;
	w_head(g, r->addr);
	w_head(g, rr->addr);
	w_foot(g, rr->addr, rr->size);
	wr(g, rr->addr + 16, 16);
	return v;
}

/* 6.7: best fit in large bin idx, the second chunk of a size group. */
static uint32_t large_best_fit(struct gl *g, struct gl_arena *av, unsigned idx,
			       uint64_t nb)
{
	uint32_t h = hdr(av, idx), first = REC(g, h)->fd;
	if (first == h || REC(g, first)->size < nb)
		return 0;
	uint32_t v = REC(g, first)->bkn;
	while (REC(g, v)->size < nb)
		v = REC(g, v)->bkn;
	struct gl_rec *r = REC(g, v);
	if (v != REC(g, h)->bk && REC(g, r->fd)->size == r->size)
		v = r->fd;
	bin_unlink(g, av, v);
	return take_chunk(g, av, v, nb, 0);
}

/* 6.8: the smallest chunk of the first non-empty bin from bin on. */
static uint32_t bin_scan(struct gl *g, struct gl_arena *av, unsigned bin,
			 uint64_t nb)
{
	for (unsigned w = bin >> 6; w < 2; w++) {
		uint64_t m = av->nonempty[w];
		if (w == bin >> 6)
			m &= ~UINT64_C(0) << (bin & 63);
		if (!m)
			continue;
		unsigned b = (w << 6) + (unsigned)__builtin_ctzll(m);
		uint32_t v = REC(g, hdr(av, b))->bk;
		bin_unlink(g, av, v);
		return take_chunk(g, av, v, nb, gl_in_smallbin_range(nb));
	}
	return 0;
}

/* Take the tail of the unsorted list off the ring (it stays binned). */
static uint32_t unsorted_pop(struct gl *g, struct gl_arena *av)
{
	uint32_t uh = hdr(av, 1);
	uint32_t v = REC(g, uh)->bk;
	uint32_t b = REC(g, v)->bk;
	REC(g, uh)->bk = b;
	REC(g, b)->fd = uh;
	return v;
}

/* The fast paths: a fastbin or the exact small bin, stashing the rest of
 * the bin into the tcache.  0 when both are empty. */
static uint32_t malloc_exact(struct gl *g, struct gl_arena *av, uint64_t nb,
			     struct gl_thread *t, uint64_t tc)
{
	if (nb <= g->max_fast) {
		unsigned i = gl_fastbin_index(nb);
		if (av->fast[i]) {
			uint32_t v = fast_pop(g, av, i);
			if (tc != GL_NONE)
				while (av->fast[i] && tc_room(g, t, tc))
					tcache_put(g, t, fast_pop(g, av, i), tc);
			return v;
		}
	}
	if (gl_in_smallbin_range(nb)) {
		unsigned idx = gl_smallbin_index(nb);
		if (!bin_empty(g, av, idx)) {
			uint32_t v = small_take(g, av, idx);
			if (tc != GL_NONE)
				while (!bin_empty(g, av, idx) && tc_room(g, t, tc))
					tcache_put(g, t, small_take(g, av, idx), tc);
			return v;
		}
	}
	return 0;
}

static uint32_t int_malloc(struct gl *g, struct gl_arena *av, uint64_t bytes,
			   struct gl_thread *t)
{
	uint64_t nb = gl_checked_request2size(bytes);
	if (!nb)
		return 0;
	if (!av)
		return sysmalloc(g, nb, NULL, t);
	uint64_t tc = tc_bin(g, t, nb);
	uint32_t v = malloc_exact(g, av, nb, t, tc);
	if (v)
		return v;
	int small = gl_in_smallbin_range(nb);
	unsigned idx = small ? gl_smallbin_index(nb) : gl_largebin_index(nb);
	if (!small && av->have_fast)
		consolidate(g, av);
	int return_cached = 0;
	uint64_t ucount = 0;
	uint32_t uh = hdr(av, 1);
	for (;;) {
		unsigned iters = 0;
		while ((v = REC(g, uh)->bk) != uh) {
			struct gl_rec *r = REC(g, v);
			uint64_t size = r->size;
			if (small && r->bk == uh && r->addr == av->last_remainder &&
			    size > nb + GL_MINSIZE)
				return split_remainder(g, av, v, nb);
			unsorted_pop(g, av);
			if (size == nb) {
				av->nbin--;
				av->bin_bytes -= size;
				r->st = GL_USER;
				drop_footer(g, r);
				w_head(g, r->addr + size);
				if (tc == GL_NONE || !tc_room(g, t, tc))
					return v;
				tcache_put(g, t, v, tc);
				return_cached = 1;
				continue;
			}
			bin_place(g, av, v);
			ucount++;
			if (return_cached && g->unsorted_limit &&
			    ucount > g->unsorted_limit)
				return tcache_get(g, t, tc);
			if (++iters >= GL_MAX_ITERS)
				break;
		}
		if (return_cached)
			return tcache_get(g, t, tc);
		if (!small && (v = large_best_fit(g, av, idx, nb)))
			return v;
		if ((v = bin_scan(g, av, idx + 1, nb)))
			return v;
		if (av->top && REC(g, av->top)->size >= nb + GL_MINSIZE)
			return split_top(g, av, nb);
		if (!av->have_fast)
			return sysmalloc(g, nb, av, t);
		consolidate(g, av);
	}
}

#endif
