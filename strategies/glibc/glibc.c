/*
 * glibc.c - ptmalloc2 as in glibc 2.36 (malloc/malloc.c, malloc/arena.c),
 * modelled chunk by chunk so that, for one thread, the simulated heap is
 * the real one: the same chunk at the same offset for every call, the same
 * program break and the same mallinfo2 numbers.  The facts come from
 * ../shared/reference/glibc-malloc.md (section numbers below are its).
 *
 * Modelled: request rounding and chunk layout (2); per-thread tcache with
 * its 656-byte struct (4.1, 5); fastbins, the unsorted list with its exact
 * processing order and the last_remainder rule, small bins, large bins
 * kept sorted with their size skip list, the bin scan (4, 6);
 * malloc_consolidate and its triggers (8.1); the top chunk and sysmalloc:
 * brk growth with top_pad, the mmap path with the dynamic threshold, the
 * mmap fallback when brk fails, fenceposts (7); free with coalescing,
 * systrim and heap_trim (8, 9); realloc in place, by moving and by mremap,
 * calloc's clearing, memalign (10); mallinfo2 (11); tunables (12); the
 * allocator's own writes for RSS (13); non-main arenas on 64 MiB heaps,
 * arena choice and reuse, cross-thread frees and lock counts (14).
 *
 * Files: gl_sizes.h (size arithmetic), gl_store.h (records and the page
 * cache), gl_core.h (state, bins, _int_malloc, _int_free, sysmalloc,
 * trims); here arenas, threads, the public functions and the operations.
 *
 * Simplifications:
 *  1. Threads never exit (traces have no exit event): no tcache flush at
 *     exit, no arena free list.  Threads take arenas in the order of their
 *     first call, as without contention; trylock always succeeds.
 *  2. realloc(p, 0) never reaches a strategy from a trace (the trace
 *     records it as a free); if the engine asks for it, it is a shrink to
 *     a minimum chunk, not a free.
 *  3. mallopt, malloc_stats and huge pages are not modelled (no trace
 *     event calls them); malloc_trim(0) is the strategy's release_os.  The
 *     double-free and corruption checks are the engine's.  There is no
 *     flush: glibc's mallinfo2 does not empty the tcaches.
 *  4. The binmap is replaced by an exact non-empty bitmap: the scan picks
 *     the same bin (4.6).
 *  5. A page the model knows resident is not touched again (gl_store.h);
 *     link words written into neighbouring free chunks are not touched
 *     (their pages are resident since those chunks were linked).
 *  6. The first thread the engine shows is the process's initial thread
 *     (main arena); a second thread makes the process multi-threaded.
 *  7. A chunk in use has no record (gl_store.h): its size is the usable
 *     size the engine hands back with it plus SIZE_SZ, as glibc reads the
 *     size word, so --check walks the free chunks, tops and fenceposts and
 *     the gaps between them rather than every chunk in use.
 */
#include <stdlib.h>
#include <string.h>

#include "strategy.h"
#include "gl_core.h"

/* ---- arenas (14) --------------------------------------------------------------- */

static void arena_free(struct gl *g, struct gl_arena *av)
{
	strat_hfree(g->env, av->heaps, av->cap_heaps * sizeof *av->heaps);
	strat_hfree(g->env, av, sizeof *av);
}

/* A fresh arena structure with its bin headers; NULL on host OOM. */
static struct gl_arena *arena_alloc(struct gl *g)
{
	if (g->narenas == g->cap_ar) {
		uint32_t n = g->cap_ar ? 2 * g->cap_ar : 8;
		struct gl_arena **a = strat_hrealloc(g->env, g->ar,
						     g->cap_ar * sizeof *a,
						     n * sizeof *a);
		if (!a)
			return NULL;
		g->ar = a;
		g->cap_ar = n;
	}
	struct gl_arena *av = strat_halloc(g->env, sizeof *av);
	if (!av)
		return NULL;
	memset(av, 0, sizeof *av);
	if (!heaps_room(g, av)) {
		arena_free(g, av);
		return NULL;
	}
	av->idx = g->narenas;
	for (unsigned b = 0; b < GL_NBINS; b++) {
		/* a key no chunk can have (chunk addresses are below 2^48) */
		uint64_t key = UINT64_C(1) << 63 | (uint64_t)av->idx << 26 | b << 5;
		uint32_t h = av->bins[b] = gl_new_at(&g->s, key);
		struct gl_rec *r = REC(g, h);
		r->st = GL_BINHDR;
		r->fd = r->bk = r->fdn = r->bkn = h;
	}
	return av;
}

static void gl_del_bins(struct gl *g, struct gl_arena *av)
{
	for (unsigned b = 0; b < GL_NBINS; b++)
		gl_del(&g->s, av->bins[b]);
}

/* _int_new_arena: an arena at the start of a new heap, linked after main,
 * made the thread's and locked.  NULL when no heap can be had. */
static struct gl_arena *new_arena(struct gl *g, struct gl_thread *t,
				  uint64_t size)
{
	struct gl_heap h;
	const uint64_t hdr_sz = GL_HEAP_INFO + GL_MSTATE + GL_ALIGN;
	struct gl_arena *av = arena_alloc(g);
	if (!av)
		return NULL;
	if (!heap_room(g, av) ||
	    (!new_heap(g, size + hdr_sz, g->top_pad, &h) &&
	     !new_heap(g, hdr_sz, g->top_pad, &h))) {
		gl_del_bins(g, av);
		arena_free(g, av);
		return NULL;
	}
	g->ar[g->narenas++] = av;
	av->noncontig = 1;
	av->system_mem = av->max_system_mem = h.size;
	wr(g, h.base, GL_ARENA_HDR);
	new_top(g, av, h.base + GL_ARENA_HDR, h.size - GL_ARENA_HDR);
	add_heap(g, av, &h);
	av->next = g->ar[0]->next;
	g->ar[0]->next = av->idx;
	t->arena = av->idx;
	lock(g, av);
	return av;
}

/* reused_arena without contention: round robin along the ring from main. */
static struct gl_arena *reused_arena(struct gl *g, struct gl_thread *t)
{
	struct gl_arena *av = g->ar[g->next_to_use];
	lock(g, av);
	t->arena = av->idx;
	g->next_to_use = av->next;
	return av;
}

/* arena_get2 (free_list always empty: threads never exit). */
static struct gl_arena *arena_get2(struct gl *g, struct gl_thread *t,
				   uint64_t size)
{
	if (!g->narenas_limit) {
		if (g->arena_max)
			g->narenas_limit = g->arena_max;
		else if (g->narenas > g->arena_test)
			g->narenas_limit = 8 * (g->cores ? g->cores : 2);
	}
	if (g->narenas <= g->narenas_limit - 1 && g->narenas < UINT16_MAX) {
		struct gl_arena *av = new_arena(g, t, size);
		if (av)
			return av;
		return NULL;
	}
	return reused_arena(g, t);
}

/* arena_get: the thread's arena, locked; chosen on first use. */
static struct gl_arena *arena_get(struct gl *g, struct gl_thread *t,
				  uint64_t size)
{
	if (t->arena != GL_NONE) {
		struct gl_arena *av = g->ar[t->arena];
		lock(g, av);
		return av;
	}
	return arena_get2(g, t, size);
}

/* arena_get_retry: after a failure, main; after main failed, another. */
static struct gl_arena *arena_get_retry(struct gl *g, struct gl_thread *t,
					struct gl_arena *av, uint64_t size)
{
	if (av->idx != 0) {
		lock(g, g->ar[0]);
		return g->ar[0];
	}
	return arena_get2(g, t, size);
}

/* ---- threads and the tcache (5) ---------------------------------------------- */

#define GL_TID_DIRECT 1024u

/* tid's slot in th[] (tid < GL_TID_DIRECT); NULL on host OOM. */
static struct gl_thread **direct_slot(struct gl *g, uint32_t tid)
{
	if (tid >= g->nth) {
		uint32_t n = g->nth ? g->nth : 8;
		while (n <= tid)
			n *= 2;
		struct gl_thread **a = strat_hrealloc(g->env, g->th,
						      g->nth * sizeof *a,
						      n * sizeof *a);
		if (!a)
			return NULL;
		memset(a + g->nth, 0, (n - g->nth) * sizeof *a);
		g->th = a;
		g->nth = n;
	}
	return &g->th[tid];
}

static uint32_t tid_home(const struct gl *g, uint32_t tid)
{
	return (tid * 2654435761u) & (g->cap_tids - 1);
}

/* A large tid's thread, or NULL. */
static struct gl_thread *tid_find(const struct gl *g, uint32_t tid)
{
	if (!g->cap_tids)
		return NULL;
	for (uint32_t j = tid_home(g, tid); g->tids[j].idx;
	     j = (j + 1) & (g->cap_tids - 1))
		if (g->tids[j].tid == tid)
			return g->all[g->tids[j].idx - 1];
	return NULL;
}

/* Room in the tid hash for one more, at most half full.  0 on host OOM. */
static int tid_room(struct gl *g)
{
	if (2 * (g->ntids + 1) <= g->cap_tids)
		return 1;
	uint32_t n = g->cap_tids ? 2 * g->cap_tids : 16;
	struct gl_tid *h = strat_halloc(g->env, n * sizeof *h), *o = g->tids;
	if (!h)
		return 0;
	memset(h, 0, n * sizeof *h);
	uint32_t on = g->cap_tids;
	g->tids = h;
	g->cap_tids = n;
	for (uint32_t i = 0; i < on; i++) {
		if (!o[i].idx)
			continue;
		uint32_t j = tid_home(g, o[i].tid);
		while (h[j].idx)
			j = (j + 1) & (n - 1);
		h[j] = o[i];
	}
	strat_hfree(g->env, o, on * sizeof *o);
	return 1;
}

/* Append t to all[] and, for a large tid, to the hash (room made). */
static int thread_add(struct gl *g, uint32_t tid, struct gl_thread *t)
{
	if (g->nall == g->cap_all) {
		uint32_t n = g->cap_all ? 2 * g->cap_all : 8;
		struct gl_thread **a = strat_hrealloc(g->env, g->all,
						      g->cap_all * sizeof *a,
						      n * sizeof *a);
		if (!a)
			return 0;
		g->all = a;
		g->cap_all = n;
	}
	g->all[g->nall++] = t;
	if (tid >= GL_TID_DIRECT) {
		uint32_t j = tid_home(g, tid);
		while (g->tids[j].idx)
			j = (j + 1) & (g->cap_tids - 1);
		g->tids[j].tid = tid;
		g->tids[j].idx = g->nall;
		g->ntids++;
	}
	return 1;
}

/* The thread of tid, made on first sight; NULL on host OOM. */
static struct gl_thread *thread_of(struct gl *g, uint32_t tid)
{
	struct gl_thread **slot = NULL, *t;
	if (tid < GL_TID_DIRECT) {
		if (!(slot = direct_slot(g, tid)))
			return NULL;
		if (*slot)
			return *slot;
	} else if ((t = tid_find(g, tid))) {
		return t;
	} else if (!tid_room(g)) {
		return NULL;
	}
	t = strat_halloc(g->env, sizeof *t);
	if (!t)
		return NULL;
	memset(t, 0, sizeof *t);
	if (!thread_add(g, tid, t)) {
		strat_hfree(g->env, t, sizeof *t);
		return NULL;
	}
	if (slot)
		*slot = t;
	t->arena = GL_NONE;
	if (!g->any_thread) {
		g->any_thread = 1;
		g->first_tid = tid;
		t->arena = 0;            /* ptmalloc_init: the initial thread */
	} else {
		g->multi = 1;            /* a second thread exists */
	}
	return t;
}

/* tcache_init: the 656-byte struct from the thread's arena. */
static void maybe_init_tcache(struct gl *g, struct gl_thread *t)
{
	if (!t || t->has_tcache)
		return;
	struct gl_arena *av = arena_get(g, t, GL_TCACHE_STRUCT);
	uint32_t id = int_malloc(g, av, GL_TCACHE_STRUCT, t);
	if (!id && av) {
		av = arena_get_retry(g, t, av, GL_TCACHE_STRUCT);
		id = av ? int_malloc(g, av, GL_TCACHE_STRUCT, t) : 0;
	}
	if (!id)
		return;
	t->has_tcache = 1;
	g->ntcache++;
	wr(g, REC(g, id)->addr + GL_HDR, GL_TCACHE_STRUCT);
	drop_user(g, id);
}

/* ---- the public functions (6, 8, 10) ------------------------------------------ */

static struct gl_arena *arena_of(struct gl *g, const struct gl_rec *r)
{
	return g->ar[r->arena];
}

/* __libc_malloc. */
static uint32_t lib_malloc(struct gl *g, struct gl_thread *t, uint64_t bytes)
{
	uint64_t nb = gl_checked_request2size(bytes);
	if (!nb)
		return 0;
	maybe_init_tcache(g, t);
	uint64_t tc = tc_bin(g, t, nb);
	if (tc != GL_NONE && t->counts[tc] > 0) {
		g->hits++;
		return tcache_get(g, t, tc);
	}
	g->misses++;
	if (!g->multi)
		return int_malloc(g, g->ar[0], bytes, t);
	struct gl_arena *av = arena_get(g, t, bytes);
	uint32_t id = int_malloc(g, av, bytes, t);
	if (!id && av) {
		av = arena_get_retry(g, t, av, bytes);
		id = av ? int_malloc(g, av, bytes, t) : 0;
	}
	return id;
}

/* __libc_free. */
static void lib_free(struct gl *g, struct gl_thread *t, uint32_t id)
{
	struct gl_rec *r = REC(g, id);
	if (r->st == GL_MMAP) {
		uint64_t word = r->size | 2;   /* chunksize_nomask */
		if (!g->no_dyn_threshold && word > g->mmap_threshold &&
		    word <= GL_MMAP_THR_MAX) {
			g->mmap_threshold = r->size;
			g->trim_threshold = 2 * r->size;
		}
		munmap_chunk(g, id);
		return;
	}
	maybe_init_tcache(g, t);
	int_free(g, arena_of(g, REC(g, id)), id, t, 0);
}

/* __libc_calloc: no tcache lookup; clearing decides what becomes resident. */
static uint32_t lib_calloc(struct gl *g, struct gl_thread *t, uint64_t bytes)
{
	maybe_init_tcache(g, t);
	g->misses++;
	struct gl_arena *av = g->multi ? arena_get(g, t, bytes) : g->ar[0];
	uint64_t oldtop = 0, oldtopsize = 0;
	if (av && av->top) {
		struct gl_rec *tr = REC(g, av->top);
		oldtop = tr->addr;
		oldtopsize = tr->size;
		if (av->idx == 0 &&
		    oldtopsize < g->sbrk_base + av->max_system_mem - oldtop)
			oldtopsize = g->sbrk_base + av->max_system_mem - oldtop;
		if (av->idx != 0) {
			const struct gl_heap *h = &av->heaps[av->nheaps - 1];
			if (oldtopsize < h->base + h->mprotect_size - oldtop)
				oldtopsize = h->base + h->mprotect_size - oldtop;
		}
	}
	uint32_t id = int_malloc(g, av, bytes, t);
	if (g->multi && !id && av) {
		av = arena_get_retry(g, t, av, bytes);
		id = av ? int_malloc(g, av, bytes, t) : 0;
	}
	if (!id)
		return 0;
	struct gl_rec *r = REC(g, id);
	if (r->st == GL_MMAP)
		return id;           /* fresh mapping: already zero */
	uint64_t csz = r->size;
	if (r->addr == oldtop && csz > oldtopsize)
		csz = oldtopsize;    /* only the part not freshly sbrk'd */
	if (csz > GL_SIZE_SZ)
		wr(g, r->addr + GL_HDR, csz - GL_SIZE_SZ);
	return id;
}

/* memalign of an mmapped chunk: move its start, the mapping stays. */
static uint32_t set_lead_mmap(struct gl *g, uint32_t id, uint64_t brk,
			      uint64_t lead)
{
	id = rekey(g, id, brk);
	struct gl_rec *p = REC(g, id);
	gl_set_lead(p, gl_lead(p) + lead);
	p->size -= lead;
	wr(g, brk, GL_HDR);
	return id;
}

/* _int_memalign (10.3). */
static uint32_t int_memalign(struct gl *g, struct gl_arena *av, uint64_t align,
			     uint64_t bytes, struct gl_thread *t)
{
	uint64_t nb = gl_checked_request2size(bytes);
	if (!nb || nb + align + GL_MINSIZE < nb)
		return 0;
	uint32_t id = int_malloc(g, av, nb + align + GL_MINSIZE, t);
	if (!id)
		return 0;
	struct gl_rec *p = REC(g, id);
	uint64_t mem = p->addr + GL_HDR;
	if (mem % align) {
		uint64_t brk = gl_align_up(mem, align) - GL_HDR;
		if (brk - p->addr < GL_MINSIZE)
			brk += align;
		uint64_t lead = brk - p->addr;
		if (p->st == GL_MMAP) {
			return set_lead_mmap(g, id, brk, lead);
		}
		uint32_t n = split_at(g, id, lead);
		struct gl_rec *nr = REC(g, n);
		nr->st = GL_USER;
		w_head(g, nr->addr);
		w_head(g, nr->addr + nr->size);
		w_head(g, p->addr);
		int_free(g, av, id, t, 1);
		id = n;
		p = nr;
	}
	if (p->st != GL_MMAP && p->size > nb + GL_MINSIZE) {
		uint32_t rem = split_at(g, id, nb);
		REC(g, rem)->st = GL_USER;
		w_head(g, REC(g, rem)->addr);
		w_head(g, p->addr);
		int_free(g, av, rem, t, 1);
	}
	return id;
}

/* _mid_memalign. */
static uint32_t lib_memalign(struct gl *g, struct gl_thread *t, uint64_t align,
			     uint64_t bytes)
{
	if (align <= GL_ALIGN)
		return lib_malloc(g, t, bytes);
	if (align < GL_MINSIZE)
		align = GL_MINSIZE;
	if (align & (align - 1)) {
		uint64_t a = 2 * GL_ALIGN;
		while (a < align)
			a <<= 1;
		align = a;
	}
	g->misses++;
	if (!g->multi)
		return int_memalign(g, g->ar[0], align, bytes, t);
	struct gl_arena *av = arena_get(g, t, bytes + align + GL_MINSIZE);
	uint32_t id = int_memalign(g, av, align, bytes, t);
	if (!id && av) {
		av = arena_get_retry(g, t, av, bytes);
		id = av ? int_memalign(g, av, align, bytes, t) : 0;
	}
	return id;
}

/* _int_realloc (10.1 step 4). */
static uint32_t int_realloc(struct gl *g, struct gl_arena *av, uint32_t id,
			    uint64_t nb, struct gl_thread *t)
{
	struct gl_rec *p = REC(g, id);
	uint64_t oldsize = p->size;
	uint32_t n = gl_find(&g->s, p->addr + oldsize);   /* 0: in use */
	struct gl_rec *nr = REC(g, n);
	if (oldsize < nb) {
		if (n && n == av->top && oldsize + nr->size >= nb + GL_MINSIZE) {
			uint64_t total = oldsize + nr->size;
			p->size = nb;
			av->top = rekey(g, n, p->addr + nb);
			nr = REC(g, av->top);
			nr->size = total - nb;
			w_head(g, p->addr);
			w_head(g, nr->addr);
			return id;
		}
		if (n && n != av->top && nr->st == GL_BIN &&
		    oldsize + nr->size >= nb) {
			bin_unlink(g, av, n);
			absorb(g, id, n);
		} else {
			g->misses++;
			uint32_t m = int_malloc(g, av, nb - GL_MASK, t);
			if (!m)
				return 0;
			struct gl_rec *mr = REC(g, m);
			if (mr->addr != p->addr + oldsize) {
				int_free(g, av, id, t, 1);
				return m;
			}
			absorb(g, id, m);     /* the new chunk is the next one */
		}
	}
	if (p->size - nb < GL_MINSIZE) {
		w_head(g, p->addr);
		w_head(g, p->addr + p->size);
		return id;
	}
	uint32_t rem = split_at(g, id, nb);
	struct gl_rec *rr = REC(g, rem);
	rr->st = GL_USER;
	w_head(g, p->addr);
	w_head(g, rr->addr);
	w_head(g, rr->addr + rr->size);
	int_free(g, av, rem, t, 1);
	return id;
}

/* __libc_realloc for a live chunk (bytes == 0 is a shrink, see 2.). */
static uint32_t lib_realloc(struct gl *g, struct gl_thread *t, uint32_t id,
			    uint64_t bytes)
{
	struct gl_rec *r = REC(g, id);
	struct gl_arena *av = NULL;
	if (r->st != GL_MMAP) {
		maybe_init_tcache(g, t);
		av = arena_of(g, r);
	}
	uint64_t nb = gl_checked_request2size(bytes);
	if (!nb)
		return 0;
	if (r->st == GL_MMAP) {
		uint32_t m = mremap_chunk(g, id, nb);
		if (m)
			return m;
		if (r->size - GL_SIZE_SZ >= nb)
			return id;
		m = lib_malloc(g, t, bytes);
		if (m)
			munmap_chunk(g, id);
		return m;
	}
	if (!g->multi)
		return int_realloc(g, av, id, nb, t);
	lock(g, av);
	uint32_t m = int_realloc(g, av, id, nb, t);
	if (!m) {
		m = lib_malloc(g, t, bytes);
		if (m)
			int_free(g, av, id, t, 0);
	}
	return m;
}

/* ---- parameters and counters ------------------------------------------------- */

enum {
	P_TCACHE_COUNT, P_TCACHE_MAX, P_UNSORTED_LIMIT, P_MXFAST,
	P_MMAP_THRESHOLD, P_TRIM_THRESHOLD, P_TOP_PAD, P_MMAP_MAX,
	P_ARENA_MAX, P_ARENA_TEST, P_CORES
};

static const struct strategy_param gl_params[] = {
	{"tcache_count", PARAM_INT, "7", 0, 65535,
	 "chunks per tcache bin (glibc.malloc.tcache_count)"},
	{"tcache_max", PARAM_SIZE, "1032", 0, 1032,
	 "largest request the tcache holds (glibc.malloc.tcache_max)"},
	{"tcache_unsorted_limit", PARAM_INT, "0", 0, 1e9,
	 "unsorted chunks processed while filling the tcache; 0 = no limit"},
	{"mxfast", PARAM_SIZE, "128", 0, 160,
	 "largest request served by fastbins; 0 disables them (M_MXFAST)"},
	{"mmap_threshold", PARAM_INT, "off", -1, 281474976710656.0,
	 "bytes; off = not set: 128 KiB and raised dynamically on free; "
	 "setting it (or trim_threshold, top_pad, mmap_max) freezes both"},
	{"trim_threshold", PARAM_INT, "off", -1, 281474976710656.0,
	 "bytes of top that trigger a trim; off = not set: 128 KiB, dynamic"},
	{"top_pad", PARAM_INT, "off", -1, 281474976710656.0,
	 "extra bytes per brk growth and kept at trim; off = not set: 128 KiB"},
	{"mmap_max", PARAM_INT, "off", -1, 2147483647,
	 "most mmapped chunks at once; off = not set: 65536"},
	{"arena_max", PARAM_INT, "0", 0, 65535,
	 "arena limit (glibc.malloc.arena_max); 0 = 8 x cores"},
	{"arena_test", PARAM_INT, "8", 0, 65535,
	 "arenas made before the limit is computed (glibc.malloc.arena_test)"},
	{"cores", PARAM_INT, "2", 1, 4096,
	 "online CPUs the arena limit is computed from"},
	{NULL, 0, NULL, 0, 0, NULL}
};

#define GL_LOCK_NAMES \
	"locks_arena0", "locks_arena1", "locks_arena2", "locks_arena3", \
	"locks_arena4", "locks_arena5", "locks_arena6", "locks_arena7", \
	"locks_arena8", "locks_arena9", "locks_arena10", "locks_arena11", \
	"locks_arena12", "locks_arena13", "locks_arena14", "locks_arena15", \
	"locks_arena_more"

static const char *const gl_counter_names[] = {
	"cache_hits", "cache_misses", "lock_acquires", "meta_bytes",
	"arena", "ordblks", "smblks", "hblks", "hblkhd", "fsmblks",
	"uordblks", "fordblks", "keepcost", "brk_growth", "narenas",
	"mmap_threshold", "trim_threshold", "consolidations", "trims",
	GL_LOCK_NAMES, NULL
};

enum {
	C_HITS, C_MISSES, C_LOCKS, C_META, C_ARENA, C_ORDBLKS, C_SMBLKS,
	C_HBLKS, C_HBLKHD, C_FSMBLKS, C_UORDBLKS, C_FORDBLKS, C_KEEPCOST,
	C_BRK, C_NARENAS, C_MMAP_THR, C_TRIM_THR, C_CONSOL, C_TRIMS,
	C_LOCK0
};

static uint64_t top_size(struct gl *g, const struct gl_arena *av)
{
	return av->top ? REC(g, av->top)->size : 0;
}

static void gl_counters(void *self, uint64_t *v)
{
	struct gl *g = self;
	memset(v, 0, (C_LOCK0 + GL_LOCK_CTR + 1) * sizeof *v);
	v[C_HITS] = g->hits;
	v[C_MISSES] = g->misses;
	v[C_LOCKS] = g->locks;
	for (uint32_t i = 0; i < g->narenas; i++) {
		const struct gl_arena *av = g->ar[i];
		uint64_t avail = top_size(g, av) + av->fast_bytes + av->bin_bytes;
		v[C_ARENA] += av->system_mem;
		v[C_ORDBLKS] += 1 + av->nbin;
		v[C_SMBLKS] += av->nfast;
		v[C_FSMBLKS] += av->fast_bytes;
		v[C_FORDBLKS] += avail;
		v[C_UORDBLKS] += av->system_mem - avail;
		v[C_LOCK0 + (i < GL_LOCK_CTR ? i : GL_LOCK_CTR)] += av->locks;
	}
	v[C_HBLKS] = g->n_mmaps;
	v[C_HBLKHD] = g->mmapped_mem;
	v[C_KEEPCOST] = top_size(g, g->ar[0]);
	v[C_META] = g->ntcache * (GL_TCACHE_STRUCT + GL_HDR) +
		    (g->narenas - 1) * (uint64_t)GL_ARENA_HDR +
		    g->extra_heaps * GL_HEAP_INFO;
	v[C_BRK] = simos_brk_current(g->os) - simos_brk_base(g->os);
	v[C_NARENAS] = g->narenas;
	v[C_MMAP_THR] = g->mmap_threshold;
	v[C_TRIM_THR] = g->trim_threshold;
	v[C_CONSOL] = g->consolidations;
	v[C_TRIMS] = g->trims;
}

/* ---- the operations ------------------------------------------------------------ */

static int gl_init(void *self, const struct strategy_env *env,
		   const union param_value *pv, struct sim_err *err)
{
	struct gl *g = self;
	g->env = env;
	g->os = env->os;
	g->tcache_count = (uint64_t)pv[P_TCACHE_COUNT].i;
	g->tcache_bins = gl_tidx(gl_request2size((uint64_t)pv[P_TCACHE_MAX].i)) + 1;
	g->unsorted_limit = (uint64_t)pv[P_UNSORTED_LIMIT].i;
	g->max_fast = gl_max_fast((uint64_t)pv[P_MXFAST].i);
	g->mmap_threshold = GL_DEFAULT_MMAP;
	g->trim_threshold = GL_DEFAULT_TRIM;
	g->top_pad = GL_DEFAULT_PAD;
	g->n_mmaps_max = 65536;
	static const int fixed[] = {P_MMAP_THRESHOLD, P_TRIM_THRESHOLD, P_TOP_PAD,
				    P_MMAP_MAX};
	uint64_t *dst[] = {&g->mmap_threshold, &g->trim_threshold, &g->top_pad,
			   &g->n_mmaps_max};
	for (int i = 0; i < 4; i++) {
		if (pv[fixed[i]].i < 0)
			continue;
		*dst[i] = (uint64_t)pv[fixed[i]].i;
		g->no_dyn_threshold = 1;
	}
	g->arena_max = (uint64_t)pv[P_ARENA_MAX].i;
	g->arena_test = (uint64_t)pv[P_ARENA_TEST].i;
	g->cores = (uint64_t)pv[P_CORES].i;
	struct gl_arena *main_arena;
	if (!gl_store_init(&g->s, env) || !(main_arena = arena_alloc(g))) {
		gl_store_fini(&g->s);
		return SIM_ERR(err, SIM_ENOMEM, "glibc: out of host memory");
	}
	g->ar[g->narenas++] = main_arena;
	return SIM_OK;
}

static void gl_fini(void *self)
{
	struct gl *g = self;
	for (uint32_t i = 0; i < g->narenas; i++)
		arena_free(g, g->ar[i]);
	strat_hfree(g->env, g->ar, g->cap_ar * sizeof *g->ar);
	for (uint32_t i = 0; i < g->nall; i++) {
		struct gl_thread *t = g->all[i];
		for (unsigned b = 0; b < GL_TCACHE_BINS; b++)
			strat_hfree(g->env, t->ent[b], t->cap[b] * sizeof *t->ent[b]);
		strat_hfree(g->env, t, sizeof *t);
	}
	strat_hfree(g->env, g->all, g->cap_all * sizeof *g->all);
	strat_hfree(g->env, g->tids, g->cap_tids * sizeof *g->tids);
	strat_hfree(g->env, g->th, g->nth * sizeof *g->th);
	gl_map_fini(&g->foot, g->env);
	gl_map_fini(&g->heapmap, g->env);
	gl_store_fini(&g->s);
}

/* Ids kept outside the table, renumbered after a rehash (map: old id to
 * new id). */
static void renumber(struct gl *g, const uint32_t *map)
{
#define GL_RENUMBER(x) ((x) = map[(x)])
	for (uint32_t i = 0; i < g->narenas; i++) {
		struct gl_arena *av = g->ar[i];
		GL_RENUMBER(av->top);
		for (unsigned b = 0; b < GL_NBINS; b++)
			GL_RENUMBER(av->bins[b]);
		for (unsigned b = 0; b < GL_NFASTBINS; b++)
			GL_RENUMBER(av->fast[b]);
	}
	for (uint64_t j = 0; j < g->foot.cap; j++)
		if (g->foot.t[j].key)
			GL_RENUMBER(g->foot.t[j].val);
#undef GL_RENUMBER
}

/* Room in the table for the records one call can make (a new arena's bin
 * headers included, even after failed attempts), and in the footer map
 * for as many binned chunks besides one for each chunk in a fastbin
 * (malloc_consolidate bins them all).  0 on host OOM. */
#define GL_RESERVE 512

static int reserve(struct gl *g)
{
	uint32_t *map;
	uint64_t ocap;
	if (!gl_map_room(&g->foot, g->env, GL_RESERVE + g->nfast_all))
		return 0;
	if (!gl_store_full(&g->s, GL_RESERVE))
		return 1;
	if (!gl_store_rehash(&g->s, gl_store_want(&g->s, GL_RESERVE), &map, &ocap))
		return 0;
	renumber(g, map);
	gl_store_free_map(&g->s, map, ocap);
	return 1;
}

/* Give chunk id to the program: its mem address and usable size (whose
 * remainder modulo 16 tells an mmapped chunk, see is_heap_block). */
static uint64_t hand_out(struct gl *g, uint32_t id, uint64_t *usable)
{
	struct gl_rec *r = REC(g, id);
	uint64_t mem = r->addr + GL_HDR;
	*usable = r->size - (r->st == GL_MMAP ? GL_HDR : GL_SIZE_SZ);
	drop_user(g, id);
	return mem;
}

static struct gl_thread *thread_fast(struct gl *g, uint32_t tid)
{
	struct gl_thread *t = tid < g->nth ? g->th[tid] : NULL;
	return t ? t : thread_of(g, tid);
}

static uint64_t gl_alloc(void *self, uint32_t tid, uint64_t size,
			 uint64_t align, unsigned flags, uint64_t *usable)
{
	struct gl *g = self;
	struct gl_thread *t = reserve(g) ? thread_fast(g, tid) : NULL;
	if (!t)
		return 0;
	uint64_t nb = gl_checked_request2size(size);
	if (align <= GL_ALIGN && !(flags & STRAT_ZERO) && nb && t->has_tcache) {
		/* __libc_malloc's tcache hit: no record is read */
		uint64_t tc = gl_tidx(nb);
		if (tc < g->tcache_bins && t->counts[tc]) {
			uint64_t addr = t->ent[tc][--t->counts[tc]];
			g->hits++;
			wr(g, addr + 24, 8);
			*usable = tc_size(tc) - GL_SIZE_SZ;
			return addr + GL_HDR;
		}
	}
	uint32_t id;
	if (align > GL_ALIGN)
		id = lib_memalign(g, t, align, size);
	else if (flags & STRAT_ZERO)
		id = lib_calloc(g, t, size);
	else
		id = lib_malloc(g, t, size);
	return id ? hand_out(g, id, usable) : 0;
}

/* Is the block of this usable size in a heap (not mmapped)?  A heap
 * chunk's usable size is its size less SIZE_SZ, an mmapped chunk's its
 * size less the header, and both sizes are multiples of 16: glibc reads
 * the IS_MMAPPED bit, the model this remainder. */
static int is_heap_block(uint64_t usable)
{
	return (usable & GL_MASK) == GL_SIZE_SZ;
}

/* A record for the block at addr the program hands back, 0 if it is not
 * a block handed out: a chunk in use has none yet (the engine has checked
 * that the block is live), an mmapped one has. */
static uint32_t block_of(struct gl *g, uint64_t addr, uint64_t usable)
{
	if (is_heap_block(usable))
		return user_rec(g, addr - GL_HDR, usable + GL_SIZE_SZ);
	uint32_t id = gl_find(&g->s, addr - GL_HDR);
	if (!id || REC(g, id)->st != GL_MMAP) {
		g->fault = 1;        /* not ours */
		return 0;
	}
	return id;
}

static void gl_free(void *self, uint32_t tid, uint64_t addr, uint64_t usable)
{
	struct gl *g = self;
	if (!reserve(g))
		return;
	struct gl_thread *t = thread_fast(g, tid);
	if (t && t->has_tcache && is_heap_block(usable)) {
		/* _int_free's tcache put, straight from __libc_free */
		uint64_t tc = gl_tidx(usable + GL_SIZE_SZ);
		if (tc < g->tcache_bins && tc_room(g, t, tc)) {
			t->ent[tc][t->counts[tc]++] = addr - GL_HDR;
			wr(g, addr, 16);
			return;
		}
	}
	uint32_t id = block_of(g, addr, usable);
	if (id)
		lib_free(g, t, id);
}

static uint64_t gl_realloc(void *self, uint32_t tid, uint64_t addr,
			   uint64_t old_usable, uint64_t size, uint64_t *usable)
{
	struct gl *g = self;
	struct gl_thread *t = reserve(g) ? thread_fast(g, tid) : NULL;
	uint32_t id = t ? block_of(g, addr, old_usable) : 0;
	if (!id)
		return 0;
	uint32_t n = lib_realloc(g, t, id, size);
	if (!n) {
		drop_user(g, id);    /* failed: the block stays as it was */
		return 0;
	}
	return hand_out(g, n, usable);
}

/* malloc_trim(0) (9.3), the strategy's release_os: every arena is
 * consolidated and the whole pages inside its large free chunks are
 * madvised away; the main arena's top is trimmed to nothing. */
static void gl_release_os(void *self)
{
	struct gl *g = self;
	const unsigned first = gl_largebin_index(GL_PAGE);
	const uint64_t keep = 48;         /* sizeof(struct malloc_chunk) */
	if (!reserve(g))
		return;                       /* no host memory: nothing released */
	for (uint32_t i = 0; i < g->narenas; i++) {
		struct gl_arena *av = g->ar[i];
		lock(g, av);
		consolidate(g, av);
		for (unsigned b = 1; b < GL_NBINS; b++) {
			if (b != 1 && b < first)
				continue;
			uint32_t h = hdr(av, b);
			for (uint32_t id = REC(g, h)->bk; id != h; id = REC(g, id)->bk) {
				const struct gl_rec *r = REC(g, id);
				if (r->size <= GL_PAGE - 1 + keep)
					continue;
				uint64_t a = gl_align_up(r->addr + keep, GL_PAGE);
				uint64_t left = r->size - (a - r->addr);
				if (left <= GL_PAGE - 1)
					continue;
				left = gl_align_down(left, GL_PAGE);
				simos_madvise_dontneed(g->os, a, left);
				gl_forget(&g->s, a, left);
			}
		}
		if (i == 0 && av->top)
			systrim(g, 0, av);
	}
}

/* ---- check: the records against the heaps and the bookkeeping ------------- */

/* A chunk's record, for walking them in address order. */
struct gl_at {
	uint64_t addr;
	uint32_t id, pad;
};

static int by_addr(const void *a, const void *b)
{
	uint64_t x = ((const struct gl_at *)a)->addr;
	uint64_t y = ((const struct gl_at *)b)->addr;
	return (x > y) - (x < y);
}

struct gl_tally {
	uint64_t nbin, bin_bytes, nfast, fast_bytes, chunks;
};

/* The first of the n records in at[] (sorted) at or above addr. */
static uint64_t first_at(const struct gl_at *at, uint64_t n, uint64_t addr)
{
	uint64_t lo = 0, hi = n;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (at[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int bad_chunk(const struct gl_arena *av, const struct gl_rec *r,
		     struct sim_err *err)
{
	return SIM_ERR(err, SIM_ECHECK, "glibc: arena %u: bad chunk at 0x%llx "
		       "(state %u, size %llu)", av->idx, (unsigned long long)r->addr,
		       r->st, (unsigned long long)r->size);
}

/* The records inside heap h of av: whole chunks of av, disjoint, apart
 * by nothing or by chunks in use (at least MINSIZE); no two binned ones
 * adjacent, each binned one with its footer; the top or a fencepost
 * last, ending the heap.  The chunks in use have no records: their sizes
 * are the engine's to check. */
static int check_heap(struct gl *g, const struct gl_arena *av,
		      const struct gl_heap *h, const struct gl_at *at,
		      uint64_t n, struct gl_tally *tl, struct sim_err *err)
{
	uint64_t end = h->base + h->size, prev_end = 0;
	uint8_t prev_st = GL_UNUSED;
	for (uint64_t i = first_at(at, n, h->base); i < n && at[i].addr < end; i++) {
		const struct gl_rec *r = REC(g, at[i].id);
		uint64_t gap = prev_end ? r->addr - prev_end : 0;
		if (r->addr < prev_end || (gap && gap < GL_MINSIZE) ||
		    (gap & GL_MASK) || r->size < GL_HDR || (r->size & GL_MASK) ||
		    r->size > end - r->addr || r->arena != av->idx ||
		    r->st < GL_FAST || r->st > GL_FENCE)
			return bad_chunk(av, r, err);
		if (r->st == GL_BIN && prev_st == GL_BIN && !gap)
			return SIM_ERR(err, SIM_ECHECK, "glibc: free chunks at 0x%llx "
				       "not coalesced", (unsigned long long)r->addr);
		if (r->st == GL_BIN && prev_bin(g, r->addr + r->size) != at[i].id)
			return SIM_ERR(err, SIM_ECHECK, "glibc: binned chunk at 0x%llx "
				       "without its footer", (unsigned long long)r->addr);
		if (r->st == GL_TOP && at[i].id != av->top)
			return SIM_ERR(err, SIM_ECHECK, "glibc: stray top chunk");
		tl->nbin += r->st == GL_BIN;
		tl->bin_bytes += r->st == GL_BIN ? r->size : 0;
		tl->nfast += r->st == GL_FAST;
		tl->fast_bytes += r->st == GL_FAST ? r->size : 0;
		tl->chunks++;
		prev_end = r->addr + r->size;
		prev_st = r->st;
	}
	if (prev_end != end || (prev_st != GL_TOP && prev_st != GL_FENCE))
		return SIM_ERR(err, SIM_ECHECK, "glibc: arena %u: heap at 0x%llx "
			       "does not end with its top or a fencepost", av->idx,
			       (unsigned long long)h->base);
	return SIM_OK;
}

static int check_bins(struct gl *g, const struct gl_arena *av,
		      struct sim_err *err)
{
	for (unsigned b = 1; b < GL_NBINS - 1; b++) {
		uint32_t h = hdr(av, b);
		uint64_t last = UINT64_MAX;
		int n = 0;
		for (uint32_t id = REC(g, h)->fd; id != h; id = REC(g, id)->fd) {
			const struct gl_rec *r = REC(g, id);
			if (r->st != GL_BIN || r->bin != b ||
			    REC(g, r->fd)->bk != id ||
			    (b > 1 && gl_bin_index(r->size) != b) ||
			    (b >= 64 && r->size > last))
				return SIM_ERR(err, SIM_ECHECK, "glibc: arena %u: bin %u "
					       "broken at 0x%llx", av->idx, b,
					       (unsigned long long)r->addr);
			last = r->size;
			n++;
		}
		int bit = (int)(av->nonempty[b >> 6] >> (b & 63)) & 1;
		if (b > 1 && bit != (n > 0))
			return SIM_ERR(err, SIM_ECHECK, "glibc: arena %u: bin %u "
				       "map bit %d with %d chunks", av->idx, b, bit, n);
	}
	return SIM_OK;
}

static int check_arena(struct gl *g, const struct gl_arena *av,
		       const struct gl_at *at, uint64_t n, struct gl_tally *all,
		       struct sim_err *err)
{
	struct gl_tally tl = {0, 0, 0, 0, 0};
	uint64_t sum = 0;
	for (uint32_t i = 0; i < av->nheaps; i++) {
		int rc = check_heap(g, av, &av->heaps[i], at, n, &tl, err);
		if (rc != SIM_OK)
			return rc;
		sum += av->heaps[i].size;
	}
	if (tl.nbin != av->nbin || tl.bin_bytes != av->bin_bytes ||
	    tl.nfast != av->nfast || tl.fast_bytes != av->fast_bytes ||
	    (av->nheaps && sum != av->system_mem))
		return SIM_ERR(err, SIM_ECHECK, "glibc: arena %u: counts disagree "
			       "(binned %llu/%llu, fast %llu/%llu, system %llu/%llu)",
			       av->idx, (unsigned long long)tl.nbin,
			       (unsigned long long)av->nbin,
			       (unsigned long long)tl.nfast,
			       (unsigned long long)av->nfast,
			       (unsigned long long)sum,
			       (unsigned long long)av->system_mem);
	all->nbin += tl.nbin;
	all->nfast += tl.nfast;
	all->chunks += tl.chunks;
	return check_bins(g, av, err);
}

/* Every chunk's record in at[] (host memory, *n of them, sorted by
 * address); the records of each other state counted in by_st[]. */
static int gather_chunks(struct gl *g, struct gl_at **out, uint64_t *n,
			 uint64_t *by_st, struct sim_err *err)
{
	const struct gl_rec *tab = g->s.tab;
	uint64_t k = 0;
	for (uint64_t j = 1; j < g->s.cap; j++)
		if (tab[j].addr > GL_DELETED)
			by_st[tab[j].st & 7]++;
	for (unsigned st = GL_FAST; st <= GL_FENCE; st++)
		k += by_st[st];
	struct gl_at *at = k ? strat_halloc(g->env, k * sizeof *at) : NULL;
	if (k && !at)
		return SIM_ERR(err, SIM_ENOMEM, "glibc: check: out of host memory");
	k = 0;
	for (uint64_t j = 1; j < g->s.cap; j++)
		if (tab[j].addr > GL_DELETED && tab[j].st >= GL_FAST &&
		    tab[j].st <= GL_FENCE)
			at[k++] = (struct gl_at){tab[j].addr, (uint32_t)j, 0};
	if (k)
		qsort(at, k, sizeof *at, by_addr);
	*out = at;
	*n = k;
	return SIM_OK;
}

/* The counts the walk did not see: records left over, mmapped chunks and
 * bin headers, footers, heaps. */
static int check_totals(struct gl *g, const uint64_t *by_st,
			const struct gl_tally *all, uint64_t n,
			struct sim_err *err)
{
	uint64_t used = 0, heaps = 0;
	for (unsigned st = 0; st < 8; st++)
		used += by_st[st];
	for (uint32_t i = 1; i < g->narenas; i++)
		heaps += g->ar[i]->nheaps;
	if (all->chunks != n)
		return SIM_ERR(err, SIM_ECHECK, "glibc: %llu chunk records, %llu "
			       "inside the arenas' heaps", (unsigned long long)n,
			       (unsigned long long)all->chunks);
	if (by_st[GL_USER] || by_st[GL_UNUSED])
		return SIM_ERR(err, SIM_ECHECK, "glibc: records left of %llu "
			       "chunks in use and %llu without a state",
			       (unsigned long long)by_st[GL_USER],
			       (unsigned long long)by_st[GL_UNUSED]);
	if (by_st[GL_MMAP] != g->n_mmaps ||
	    by_st[GL_BINHDR] != (uint64_t)GL_NBINS * g->narenas || used != g->s.used)
		return SIM_ERR(err, SIM_ECHECK, "glibc: %llu records for %llu "
			       "mmapped chunks and %u arenas' bin headers",
			       (unsigned long long)used,
			       (unsigned long long)g->n_mmaps, g->narenas);
	if (g->foot.n != all->nbin || g->heapmap.n != heaps)
		return SIM_ERR(err, SIM_ECHECK, "glibc: %llu footers for %llu "
			       "binned chunks, %llu heaps mapped of %llu",
			       (unsigned long long)g->foot.n,
			       (unsigned long long)all->nbin,
			       (unsigned long long)g->heapmap.n,
			       (unsigned long long)heaps);
	return SIM_OK;
}

static int gl_check(void *self, struct sim_err *err)
{
	struct gl *g = self;
	if (g->fault)
		return SIM_ERR(err, SIM_ECHECK, "glibc: wrote unmapped memory or "
			       "was handed an unknown block");
	uint64_t by_st[8] = {0}, n = 0;
	struct gl_at *at = NULL;
	int rc = gather_chunks(g, &at, &n, by_st, err);
	if (rc != SIM_OK)
		return rc;
	struct gl_tally all = {0, 0, 0, 0, 0};
	for (uint32_t i = 0; i < g->narenas && rc == SIM_OK; i++)
		rc = check_arena(g, g->ar[i], at, n, &all, err);
	strat_hfree(g->env, at, n * sizeof *at);
	return rc == SIM_OK ? check_totals(g, by_st, &all, n, err) : rc;
}

const struct strategy_ops strategy_glibc = {
	.abi_version = STRATEGY_ABI_VERSION,
	.name = "glibc",
	.summary = "ptmalloc2 of glibc 2.36: tcache, fastbins, bins, top, arenas",
	.state_size = sizeof(struct gl),
	.params = gl_params,
	.counter_names = gl_counter_names,
	.reclaim_default = SIM_RECLAIM_IMMEDIATE,
	.max_align = 16,
	.init = gl_init,
	.fini = gl_fini,
	.alloc = gl_alloc,
	.free = gl_free,
	.realloc = gl_realloc,
	.check = gl_check,
	.counters = gl_counters,
	.release_os = gl_release_os,
};
