/*
 * buddy.c - the binary buddy system (Knowlton, "A fast storage allocator",
 * CACM 8(10), 1965; Knuth, TAOCP vol. 1, §2.5, Algorithms R and S), a
 * literature baseline: fast, simple, and known for the internal
 * fragmentation of rounding every request up to a power of two.
 *
 * Model.  Memory comes from the simulated OS in regions of max_block bytes
 * (default 4 MiB), each mapped aligned to its own size, so every block of
 * 2^k bytes inside is aligned to 2^k and its buddy is found by flipping one
 * address bit.  A request of n bytes with alignment a takes the smallest
 * block of min_block << k >= max(n, a) bytes (min_block defaults to 16, the
 * C allocators' alignment): the smallest non-empty free list of order >= k
 * gives a block (Algorithm R), split in halves down to order k, the upper
 * halves going on their free lists.  A freed block merges with its buddy at
 * once while the buddy is free and of the same order (Algorithm S).  A
 * region that becomes entirely free is unmapped when more than keep_regions
 * (default 1) free regions would be held.  Requests above max_block (or
 * aligned beyond it) get their own mmap, rounded up to pages and aligned by
 * over-mapping and trimming.
 *
 * Regions are placed with a hint just below the previous one (or where a
 * region was last unmapped); when the OS puts the mapping elsewhere,
 * unaligned, it is unmapped and mapped again at twice the size, and the
 * ends are trimmed, as jemalloc does for its chunks.
 *
 * Where the bytes are.  The design is headerless: usable size = block size,
 * and alignment costs nothing beyond the order.  A block's order is known
 * from the usable size the engine passes back to free and realloc (sized
 * deallocation; Knuth's Algorithm S is likewise given the block's size),
 * checked against a host bitmap of used block starts, one bit per
 * min_block unit.  Free blocks are on doubly linked LIFO lists, one per
 * order; their links and orders (Knuth's LINKF, LINKB, TAG and KVAL) are
 * kept in host nodes, one per free block, with a hash index from block to
 * node, which is also how a block's buddy is found free and of the same
 * order in O(1).  Host memory is thus one bit per unit of the mapped
 * regions plus a few words per free block, not per unit.  The modelled
 * allocator keeps the links in the first 16 bytes of each free block, so
 * every link write is a write of those bytes: the block pushed, its new
 * neighbour, the blocks either side of one unlinked.  A per-region bitmap
 * remembers the pages this allocator has written since the region was
 * mapped; writes there are not passed to simos_touch, which would find
 * the page resident and change nothing (no one else releases our pages).
 *
 * Realloc stays in place when the new size fits the current block (a shrink
 * splits off the upper halves and frees them) or when the buddies to the
 * right are free and of the right orders up to the needed order (they are
 * merged in); a large block shrinks or grows in place with mremap (no move)
 * when the OS allows it.  Otherwise it allocates anew and frees the old
 * block; the engine models the copy.
 *
 * Simplifications:
 *  1. Headerless, with the state on the host: a real buddy allocator keeps
 *     a header (Knuth: tag and order in every block) or, like the Linux
 *     page allocator, a map outside the blocks.  meta_bytes is 0.
 *  2. free trusts the usable size the engine reports (the contract says it
 *     is what alloc returned); the used-start bitmap catches frees of
 *     addresses that are no block start, not a wrong size.
 *  3. One global lock, counted once per operation; no thread cache, so
 *     cache_hits and cache_misses stay 0.
 *  4. calloc (STRAT_ZERO) always clears the requested bytes of a buddy
 *     block, even in a region fresh from mmap; large mmaps read as zero.
 *  5. Only the link bytes of free blocks are written by the allocator.
 *  6. Block ids are 32 bits: at most 2^32 min_block units of regions (64
 *     GiB at min_block = 16); beyond that alloc fails.
 *  7. Free regions are kept whole or unmapped whole (no madvise of free
 *     blocks inside a region).
 *  8. A write the OS refuses as a segfault is kept for check to report; an
 *     OOM kill (memory limit) is the engine's to see in simos.
 */
#include "strategy.h"
#include "simos.h"

#include <string.h>

#define NIL        UINT32_MAX   /* no block: end of a free list */
#define LINK_BYTES 16           /* the two links a free block holds */
#define MAX_TOP    26           /* orders in a region are 0..top */
#define FM_MIN     64           /* smallest free-block index */
#define FM_MUL     0x9E3779B1u  /* Fibonacci hashing of block ids */

/* ---- state ------------------------------------------------------------ */

/* A slot of the region table: a region of max_block bytes mapped aligned
 * to max_block, with its bitmaps (one allocation; NULL: slot unused).  The
 * spare fields hold a LIFO stack of unused slot numbers. */
struct slot {
	uint64_t base;
	uint64_t *used;          /* bit u: a used block starts at unit u */
	uint64_t *dirty;         /* bit p: we wrote page p (after used[]) */
	uint32_t spare;
};

/* A free block (id = slot << top | unit): its list links (node numbers)
 * and its order, 16 bytes; its index entry is found by id.  Nodes live in
 * a pool; unused ones are chained through next. */
struct fnode { uint32_t id, prev, next, ord; };
/* The hash index: block id -> node number, linear probing.  An entry is
 * the node number alone (NIL: empty); the id it stands for is the node's,
 * which halves the index, most of the host memory per free block after
 * the nodes (an extra load per probe, no extra probes). */

/* Open-addressing hash map, u64 -> u64, linear probing. */
struct hent { uint64_t key, val; };
struct hmap { struct hent *e; uint64_t cap, n; };
#define HM_EMPTY UINT64_MAX

enum {
	C_SPLITS, C_MERGES, C_REG_MAPPED, C_REG_UNMAPPED, C_LARGE,
	C_INPLACE, C_LOCKS, NCOUNT
};

struct buddy {
	const struct strategy_env *env;
	struct simos *os;
	unsigned min_shift, max_shift, top;
	uint64_t keep;                 /* whole free regions kept mapped */
	uint32_t head[MAX_TOP + 1];    /* free lists by order: node numbers */
	uint64_t nfree[MAX_TOP + 1];
	uint64_t nonempty;             /* bit k: free list k is not empty */
	struct fnode *pool;            /* the free blocks */
	uint32_t npool, cappool, pool_free;
	uint32_t *fix;                 /* block id -> node */
	uint32_t fcap, fn, fshift;     /* fn: free blocks */
	struct slot *slot;
	uint32_t nslot, capslot, nspare, maxslot;
	struct hmap rmap;              /* region base >> max_shift -> slot */
	struct hmap lmap;              /* large block address -> length */
	uint64_t hint;                 /* where the next region may go */
	uint64_t nregions, nused, used_bytes, large_bytes;
	uint64_t c[NCOUNT];
	int touch_rc;                  /* SIM_ECHECK: a write hit no rw page */
	int host_oom;                  /* a free block was lost: host memory */
	uint64_t bad_addr;             /* first free of an unknown address */
	struct sim_err scratch;
};

static const struct strategy_param buddy_params[] = {
	{"min_block", PARAM_SIZE, "16", 16, 65536,
	 "smallest block, a power of two (no header: also the smallest usable size)"},
	{"max_block", PARAM_SIZE, "4M", 4096, 1073741824.0,
	 "region size and largest buddy block, a power of two; bigger requests get their own mmap"},
	{"keep_regions", PARAM_INT, "1", 0, 1e9,
	 "entirely free regions kept mapped; beyond that they are unmapped"},
	{NULL, 0, NULL, 0, 0, NULL}
};

static const char *const buddy_counters[] = {
	"cache_hits", "cache_misses", "lock_acquires", "splits", "merges",
	"regions_mapped", "regions_unmapped", "large_mmaps", "free_blocks",
	"meta_bytes", "reallocs_in_place", NULL
};

/* ---- small helpers ---------------------------------------------------- */

static uint64_t round_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static int is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static unsigned log2u(uint64_t x)
{
	return 63u - (unsigned)__builtin_clzll(x);
}

static uint64_t region_bytes(const struct buddy *b)
{
	return (uint64_t)1 << b->max_shift;
}

static uint64_t block_bytes(const struct buddy *b, unsigned k)
{
	return (uint64_t)1 << (k + b->min_shift);
}

/* The order of the smallest block holding n bytes (n <= max_block). */
static unsigned order_for(const struct buddy *b, uint64_t n)
{
	if (n <= ((uint64_t)1 << b->min_shift))
		return 0;
	return 64u - (unsigned)__builtin_clzll(n - 1) - b->min_shift;
}

static uint64_t units_per_region(const struct buddy *b)
{
	return (uint64_t)1 << b->top;
}

static size_t used_words(const struct buddy *b)
{
	return (size_t)((units_per_region(b) + 63) / 64);
}

/* Both bitmaps of a region: used starts, then written pages. */
static size_t bitmap_bytes(const struct buddy *b)
{
	uint64_t pages = region_bytes(b) >> SIMOS_PAGE_SHIFT;
	return (used_words(b) + (size_t)((pages + 63) / 64)) * sizeof(uint64_t);
}

static struct slot *reg_of(const struct buddy *b, uint32_t g)
{
	return &b->slot[g >> b->top];
}

static uint32_t unit_of(const struct buddy *b, uint32_t g)
{
	return g & ((1u << b->top) - 1);
}

static uint64_t addr_of(const struct buddy *b, uint32_t g)
{
	return reg_of(b, g)->base + ((uint64_t)unit_of(b, g) << b->min_shift);
}

static int used_test(const struct buddy *b, uint32_t g)
{
	uint32_t u = unit_of(b, g);
	return (int)((reg_of(b, g)->used[u >> 6] >> (u & 63)) & 1);
}

static void used_flip(struct buddy *b, uint32_t g)
{
	uint32_t u = unit_of(b, g);
	reg_of(b, g)->used[u >> 6] ^= (uint64_t)1 << (u & 63);
}

/* The allocator writes len bytes of simulated memory at addr. */
static void touch(struct buddy *b, uint64_t addr, uint64_t len)
{
	int rc = simos_touch(b->os, addr, len, &b->scratch);
	if (rc == SIM_ECHECK && b->touch_rc == SIM_OK)
		b->touch_rc = rc;
}

/* The first write to the page at offset off of region r. */
static void touch_page(struct buddy *b, struct slot *r, uint64_t off)
{
	uint64_t p = off >> SIMOS_PAGE_SHIFT;
	touch(b, r->base + off, LINK_BYTES);
	r->dirty[p >> 6] |= (uint64_t)1 << (p & 63);
}

/* Write the links of free block g (16 bytes never cross a page); the
 * common case, a page written before, stays inline. */
static inline void touch_links(struct buddy *b, uint32_t g)
{
	struct slot *r = reg_of(b, g);
	uint64_t off = (uint64_t)unit_of(b, g) << b->min_shift;
	uint64_t p = off >> SIMOS_PAGE_SHIFT;
	if (!((r->dirty[p >> 6] >> (p & 63)) & 1))
		touch_page(b, r, off);
}

/* ---- hash map of regions and large blocks ----------------------------- */

static uint64_t hm_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= UINT64_C(0xff51afd7ed558ccd);
	k ^= k >> 33;
	return k;
}

/* The index of key, or the empty entry where it would go. */
static uint64_t hm_slot(const struct hmap *m, uint64_t key)
{
	uint64_t i = hm_hash(key) & (m->cap - 1);
	while (m->e[i].key != HM_EMPTY && m->e[i].key != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* The entry for key, or NULL. */
static struct hent *hm_get(const struct hmap *m, uint64_t key)
{
	if (m->n == 0)
		return NULL;
	struct hent *e = &m->e[hm_slot(m, key)];
	return e->key == key ? e : NULL;
}

static int hm_resize(struct buddy *b, struct hmap *m, uint64_t cap)
{
	struct hent *e = strat_halloc(b->env, cap * sizeof *e);
	if (!e)
		return 0;
	struct hmap old = *m;
	for (uint64_t i = 0; i < cap; i++)
		e[i].key = HM_EMPTY;
	m->e = e;
	m->cap = cap;
	for (uint64_t i = 0; i < old.cap; i++)
		if (old.e[i].key != HM_EMPTY)
			m->e[hm_slot(m, old.e[i].key)] = old.e[i];
	strat_hfree(b->env, old.e, old.cap * sizeof *old.e);
	return 1;
}

/* Insert key -> val (key not present).  1, or 0 when the host is out. */
static int hm_put(struct buddy *b, struct hmap *m, uint64_t key, uint64_t val)
{
	if (2 * (m->n + 1) > m->cap && !hm_resize(b, m, m->cap ? 2 * m->cap : 16))
		return 0;
	struct hent *e = &m->e[hm_slot(m, key)];
	e->key = key;
	e->val = val;
	m->n++;
	return 1;
}

/* Remove the entry e, shifting later entries of its probe run back. */
static void hm_del(struct hmap *m, struct hent *e)
{
	uint64_t mask = m->cap - 1, i = (uint64_t)(e - m->e), j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (m->e[j].key == HM_EMPTY)
			break;
		uint64_t home = hm_hash(m->e[j].key) & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->e[i] = m->e[j];
			i = j;
		}
	}
	m->e[i].key = HM_EMPTY;
	m->n--;
}

/* ---- free-block nodes and their index ---------------------------------- */

static uint32_t fx_home(const struct buddy *b, uint32_t id)
{
	return (id * FM_MUL) >> b->fshift;
}

/* The index entry of id, or the empty entry where it would go. */
static uint32_t fx_slot(const struct buddy *b, uint32_t id)
{
	uint32_t i = fx_home(b, id);
	while (b->fix[i] != NIL && b->pool[b->fix[i]].id != id)
		i = (i + 1) & (b->fcap - 1);
	return i;
}

/* The node of free block id, or NIL when id is not a free block. */
static uint32_t fx_node(const struct buddy *b, uint32_t id)
{
	if (b->fcap == 0)
		return NIL;
	return b->fix[fx_slot(b, id)];
}

/* Rebuild the index with cap entries from the pool's nodes in use (a
 * dropped node's id is NIL).  The table is resized where it is (realloc,
 * which for a table this large moves pages rather than copying them), so
 * the old and the new table are not both resident at the peak: before, a
 * rebuild held both.  1, or 0 when the host is out of memory (index
 * unchanged). */
static int fx_rehash(struct buddy *b, uint32_t cap)
{
	uint32_t *e = strat_hrealloc(b->env, b->fix,
				     (size_t)b->fcap * sizeof *e,
				     (size_t)cap * sizeof *e);
	if (!e)
		return 0;
	for (uint32_t i = 0; i < cap; i++)
		e[i] = NIL;
	b->fix = e;
	b->fcap = cap;
	b->fshift = 32 - log2u(cap);
	for (uint32_t n = 0; n < b->npool; n++)
		if (b->pool[n].id != NIL)
			e[fx_slot(b, b->pool[n].id)] = n;
	return 1;
}

/* The pool grows by half, not doubling: its untouched tail costs no RSS,
 * but the host-memory peak counts it. */
static int pool_grow(struct buddy *b, uint64_t need)
{
	uint64_t cap = b->cappool ? b->cappool : FM_MIN / 2;
	while (cap < need)
		cap += cap / 2;
	if (cap >= NIL)
		return 0;
	struct fnode *p = strat_hrealloc(b->env, b->pool,
		(size_t)b->cappool * sizeof *p, (size_t)cap * sizeof *p);
	if (!p)
		return 0;
	b->pool = p;
	b->cappool = (uint32_t)cap;
	return 1;
}

/* Room in an index of cap entries for need free blocks: at most half
 * full (2/3 would save a quarter of its memory on average, but took
 * 2.6 % more instructions on a 2 M-event scale trace in longer probe
 * runs, callgrind, with 4-byte entries). */
static int fx_room(uint64_t need, uint64_t cap)
{
	return 2 * need <= cap;
}

/* Grow the pool and the index for need free blocks. */
static int fx_grow(struct buddy *b, uint64_t need)
{
	uint64_t cap = b->fcap ? b->fcap : FM_MIN;
	if (need > b->cappool && !pool_grow(b, need))
		return 0;
	if (fx_room(need, b->fcap))
		return 1;
	while (!fx_room(need, cap))
		cap *= 2;
	return cap < NIL && fx_rehash(b, (uint32_t)cap);
}

/* Make room for extra more free blocks: 1, or 0 when the host is out of
 * memory. */
static inline int fx_reserve(struct buddy *b, uint32_t extra)
{
	uint64_t need = (uint64_t)b->fn + extra;
	return (need <= b->cappool && fx_room(need, b->fcap)) ||
	       fx_grow(b, need);
}

/* A new node for free block id (not present, links unset), or NIL when
 * the host refuses the memory. */
static uint32_t node_new(struct buddy *b, uint32_t id)
{
	uint32_t n;
	if (!fx_reserve(b, 1) && (b->fn + 1 >= b->fcap || b->fn >= b->cappool))
		return NIL;
	if (b->pool_free != NIL) {
		n = b->pool_free;
		b->pool_free = b->pool[n].next;
	} else {
		n = b->npool++;
	}
	uint32_t i = fx_slot(b, id);
	b->fix[i] = n;
	b->pool[n].id = id;
	b->fn++;
	return n;
}

/* Drop node n and its index entry, shifting later entries of its probe
 * run back. */
static void node_del(struct buddy *b, uint32_t n)
{
	uint32_t mask = b->fcap - 1, i = fx_slot(b, b->pool[n].id), j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (b->fix[j] == NIL)
			break;
		uint32_t home = fx_home(b, b->pool[b->fix[j]].id);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			b->fix[i] = b->fix[j];
			i = j;
		}
	}
	b->fix[i] = NIL;
	b->pool[n].id = NIL;
	b->pool[n].next = b->pool_free;
	b->pool_free = n;
	b->fn--;
}

/* ---- free lists ------------------------------------------------------- */

/* Put block g of order k at the head of free list k.  When the host has
 * no memory for its node the block is lost: it stays counted as used,
 * and check reports it. */
static void list_push(struct buddy *b, uint32_t g, unsigned k)
{
	uint32_t h = b->head[k], n = node_new(b, g);
	if (n == NIL) {
		b->used_bytes += block_bytes(b, k);
		b->host_oom = 1;
		return;
	}
	b->pool[n].prev = NIL;
	b->pool[n].next = h;
	b->pool[n].ord = k;
	if (h != NIL) {
		b->pool[h].prev = n;
		touch_links(b, b->pool[h].id);
	}
	b->head[k] = n;
	b->nfree[k]++;
	b->nonempty |= (uint64_t)1 << k;
	touch_links(b, g);
}

/* Take free block node n off its list and drop the node. */
static void list_unlink(struct buddy *b, uint32_t n)
{
	const struct fnode *f = &b->pool[n];
	uint32_t p = f->prev, x = f->next, k = f->ord;
	if (p != NIL) {
		b->pool[p].next = x;
		touch_links(b, b->pool[p].id);
	} else {
		b->head[k] = x;
	}
	if (x != NIL) {
		b->pool[x].prev = p;
		touch_links(b, b->pool[x].id);
	}
	node_del(b, n);
	b->nfree[k]--;
	if (b->head[k] == NIL)
		b->nonempty &= ~((uint64_t)1 << k);
}

/* The node of g when g is a free block of order k, else NIL. */
static uint32_t free_buddy(const struct buddy *b, uint32_t g, unsigned k)
{
	uint32_t n = fx_node(b, g);
	return n != NIL && b->pool[n].ord == k ? n : NIL;
}

/* ---- regions ---------------------------------------------------------- */

/* Map len bytes aligned to align: at hint when the OS gives exactly that,
 * else by over-mapping len + align - page and trimming both ends. */
static int map_aligned(struct buddy *b, uint64_t len, uint64_t align,
		       uint64_t hint, uint64_t *out)
{
	uint64_t a, p, span;
	if (hint && simos_mmap(b->os, hint, len, SIMOS_PROT_RW, 0, &a) == SIM_OK) {
		if ((a & (align - 1)) == 0) {
			*out = a;
			return SIM_OK;
		}
		simos_munmap(b->os, a, len);
	}
	span = align > SIMOS_PAGE_SIZE ? len + align - SIMOS_PAGE_SIZE : len;
	if (span < len || simos_mmap(b->os, 0, span, SIMOS_PROT_RW, 0, &a) != SIM_OK)
		return SIM_ENOMEM;
	p = round_up(a, align);
	if (p > a)
		simos_munmap(b->os, a, p - a);
	if (a + span > p + len)
		simos_munmap(b->os, p + len, a + span - (p + len));
	*out = p;
	return SIM_OK;
}

/* A free slot number (growing the slot table), or NIL. */
static uint32_t slot_take(struct buddy *b)
{
	if (b->nspare)
		return b->slot[--b->nspare].spare;
	if (b->nslot == b->maxslot)
		return NIL;
	if (b->nslot == b->capslot) {
		uint32_t cap = b->capslot ? 2 * b->capslot : 8;
		struct slot *s = strat_hrealloc(b->env, b->slot,
			b->capslot * sizeof *s, cap * sizeof *s);
		if (!s)
			return NIL;
		b->slot = s;
		b->capslot = cap;
	}
	b->slot[b->nslot].used = NULL;
	return b->nslot++;
}

/* Map a new region; its whole block (order top, not on any list) goes to
 * *g.  1 on success, 0 when the OS or the host refuses. */
static int region_map(struct buddy *b, uint32_t *g)
{
	uint64_t base;
	uint32_t s = slot_take(b);
	if (s == NIL)
		return 0;
	uint64_t *used = strat_halloc(b->env, bitmap_bytes(b));
	if (!used || map_aligned(b, region_bytes(b), region_bytes(b), b->hint,
				 &base) != SIM_OK)
		goto fail;
	if (!hm_put(b, &b->rmap, base >> b->max_shift, s)) {
		simos_munmap(b->os, base, region_bytes(b));
		goto fail;
	}
	memset(used, 0, bitmap_bytes(b));
	b->slot[s].base = base;
	b->slot[s].used = used;
	b->slot[s].dirty = used + used_words(b);
	b->hint = base > region_bytes(b) ? base - region_bytes(b) : 0;
	b->nregions++;
	b->c[C_REG_MAPPED]++;
	*g = s << b->top;
	return 1;
fail:
	strat_hfree(b->env, used, bitmap_bytes(b));
	b->slot[b->nspare++].spare = s;
	return 0;
}

/* Unmap the region whose whole block is g (not on any list). */
static void region_release(struct buddy *b, uint32_t g)
{
	uint32_t s = g >> b->top;
	struct slot *r = &b->slot[s];
	simos_munmap(b->os, r->base, region_bytes(b));
	hm_del(&b->rmap, hm_get(&b->rmap, r->base >> b->max_shift));
	b->hint = r->base;
	strat_hfree(b->env, r->used, bitmap_bytes(b));
	r->used = NULL;
	b->slot[b->nspare++].spare = s;
	b->nregions--;
	b->c[C_REG_UNMAPPED]++;
}

/* ---- blocks ----------------------------------------------------------- */

/* Take a block of order k: from the smallest non-empty list of order >= k
 * or a new region, split down to k.  1 and *out, or 0 when out of memory.
 * The caller has reserved room for top + 1 free-block nodes. */
static int block_take(struct buddy *b, unsigned k, uint32_t *out)
{
	uint64_t mask = b->nonempty >> k;
	unsigned j;
	uint32_t g;
	if (mask) {
		j = k + (unsigned)__builtin_ctzll(mask);
		g = b->pool[b->head[j]].id;
		list_unlink(b, b->head[j]);
	} else {
		if (!region_map(b, &g))
			return 0;
		j = b->top;
	}
	while (j > k) {
		j--;
		list_push(b, g + (1u << j), j);
		b->c[C_SPLITS]++;
	}
	used_flip(b, g);
	b->nused++;
	b->used_bytes += block_bytes(b, k);
	*out = g;
	return 1;
}

/* Give back used block g of order k: merge it with its free buddies, then
 * list the result or unmap its region when it is a whole spare region. */
static void block_give(struct buddy *b, uint32_t g, unsigned k)
{
	uint32_t n;
	used_flip(b, g);
	b->nused--;
	b->used_bytes -= block_bytes(b, k);
	while (k < b->top && (n = free_buddy(b, g ^ (1u << k), k)) != NIL) {
		list_unlink(b, n);
		g &= ~(1u << k);
		k++;
		b->c[C_MERGES]++;
	}
	if (k == b->top && b->nfree[k] >= b->keep)
		region_release(b, g);
	else
		list_push(b, g, k);
}

/* The used block at addr with usable size usable: 1 with *g and *k, or 0
 * when there is none. */
static int block_find(const struct buddy *b, uint64_t addr, uint64_t usable,
		      uint32_t *g, unsigned *k)
{
	struct hent *e = hm_get(&b->rmap, addr >> b->max_shift);
	if (!e || usable > region_bytes(b))
		return 0;
	unsigned o = order_for(b, usable);
	uint64_t off = addr - b->slot[e->val].base;
	if (usable != block_bytes(b, o) || (off & (block_bytes(b, o) - 1)))
		return 0;
	*g = ((uint32_t)e->val << b->top) | (uint32_t)(off >> b->min_shift);
	*k = o;
	return used_test(b, *g);
}

/* ---- large blocks (own mmap) ------------------------------------------ */

static uint64_t large_alloc(struct buddy *b, uint64_t size, uint64_t align,
			    uint64_t *usable)
{
	uint64_t len = round_up(size ? size : 1, SIMOS_PAGE_SIZE), addr;
	uint64_t al = align > SIMOS_PAGE_SIZE ? align : SIMOS_PAGE_SIZE;
	if (len < size || map_aligned(b, len, al, 0, &addr) != SIM_OK)
		return 0;
	if (!hm_put(b, &b->lmap, addr, len)) {
		simos_munmap(b->os, addr, len);
		return 0;
	}
	b->large_bytes += len;
	b->c[C_LARGE]++;
	*usable = len;
	return addr;
}

static void large_free(struct buddy *b, struct hent *e)
{
	simos_munmap(b->os, e->key, e->val);
	b->large_bytes -= e->val;
	hm_del(&b->lmap, e);
}

/* Resize a large block in place with mremap (no move): 1 on success. */
static int large_resize(struct buddy *b, struct hent *e, uint64_t size,
			uint64_t *usable)
{
	uint64_t len = round_up(size, SIMOS_PAGE_SIZE), na;
	if (len < size)
		return 0;
	if (len != e->val &&
	    simos_mremap(b->os, e->key, e->val, len, 0, &na) != SIM_OK)
		return 0;
	b->large_bytes = b->large_bytes - e->val + len;
	e->val = len;
	*usable = len;
	return 1;
}

/* ---- operations ------------------------------------------------------- */

/* alloc without the lock count, for realloc. */
static uint64_t alloc_any(struct buddy *b, uint64_t size, uint64_t align,
			  uint64_t *usable)
{
	uint64_t n = size > align ? size : align;
	uint32_t g;
	if (n > region_bytes(b))
		return large_alloc(b, size, align, usable);
	unsigned k = order_for(b, n);
	if (!fx_reserve(b, b->top + 1) || !block_take(b, k, &g))
		return 0;
	*usable = block_bytes(b, k);
	return addr_of(b, g);
}

static uint64_t buddy_alloc(void *self, uint32_t tid, uint64_t size,
			    uint64_t align, unsigned flags, uint64_t *usable)
{
	struct buddy *b = self;
	(void)tid;
	b->c[C_LOCKS]++;
	uint64_t a = alloc_any(b, size, align, usable);
	if (a && (flags & STRAT_ZERO) && size && *usable <= region_bytes(b))
		touch(b, a, size);   /* memset; fresh large mmaps read as zero */
	return a;
}

static void buddy_free(void *self, uint32_t tid, uint64_t addr, uint64_t usable)
{
	struct buddy *b = self;
	uint32_t g;
	unsigned k;
	struct hent *e;
	(void)tid;
	b->c[C_LOCKS]++;
	if (block_find(b, addr, usable, &g, &k))
		block_give(b, g, k);
	else if ((e = hm_get(&b->lmap, addr)) != NULL)
		large_free(b, e);
	else if (!b->bad_addr)
		b->bad_addr = addr;
}

/* Shrink block g from order k to order nk < k, freeing the upper halves
 * (their buddies, our lower halves, are in use: nothing merges). */
static void block_shrink(struct buddy *b, uint32_t g, unsigned k, unsigned nk)
{
	b->used_bytes -= block_bytes(b, k) - block_bytes(b, nk);
	while (k > nk) {
		k--;
		list_push(b, g + (1u << k), k);
		b->c[C_SPLITS]++;
	}
}

/* Grow block g from order k to nk > k by merging the free buddies to its
 * right; 1 on success, 0 (nothing changed) when they are not all free. */
static int block_grow(struct buddy *b, uint32_t g, unsigned k, unsigned nk)
{
	for (unsigned j = k; j < nk; j++)
		if ((g & (1u << j)) || free_buddy(b, g | (1u << j), j) == NIL)
			return 0;
	for (unsigned j = k; j < nk; j++) {
		list_unlink(b, fx_node(b, g | (1u << j)));
		b->c[C_MERGES]++;
	}
	b->used_bytes += block_bytes(b, nk) - block_bytes(b, k);
	return 1;
}

/* Resize buddy block g of order k in place: 1 and *usable, or 0. */
static int block_resize(struct buddy *b, uint32_t g, unsigned k, uint64_t size,
			uint64_t *usable)
{
	if (size > region_bytes(b) || !fx_reserve(b, b->top + 1))
		return 0;
	unsigned nk = order_for(b, size);
	if (nk < k)
		block_shrink(b, g, k, nk);
	else if (nk > k && !block_grow(b, g, k, nk))
		return 0;
	*usable = block_bytes(b, nk);
	return 1;
}

static uint64_t buddy_realloc(void *self, uint32_t tid, uint64_t addr,
			      uint64_t old_usable, uint64_t size,
			      uint64_t *usable)
{
	struct buddy *b = self;
	uint32_t g = 0;
	unsigned k = 0;
	struct hent *e = NULL;
	(void)tid;
	b->c[C_LOCKS]++;
	int small = block_find(b, addr, old_usable, &g, &k);
	if (!small && (e = hm_get(&b->lmap, addr)) == NULL) {
		if (!b->bad_addr)
			b->bad_addr = addr;
		return 0;
	}
	if (small ? block_resize(b, g, k, size, usable)
		  : size > region_bytes(b) && large_resize(b, e, size, usable)) {
		b->c[C_INPLACE]++;
		return addr;
	}
	uint64_t na = alloc_any(b, size, 0, usable);
	if (!na)
		return 0;
	if (small)
		block_give(b, g, k);
	else   /* the map may have moved: look the entry up again */
		large_free(b, hm_get(&b->lmap, addr));
	return na;
}

/* ---- check ------------------------------------------------------------ */

/* 1 when a used block starts inside free block g of order k. */
static int used_inside(const struct buddy *b, uint32_t g, unsigned k)
{
	const uint64_t *w = reg_of(b, g)->used;
	uint64_t u = unit_of(b, g), end = u + ((uint64_t)1 << k);
	for (; u < end && (u & 63); u++)
		if ((w[u >> 6] >> (u & 63)) & 1)
			return 1;
	for (; u + 64 <= end; u += 64)
		if (w[u >> 6])
			return 1;
	for (; u < end; u++)
		if ((w[u >> 6] >> (u & 63)) & 1)
			return 1;
	return 0;
}

/* Check node n on free list k after node prev.  SIM_OK or SIM_ECHECK. */
static int check_node(const struct buddy *b, uint32_t n, unsigned k,
		      uint32_t prev, struct sim_err *err)
{
	const struct fnode *f = &b->pool[n];
	uint32_t g = f->id;
	if (n >= b->npool || (g >> b->top) >= b->nslot || !reg_of(b, g)->used ||
	    fx_node(b, g) != n)
		return SIM_ERR(err, SIM_ECHECK, "buddy: list %u: bad node %u", k, n);
	if (f->ord != k || (g & ((1u << k) - 1)) || f->prev != prev)
		return SIM_ERR(err, SIM_ECHECK, "buddy: list %u: block %#llx misfiled",
			       k, (unsigned long long)addr_of(b, g));
	if (k < b->top && free_buddy(b, g ^ (1u << k), k) != NIL)
		return SIM_ERR(err, SIM_ECHECK,
			       "buddy: free buddies %#llx unmerged at order %u",
			       (unsigned long long)addr_of(b, g), k);
	if (used_inside(b, g, k))
		return SIM_ERR(err, SIM_ECHECK, "buddy: free block %#llx holds a used block",
			       (unsigned long long)addr_of(b, g));
	return SIM_OK;
}

/* Check free list k; adds its bytes to *bytes.  SIM_OK or SIM_ECHECK. */
static int check_list(const struct buddy *b, unsigned k, uint64_t *bytes,
		      struct sim_err *err)
{
	uint64_t n = 0;
	uint32_t prev = NIL;
	for (uint32_t i = b->head[k]; i != NIL && n <= b->nfree[k];
	     i = b->pool[i].next) {
		int rc = check_node(b, i, k, prev, err);
		if (rc != SIM_OK)
			return rc;
		n++;
		prev = i;
	}
	if (n != b->nfree[k] || ((b->nonempty >> k) & 1) != (n != 0))
		return SIM_ERR(err, SIM_ECHECK, "buddy: list %u: %llu blocks, counted %llu",
			       k, (unsigned long long)n, (unsigned long long)b->nfree[k]);
	*bytes += n * block_bytes(b, k);
	return SIM_OK;
}

static uint64_t popcount_region(const struct buddy *b, const struct slot *r)
{
	uint64_t n = 0;
	for (size_t i = 0; i < used_words(b); i++)
		n += (uint64_t)__builtin_popcountll(r->used[i]);
	return n;
}

/* Regions against the region map, used-block starts against the count. */
static int check_regions(const struct buddy *b, struct sim_err *err)
{
	uint64_t n = 0, starts = 0;
	for (uint32_t s = 0; s < b->nslot; s++) {
		const struct slot *r = &b->slot[s];
		if (!r->used)
			continue;
		struct hent *e = hm_get(&b->rmap, r->base >> b->max_shift);
		if (!e || e->val != s || (r->base & (region_bytes(b) - 1)))
			return SIM_ERR(err, SIM_ECHECK, "buddy: region %#llx not in the region map",
				       (unsigned long long)r->base);
		n++;
		starts += popcount_region(b, r);
	}
	if (n != b->nregions || n != b->rmap.n || starts != b->nused)
		return SIM_ERR(err, SIM_ECHECK,
			       "buddy: %llu regions (counted %llu), %llu used blocks (counted %llu)",
			       (unsigned long long)n, (unsigned long long)b->nregions,
			       (unsigned long long)starts, (unsigned long long)b->nused);
	return SIM_OK;
}

static int check_large(const struct buddy *b, struct sim_err *err)
{
	uint64_t sum = 0;
	for (uint64_t i = 0; i < b->lmap.cap; i++)
		if (b->lmap.e[i].key != HM_EMPTY)
			sum += b->lmap.e[i].val;
	if (sum != b->large_bytes)
		return SIM_ERR(err, SIM_ECHECK, "buddy: large bytes %llu, counted %llu",
			       (unsigned long long)sum,
			       (unsigned long long)b->large_bytes);
	return SIM_OK;
}

static uint64_t free_block_count(const struct buddy *b)
{
	uint64_t nf = 0;
	for (unsigned k = 0; k <= b->top; k++)
		nf += b->nfree[k];
	return nf;
}

/* Free + used bytes against the mapped regions; spare regions held. */
static int check_bytes(const struct buddy *b, uint64_t list_free,
		       struct sim_err *err)
{
	if (free_block_count(b) != b->fn)
		return SIM_ERR(err, SIM_ECHECK, "buddy: %u free-block nodes, lists hold %llu",
			       b->fn, (unsigned long long)free_block_count(b));
	if (list_free + b->used_bytes != b->nregions * region_bytes(b))
		return SIM_ERR(err, SIM_ECHECK,
			       "buddy: free %llu + used %llu != %llu bytes of regions",
			       (unsigned long long)list_free,
			       (unsigned long long)b->used_bytes,
			       (unsigned long long)(b->nregions * region_bytes(b)));
	if (b->nfree[b->top] > b->keep)
		return SIM_ERR(err, SIM_ECHECK, "buddy: %llu free regions held, keep %llu",
			       (unsigned long long)b->nfree[b->top],
			       (unsigned long long)b->keep);
	return SIM_OK;
}

static int buddy_check(void *self, struct sim_err *err)
{
	struct buddy *b = self;
	uint64_t list_free = 0;
	int rc = SIM_OK;
	if (b->touch_rc != SIM_OK)
		return SIM_ERR(err, SIM_ECHECK, "buddy: a link write failed: %s",
			       b->scratch.msg);
	if (b->bad_addr)
		return SIM_ERR(err, SIM_ECHECK, "buddy: free of unknown block %#llx",
			       (unsigned long long)b->bad_addr);
	if (b->host_oom)
		return SIM_ERR(err, SIM_ECHECK, "buddy: host out of memory, free blocks lost");
	for (unsigned k = 0; k <= b->top && rc == SIM_OK; k++)
		rc = check_list(b, k, &list_free, err);
	if (rc == SIM_OK)
		rc = check_bytes(b, list_free, err);
	if (rc == SIM_OK)
		rc = check_regions(b, err);
	return rc != SIM_OK ? rc : check_large(b, err);
}

/* ---- setup, counters -------------------------------------------------- */

static int buddy_init(void *self, const struct strategy_env *env,
		      const union param_value *params, struct sim_err *err)
{
	struct buddy *b = self;
	uint64_t minb = (uint64_t)params[0].i, maxb = (uint64_t)params[1].i;
	if (!is_pow2(minb) || !is_pow2(maxb) || minb < LINK_BYTES ||
	    maxb < SIMOS_PAGE_SIZE || maxb < 2 * minb ||
	    log2u(maxb) - log2u(minb) > MAX_TOP)
		return SIM_ERR(err, SIM_EINVAL,
			       "buddy: min_block and max_block must be powers of two "
			       "with 16 <= min_block, 4K <= max_block, "
			       "2 <= max_block/min_block <= 2^%d", MAX_TOP);
	b->env = env;
	b->os = env->os;
	b->min_shift = log2u(minb);
	b->max_shift = log2u(maxb);
	b->top = b->max_shift - b->min_shift;
	b->keep = (uint64_t)params[2].i;
	b->maxslot = (uint32_t)(((uint64_t)1 << (32 - b->top)) - 1);
	for (unsigned k = 0; k <= MAX_TOP; k++)
		b->head[k] = NIL;
	b->pool_free = NIL;
	return SIM_OK;
}

static void buddy_fini(void *self)
{
	struct buddy *b = self;
	for (uint32_t s = 0; s < b->nslot; s++)
		strat_hfree(b->env, b->slot[s].used, bitmap_bytes(b));
	strat_hfree(b->env, b->slot, b->capslot * sizeof *b->slot);
	strat_hfree(b->env, b->rmap.e, b->rmap.cap * sizeof *b->rmap.e);
	strat_hfree(b->env, b->lmap.e, b->lmap.cap * sizeof *b->lmap.e);
	strat_hfree(b->env, b->pool, (size_t)b->cappool * sizeof *b->pool);
	strat_hfree(b->env, b->fix, (size_t)b->fcap * sizeof *b->fix);
}

static void buddy_counters_fill(void *self, uint64_t *v)
{
	struct buddy *b = self;
	v[0] = 0;                    /* no thread cache */
	v[1] = 0;
	v[2] = b->c[C_LOCKS];        /* one global lock, once per operation */
	v[3] = b->c[C_SPLITS];
	v[4] = b->c[C_MERGES];
	v[5] = b->c[C_REG_MAPPED];
	v[6] = b->c[C_REG_UNMAPPED];
	v[7] = b->c[C_LARGE];
	v[8] = free_block_count(b);
	v[9] = 0;                    /* headerless: no metadata in the process */
	v[10] = b->c[C_INPLACE];
}

const struct strategy_ops strategy_buddy = {
	.abi_version = STRATEGY_ABI_VERSION,
	.name = "buddy",
	.summary = "binary buddy system (Knowlton 1965, Knuth 2.5): power-of-two blocks, immediate merging",
	.state_size = sizeof(struct buddy),
	.params = buddy_params,
	.counter_names = buddy_counters,
	.reclaim_default = SIM_RECLAIM_IMMEDIATE,
	.max_align = 16,
	.init = buddy_init,
	.fini = buddy_fini,
	.alloc = buddy_alloc,
	.free = buddy_free,
	.realloc = buddy_realloc,
	.check = buddy_check,
	.counters = buddy_counters_fill,
};
