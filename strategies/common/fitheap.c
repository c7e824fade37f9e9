/*
 * fitheap.c - the heap shared by the sequential-fit baselines: a classic
 * Unix malloc heap of boundary-tagged blocks (Knuth, TAOCP vol. 1, 2.5;
 * Wilson, Johnstone, Neely and Boles, "Dynamic Storage Allocation: A Survey
 * and Critical Review", IWMM 1995), with the placement policy (first fit,
 * best fit) supplied by the strategy as a struct fitheap_policy.
 *
 * Model:
 *   - The heap lives at the program break.  When no free block fits, the
 *     break grows by max(shortfall, `grow`) rounded up to pages; the free
 *     block at the top absorbs the growth.  If sbrk fails (a mapping in the
 *     way, the fault plan) an extra region of max(request, `grow`) bytes is
 *     mmap'd instead; it is not contiguous with anything.
 *   - A region [start, start + len) holds an 8-byte pad, the blocks, and an
 *     8-byte epilogue header at its end.  A block is a multiple of 16 bytes,
 *     at least 32, starts 8 bytes before a 16-aligned address and has an
 *     8-byte header; its payload is 16-aligned and its usable size is the
 *     block size minus 8.  A free block also has a footer (its last 8
 *     bytes) and 16 bytes of free-structure links after its header.  A
 *     header's prev-free bit tells whether the block before is free, as in
 *     dlmalloc, so blocks in use need no footer.
 *   - Free is immediate: a block merges with free neighbours on both sides.
 *   - Trim: when the free block at the top of the brk heap reaches
 *     `trim_threshold` bytes, the break shrinks by whole pages, keeping
 *     `top_pad` + 32 bytes free (glibc's systrim rule; both default to
 *     glibc's 128 KiB).  A wholly free extra region of at least
 *     `trim_threshold` bytes is unmapped.
 *   - Requests of at least `mmap_threshold` bytes get their own mapping with
 *     a 16-byte header (glibc's layout).  The default 0 turns this off, so
 *     that every request goes through the placement policy being measured.
 *   - Simulated memory is written (simos_touch) where a real implementation
 *     writes: the header of a block given out and the prev-free bit in the
 *     next header; header, links, footer and the next header's bit of each
 *     block that becomes free or changes size while free; the zeroing of a
 *     calloc'd heap block; the header of a mmap'd block.
 *
 * Host data structures (env->halloc), chosen so that an operation touches
 * few host cache lines and the model needs little host memory per block:
 *   - the free blocks, in a B+ tree keyed by address whose inner entries
 *     bound the largest free size below them, so the lowest-addressed
 *     block of at least n bytes is found in O(log n) (the idea of
 *     Stephenson's Cartesian tree, "Fast Fits", SOSP 1983, with 32-way
 *     nodes for the cache); the free neighbours of a block being freed are
 *     its predecessor and successor there.  When the policy asks for it, a
 *     second B+ tree orders the free blocks by (size, address);
 *   - nothing per block in use: free and realloc learn the block's size from
 *     the usable size the engine passes back (block size - 8), as a real
 *     free reads the header.  A bitmap of block starts (one bit per 16-byte
 *     granule, in 4 KiB pages made on first use) catches frees of addresses
 *     that are no block and lets check walk the heap;
 *   - a small open-addressing table of the blocks that have their own
 *     mapping.
 *   A free block that shrinks from the front, or grows into a neighbour in
 *   use, stays between the same free neighbours, so its address-tree entry
 *   changes in place.
 *
 * Simplifications:
 *   1. A real tree-based free structure keeps its node (several words) in
 *      the free block; we touch only 16 bytes of links.
 *   2. Aligned requests (align > 16) try the policy's first 8 candidates of
 *      the plain size, then take the policy's choice among the blocks large
 *      enough for any alignment offset (size + align + 16).
 *   3. calloc zeroes (touches) every heap block it returns, even memory
 *      fresh from the OS, which glibc would skip; mmap'd blocks are fresh
 *      zero pages and are not touched.
 *   4. One global heap and one lock: lock_acquires counts one per operation;
 *      there is no thread cache, so cache_hits is 0 and cache_misses counts
 *      every alloc and realloc.
 *   5. realloc grows in place only into a free next block (extending the
 *      break first when the block is at the top); otherwise it allocates,
 *      and frees the old block (the engine does the copy).
 *   6. The 8-byte pad at the start of a region is never written.
 *
 * The file is longer than the 1,500 lines style.md aims at because the B+
 * tree lives here too: the brief keeps shared code to fitheap.[ch].
 */
#include "fitheap.h"

#include <string.h>

#include "simos.h"

#define HDR        UINT64_C(8)     /* header word */
#define GRAIN      UINT64_C(16)    /* block size granularity, payload align */
#define MINBLK     UINT64_C(32)    /* smallest block */
#define LINKS      UINT64_C(16)    /* free-structure links after a header */
#define MMAP_HDR   UINT64_C(16)    /* header of a mmap'd block */
#define MAX_REQ    (UINT64_C(1) << 50)
#define ALIGN_TRIES 8
#define BPAGE_BITS 15                          /* granules per bitmap page */
#define BPAGE      (UINT64_C(1) << BPAGE_BITS)
#define BPAGE_HEAP (BPAGE * GRAIN)             /* heap bytes per page */
#define SPARE_BITS 4                           /* bitmap pages an op needs */

/* ---- parameters and counters ----------------------------------------- */

const struct strategy_param fitheap_params[] = {
	{"grow", PARAM_SIZE, "128K", 4096, 1099511627776.0,
	 "least bytes the heap grows by (rounded up to pages)"},
	{"trim_threshold", PARAM_SIZE, "128K", 0, 1099511627776.0,
	 "trim the break when the free top block reaches this many bytes"},
	{"top_pad", PARAM_SIZE, "128K", 0, 1099511627776.0,
	 "free bytes a trim leaves at the top of the heap (plus 32)"},
	{"mmap_threshold", PARAM_SIZE, "0", 0, 1099511627776.0,
	 "requests of at least this many bytes get their own mmap; 0 = off"},
	{NULL, 0, NULL, 0, 0, NULL}
};

/* free_blocks, free_bytes and meta_bytes are current values; the others
 * only grow.  meta_bytes: headers of blocks in use, region pads and
 * epilogues, and mmap'd headers: the overhead inside the simulated
 * process.  search_steps: B+ tree nodes visited, by searches for a fit
 * and by the descents that update the trees. */
const char *const fitheap_counter_names[] = {
	"cache_hits", "cache_misses", "lock_acquires", "free_blocks",
	"free_bytes", "heap_grows", "trims", "splits", "coalesces",
	"mmap_blocks", "realloc_in_place", "meta_bytes", "search_steps", NULL
};

/* ---- small helpers --------------------------------------------------- */

static uint64_t round_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Block size for a request of size bytes. */
static uint64_t block_need(uint64_t size)
{
	return max_u64(round_up(size + HDR, GRAIN), MINBLK);
}

/* A simulated write.  SIM_EOOM is the engine's business (simos remembers
 * the kill); anything else means the model wrote outside its heap. */
static void touch(struct fitheap *h, uint64_t addr, uint64_t len)
{
	struct sim_err e;
	int rc = simos_touch(h->env->os, addr, len, &e);
	if (rc != SIM_OK && rc != SIM_EOOM)
		h->errors++;
}

/* Writes in address order, merged into one simos_touch while they fall on
 * the same or adjacent pages (which marks exactly the same pages). */
struct tbatch {
	uint64_t lo, hi;             /* pending range; hi 0: none */
};

static void tb_flush(struct fitheap *h, struct tbatch *tb)
{
	if (tb->hi)
		touch(h, tb->lo, tb->hi - tb->lo);
	tb->hi = 0;
}

static void tb_add(struct fitheap *h, struct tbatch *tb, uint64_t a,
		   uint64_t len)
{
	uint64_t pg = SIMOS_PAGE_SHIFT;
	if (tb->hi && a >= tb->lo && (a >> pg) <= ((tb->hi - 1) >> pg) + 1) {
		tb->hi = max_u64(tb->hi, a + len);
		return;
	}
	tb_flush(h, tb);
	tb->lo = a;
	tb->hi = a + len;
}

/* Free block [a, a + size): header and links, then footer and the next
 * header's prev-free bit. */
static void tb_free(struct fitheap *h, struct tbatch *tb, uint64_t a,
		    uint64_t size)
{
	tb_add(h, tb, a, HDR + LINKS);
	tb_add(h, tb, a + size - HDR, 2 * HDR);
}

static void touch_free(struct fitheap *h, uint64_t a, uint64_t size)
{
	struct tbatch tb = {0, 0};
	tb_free(h, &tb, a, size);
	tb_flush(h, &tb);
}

/* ---- B+ trees of free blocks --------------------------------------------
 *
 * Tree w holds one entry (k1, k2) per free block: (address, size) ordered
 * by address in tree FITHEAP_BY_ADDR, (size, address) ordered by both in
 * tree FITHEAP_BY_SIZE.  Leaves hold entries in order and are linked both
 * ways; an inner node holds, per child, the child's smallest key (exact, so
 * that a key may move in place between its neighbours) and, in the address
 * tree, a bound on the sizes in the child's subtree; every node of the
 * address tree also keeps a bound on its own.  A bound is raised at once
 * when a size grows, but lowered only when a search finds it loose, so
 * that shrinking a block never rescans nodes.  Nodes split when full and are
 * dropped when empty (no merging: a tree never gets deeper than its
 * history of insertions makes it).  Nodes live in one array, linked by
 * index (0 = none), so a node is one contiguous, cache-friendly block.
 */

#define BT_CAP     32              /* entries of a leaf, children of a node */
#define BT_SPARE   32              /* nodes one operation may need */
#define BT_MAX     UINT32_C(0x7fffffff)

/* A node: a leaf is just this; an inner node (struct fitheap_inode)
 * starts with it.  Leaves, which are most nodes, thus carry no child
 * arrays: 544 bytes instead of the 928 of an inner node. */
struct fitheap_bnode {
	uint32_t n, leaf;            /* entries (or children); 1 for a leaf */
	uint32_t up, prev, next;     /* parent; leaves: neighbours in order */
	uint32_t pos;                /* its slot in its parent */
	uint64_t max;                /* address tree: largest size below */
	uint64_t k1[BT_CAP], k2[BT_CAP];
};

struct fitheap_inode {
	struct fitheap_bnode b;
	uint64_t mx[BT_CAP];         /* address tree: largest size */
	uint32_t kid[BT_CAP];        /* children */
};

/* Nodes of both kinds live in one array of 32-byte units, numbered by
 * their first unit (0 = none), so that finding a node is one multiply
 * with no test of its kind; freed nodes wait on a list per kind. */
struct fitheap_bunit {
	uint64_t w[4];
};

#define BT_UNIT    sizeof(struct fitheap_bunit)
#define BT_LEAF_U  (uint32_t)(sizeof(struct fitheap_bnode) / BT_UNIT)
#define BT_INNER_U (uint32_t)(sizeof(struct fitheap_inode) / BT_UNIT)

_Static_assert(sizeof(struct fitheap_bnode) % sizeof(struct fitheap_bunit)
	       == 0, "a leaf is whole units");
_Static_assert(sizeof(struct fitheap_inode) % sizeof(struct fitheap_bunit)
	       == 0, "an inner node is whole units");

static const struct fitheap_fit NONE;

static struct fitheap_bnode *B(const struct fitheap *h, uint32_t i)
{
	return (struct fitheap_bnode *)(void *)&h->bunits[i];
}

/* The inner node x (x->leaf is 0). */
static struct fitheap_inode *IN(struct fitheap_bnode *x)
{
	return (struct fitheap_inode *)(void *)x;
}

static const struct fitheap_inode *INC(const struct fitheap_bnode *x)
{
	return (const struct fitheap_inode *)(const void *)x;
}

/* Room for BT_SPARE more nodes of either kind.  The array grows by half
 * (not doubling): it is most of the heap's host memory. */
static int bt_reserve(struct fitheap *h)
{
	uint64_t need = (uint64_t)h->nbunits + BT_SPARE * BT_INNER_U;
	if (h->nbunits && need <= h->cap_bunits)
		return 1;
	uint64_t n = h->cap_bunits ? h->cap_bunits : 64 * BT_LEAF_U;
	while (n < need)
		n += n / 2;
	if (n > BT_MAX)
		return 0;
	void *p = strat_hrealloc(h->env, h->bunits, h->cap_bunits * BT_UNIT,
				 (size_t)n * BT_UNIT);
	if (!p)
		return 0;
	h->bunits = p;
	h->cap_bunits = (uint32_t)n;
	if (!h->nbunits)
		h->nbunits = 1;            /* node 0 means none */
	return 1;
}

/* A new empty node; room was reserved. */
static uint32_t bt_new(struct fitheap *h, int leaf)
{
	uint32_t i = h->free_bnode[leaf];
	if (i)
		h->free_bnode[leaf] = B(h, i)->next;
	else {
		i = h->nbunits;
		h->nbunits += leaf ? BT_LEAF_U : BT_INNER_U;
	}
	struct fitheap_bnode *x = B(h, i);
	x->n = 0;
	x->leaf = (uint32_t)leaf;
	x->up = x->prev = x->next = 0;
	x->max = 0;
	return i;
}

static void bt_put(struct fitheap *h, uint32_t i)
{
	struct fitheap_bnode *x = B(h, i);
	x->next = h->free_bnode[x->leaf];
	h->free_bnode[x->leaf] = i;
}

/* Key (a1, a2) before key (b1, b2) in tree w? */
static int kless(int w, uint64_t a1, uint64_t a2, uint64_t b1, uint64_t b2)
{
	return a1 < b1 || (w == FITHEAP_BY_SIZE && a1 == b1 && a2 < b2);
}

/* The first entry of x not before (k1, k2) (x->n if none). */
static uint32_t bt_lower(const struct fitheap_bnode *x, int w, uint64_t k1,
			 uint64_t k2)
{
	uint32_t lo = 0, hi = x->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (kless(w, x->k1[mid], x->k2[mid], k1, k2))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The child of inner node x whose keys may include (k1, k2). */
static uint32_t bt_route(const struct fitheap_bnode *x, int w, uint64_t k1,
			 uint64_t k2)
{
	uint32_t lo = 1, hi = x->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (kless(w, k1, k2, x->k1[mid], x->k2[mid]))
			hi = mid;
		else
			lo = mid + 1;
	}
	return INC(x)->kid[lo - 1];
}

/* The leaf where key (k1, k2) is or would be; the tree is not empty. */
static uint32_t bt_leaf(struct fitheap *h, int w, uint64_t k1, uint64_t k2)
{
	uint32_t x = h->root[w];
	while (!B(h, x)->leaf) {
		h->c_steps++;
		x = bt_route(B(h, x), w, k1, k2);
	}
	return x;
}

/* The largest size in node x's entries (address tree). */
static uint64_t bt_scan(const struct fitheap_bnode *x)
{
	const uint64_t *v = x->leaf ? x->k2 : INC(x)->mx;
	uint64_t m = 0;
	for (uint32_t i = 0; i < x->n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

static void bt_rescan(struct fitheap_bnode *x)
{
	x->max = bt_scan(x);
}

/* Record in the children of inner node x from slot i on where they are. */
static void bt_repos(struct fitheap *h, const struct fitheap_bnode *x,
		     uint32_t i)
{
	for (; i < x->n; i++)
		B(h, INC(x)->kid[i])->pos = i;
}

/* Copy child c's smallest key and largest size into slot i of p. */
static void bt_sum(struct fitheap *h, uint32_t p, uint32_t i, uint32_t c)
{
	struct fitheap_bnode *pn = B(h, p);
	const struct fitheap_bnode *cn = B(h, c);
	pn->k1[i] = cn->k1[0];
	pn->k2[i] = cn->k2[0];
	IN(pn)->mx[i] = cn->max;
	IN(pn)->kid[i] = c;
	B(h, c)->up = p;
	B(h, c)->pos = i;
}

/* Node x (not empty) changed: bring its ancestors' smallest keys up to
 * date, and raise their size bounds to x's. */
static void bt_fix(struct fitheap *h, int w, uint32_t x)
{
	for (uint32_t p = B(h, x)->up; p; x = p, p = B(h, p)->up) {
		struct fitheap_bnode *pn = B(h, p);
		const struct fitheap_bnode *xn = B(h, x);
		uint32_t i = xn->pos;
		int moved = i == 0 && (pn->k1[0] != xn->k1[0] ||
				       pn->k2[0] != xn->k2[0]), raised = 0;
		pn->k1[i] = xn->k1[0];
		pn->k2[i] = xn->k2[0];
		if (w == FITHEAP_BY_ADDR && IN(pn)->mx[i] < xn->max) {
			IN(pn)->mx[i] = xn->max;
			raised = pn->max < xn->max;
			pn->max = max_u64(pn->max, xn->max);
		}
		if (!moved && !raised)
			return;
	}
}

/* x's bound was found loose: make it exact, and its slot in its parent. */
static void bt_tighten(struct fitheap *h, uint32_t x)
{
	struct fitheap_bnode *xn = B(h, x);
	bt_rescan(xn);
	if (xn->up)
		IN(B(h, xn->up))->mx[xn->pos] = xn->max;
}

/* Open a gap at slot i of x. */
static void bt_open(struct fitheap_bnode *x, uint32_t i)
{
	uint32_t m = x->n - i;
	memmove(x->k1 + i + 1, x->k1 + i, m * sizeof x->k1[0]);
	memmove(x->k2 + i + 1, x->k2 + i, m * sizeof x->k2[0]);
	if (!x->leaf) {
		struct fitheap_inode *xi = IN(x);
		memmove(xi->mx + i + 1, xi->mx + i, m * sizeof xi->mx[0]);
		memmove(xi->kid + i + 1, xi->kid + i, m * sizeof xi->kid[0]);
	}
	x->n++;
}

/* Close slot i of x. */
static void bt_close(struct fitheap_bnode *x, uint32_t i)
{
	uint32_t m = x->n - i - 1;
	memmove(x->k1 + i, x->k1 + i + 1, m * sizeof x->k1[0]);
	memmove(x->k2 + i, x->k2 + i + 1, m * sizeof x->k2[0]);
	if (!x->leaf) {
		struct fitheap_inode *xi = IN(x);
		memmove(xi->mx + i, xi->mx + i + 1, m * sizeof xi->mx[0]);
		memmove(xi->kid + i, xi->kid + i + 1, m * sizeof xi->kid[0]);
	}
	x->n--;
}

static uint32_t bt_split(struct fitheap *h, int w, uint32_t x);

/* Hang new node y right after its sibling x, splitting upwards as needed. */
static void bt_adopt(struct fitheap *h, int w, uint32_t x, uint32_t y)
{
	uint32_t p = B(h, x)->up, i;
	if (!p) {
		p = bt_new(h, 0);
		B(h, p)->n = 2;
		h->root[w] = p;
		i = 0;
	} else {
		if (B(h, p)->n == BT_CAP) {
			bt_split(h, w, p);
			p = B(h, x)->up;
		}
		i = B(h, x)->pos;
		bt_open(B(h, p), i + 1);
		bt_repos(h, B(h, p), i + 2);
	}
	bt_sum(h, p, i, x);
	bt_sum(h, p, i + 1, y);
	bt_rescan(B(h, p));
	bt_fix(h, w, p);
}

/* Move the upper half of full node x to a new right sibling; returns it. */
static uint32_t bt_split(struct fitheap *h, int w, uint32_t x)
{
	uint32_t y = bt_new(h, (int)B(h, x)->leaf), half = BT_CAP / 2;
	struct fitheap_bnode *xn = B(h, x), *yn = B(h, y);
	yn->n = BT_CAP - half;
	memcpy(yn->k1, xn->k1 + half, yn->n * sizeof xn->k1[0]);
	memcpy(yn->k2, xn->k2 + half, yn->n * sizeof xn->k2[0]);
	xn->n = half;
	if (xn->leaf) {
		yn->prev = x;
		yn->next = xn->next;
		if (xn->next)
			B(h, xn->next)->prev = y;
		xn->next = y;
	} else {
		struct fitheap_inode *xi = IN(xn), *yi = IN(yn);
		memcpy(yi->mx, xi->mx + half, yn->n * sizeof xi->mx[0]);
		memcpy(yi->kid, xi->kid + half, yn->n * sizeof xi->kid[0]);
		for (uint32_t i = 0; i < yn->n; i++)
			B(h, yi->kid[i])->up = y;
		bt_repos(h, yn, 0);
	}
	if (w == FITHEAP_BY_ADDR) {
		bt_rescan(xn);
		bt_rescan(yn);
	}
	bt_adopt(h, w, x, y);
	return y;
}

/* Put key (k1, k2) at slot i of leaf x, which has room. */
static void bt_place(struct fitheap *h, int w, uint32_t x, uint32_t i,
		     uint64_t k1, uint64_t k2)
{
	struct fitheap_bnode *xn = B(h, x);
	bt_open(xn, i);
	xn->k1[i] = k1;
	xn->k2[i] = k2;
	xn->max = max_u64(xn->max, k2);
	bt_fix(h, w, x);
}

static void bt_insert(struct fitheap *h, int w, uint64_t k1, uint64_t k2)
{
	if (!h->root[w])
		h->root[w] = bt_new(h, 1);
	uint32_t x = bt_leaf(h, w, k1, k2);
	if (B(h, x)->n == BT_CAP) {
		uint32_t y = bt_split(h, w, x);
		if (!kless(w, k1, k2, B(h, y)->k1[0], B(h, y)->k2[0]))
			x = y;
	}
	bt_place(h, w, x, bt_lower(B(h, x), w, k1, k2), k1, k2);
}

/* Node x became empty: drop it, and its parent if that empties too. */
static void bt_drop(struct fitheap *h, int w, uint32_t x)
{
	struct fitheap_bnode *xn = B(h, x);
	uint32_t p = xn->up;
	if (xn->leaf) {
		if (xn->prev)
			B(h, xn->prev)->next = xn->next;
		if (xn->next)
			B(h, xn->next)->prev = xn->prev;
	}
	bt_put(h, x);
	if (!p) {
		h->root[w] = 0;
		return;
	}
	struct fitheap_bnode *pn = B(h, p);
	bt_close(pn, xn->pos);
	bt_repos(h, pn, xn->pos);
	if (!pn->n) {
		bt_drop(h, w, p);
	} else if (!pn->up && pn->n == 1) {
		h->root[w] = IN(pn)->kid[0];   /* a root with one child goes */
		B(h, IN(pn)->kid[0])->up = 0;
		bt_put(h, p);
	} else {
		bt_fix(h, w, p);
	}
}

/* Remove slot i of leaf x.  Entries of other leaves and earlier slots of
 * x stay where they are. */
static void bt_remove_at(struct fitheap *h, int w, uint32_t x, uint32_t i)
{
	struct fitheap_bnode *xn = B(h, x);
	bt_close(xn, i);
	if (!xn->n)
		bt_drop(h, w, x);
	else
		bt_fix(h, w, x);
}

/* Entry i of leaf x of tree w as a fit (none when x is 0). */
static inline struct fitheap_fit bt_entry(const struct fitheap *h, int w,
					  uint32_t x, uint32_t i)
{
	struct fitheap_fit f = NONE;
	if (!x)
		return f;
	const struct fitheap_bnode *xn = B(h, x);
	f.addr = w == FITHEAP_BY_ADDR ? xn->k1[i] : xn->k2[i];
	f.size = w == FITHEAP_BY_ADDR ? xn->k2[i] : xn->k1[i];
	f.leaf[w] = x;
	f.slot[w] = i;
	return f;
}

/* Around address a (no free block's start): the free blocks just before
 * and after it (none: size 0), and in *at where a would be inserted. */
static void bt_around(struct fitheap *h, uint64_t a, struct fitheap_fit *pred,
		      struct fitheap_fit *succ, struct fitheap_fit *at)
{
	*pred = *succ = *at = NONE;
	if (!h->root[FITHEAP_BY_ADDR])
		return;
	uint32_t x = bt_leaf(h, FITHEAP_BY_ADDR, a, 0);
	const struct fitheap_bnode *xn = B(h, x);
	uint32_t i = bt_lower(xn, FITHEAP_BY_ADDR, a, 0);
	at->leaf[FITHEAP_BY_ADDR] = x;
	at->slot[FITHEAP_BY_ADDR] = i;
	if (i < xn->n)
		*succ = bt_entry(h, FITHEAP_BY_ADDR, x, i);
	else if (xn->next)
		*succ = bt_entry(h, FITHEAP_BY_ADDR, xn->next, 0);
	if (i > 0)
		*pred = bt_entry(h, FITHEAP_BY_ADDR, x, i - 1);
	else if (xn->prev)
		*pred = bt_entry(h, FITHEAP_BY_ADDR, xn->prev,
				 B(h, xn->prev)->n - 1);
}

/* Where free block f's entry sits in tree w. */
static void bt_find(struct fitheap *h, int w, struct fitheap_fit *f)
{
	uint64_t k1 = w == FITHEAP_BY_ADDR ? f->addr : f->size;
	uint64_t k2 = w == FITHEAP_BY_ADDR ? 0 : f->addr;
	if (f->leaf[w])
		return;
	f->leaf[w] = bt_leaf(h, w, k1, k2);
	f->slot[w] = bt_lower(B(h, f->leaf[w]), w, k1, k2);
}

/* Give free block f a new start and size that keep it between the same
 * neighbours: its address-tree entry changes in place. */
static void bt_move(struct fitheap *h, struct fitheap_fit *f, uint64_t na,
		    uint64_t nsize)
{
	bt_find(h, FITHEAP_BY_ADDR, f);
	struct fitheap_bnode *xn = B(h, f->leaf[0]);
	xn->k1[f->slot[0]] = na;
	xn->k2[f->slot[0]] = nsize;
	xn->max = max_u64(xn->max, nsize);
	bt_fix(h, FITHEAP_BY_ADDR, f->leaf[0]);
	f->addr = na;
	f->size = nsize;
}

/* The first entry of at least need bytes from slot i of node x on, in
 * address order: down into children whose bound admits it, back up and on
 * to the right when a subtree holds none.  down counts the levels entered
 * from their first slot; such a node found to hold no fit gets its bound
 * made exact.  None when the tree has no such entry after the start. */
static struct fitheap_fit bt_seek(struct fitheap *h, uint32_t x, uint32_t i,
				  int down, uint64_t need)
{
	for (;;) {
		const struct fitheap_bnode *xn = B(h, x);
		h->c_steps++;
		if (xn->leaf) {
			while (i < xn->n && xn->k2[i] < need)
				i++;
			if (i < xn->n)
				return bt_entry(h, FITHEAP_BY_ADDR, x, i);
		} else {
			while (i < xn->n && INC(xn)->mx[i] < need)
				i++;
			if (i < xn->n) {
				x = INC(xn)->kid[i];
				i = 0;
				down++;
				continue;
			}
		}
		if (down)
			bt_tighten(h, x);
		if (!xn->up)
			return NONE;
		i = xn->pos + 1;
		x = xn->up;
		down -= down > 0;
	}
}

/* ---- the free-block index -------------------------------------------- */

/* Index the free block [a, a + size); at, when its leaf is set, is where
 * bt_around said a goes. */
static void index_insert(struct fitheap *h, uint64_t a, uint64_t size,
			 struct fitheap_fit at)
{
	uint32_t x = at.leaf[FITHEAP_BY_ADDR], i = at.slot[FITHEAP_BY_ADDR];
	if (x && B(h, x)->n < BT_CAP)
		bt_place(h, FITHEAP_BY_ADDR, x, i, a, size);
	else
		bt_insert(h, FITHEAP_BY_ADDR, a, size);
	if (h->pol->size_index)
		bt_insert(h, FITHEAP_BY_SIZE, size, a);
	h->c_free_blocks++;
	h->c_free_bytes += size;
}

/* Removing one tree's entry leaves the other tree's places valid. */
static void index_remove(struct fitheap *h, struct fitheap_fit f)
{
	bt_find(h, FITHEAP_BY_ADDR, &f);
	bt_remove_at(h, FITHEAP_BY_ADDR, f.leaf[0], f.slot[0]);
	if (h->pol->size_index) {
		bt_find(h, FITHEAP_BY_SIZE, &f);
		bt_remove_at(h, FITHEAP_BY_SIZE, f.leaf[1], f.slot[1]);
	}
	h->c_free_blocks--;
	h->c_free_bytes -= f.size;
}

/* Move or resize free block f within the gap between its free neighbours.
 * Returns it as it is now. */
static struct fitheap_fit index_resize(struct fitheap *h, struct fitheap_fit f,
				       uint64_t addr, uint64_t size)
{
	h->c_free_bytes = h->c_free_bytes - f.size + size;
	if (h->pol->size_index) {
		bt_find(h, FITHEAP_BY_SIZE, &f);
		bt_remove_at(h, FITHEAP_BY_SIZE, f.leaf[1], f.slot[1]);
		bt_insert(h, FITHEAP_BY_SIZE, size, addr);
		f.leaf[1] = 0;
	}
	bt_move(h, &f, addr, size);
	return f;
}

/* The free block ending at end, or none. */
static struct fitheap_fit free_ending(struct fitheap *h, uint64_t end)
{
	struct fitheap_fit p, s, at;
	bt_around(h, end, &p, &s, &at);
	return p.size && p.addr + p.size == end ? p : NONE;
}

/* The free block starting at a, or none. */
static struct fitheap_fit free_at(struct fitheap *h, uint64_t a)
{
	struct fitheap_fit p, s, at;
	bt_around(h, a, &p, &s, &at);
	return s.size && s.addr == a ? s : NONE;
}

/* ---- queries for policies -------------------------------------------- */

struct fitheap_fit fitheap_lowest_fit(struct fitheap *h, uint64_t need,
				      uint64_t after)
{
	uint32_t r = h->root[FITHEAP_BY_ADDR];
	if (!r)
		return NONE;
	if (!after)
		return B(h, r)->max >= need ? bt_seek(h, r, 0, 1, need) : NONE;
	uint32_t x = bt_leaf(h, FITHEAP_BY_ADDR, after, 0);
	uint32_t i = bt_lower(B(h, x), FITHEAP_BY_ADDR, after + 1, 0);
	return bt_seek(h, x, i, 0, need);
}

struct fitheap_fit fitheap_smallest_fit(struct fitheap *h, uint64_t need,
					struct fitheap_fit prev)
{
	uint64_t k1 = need, k2 = 0;
	if (!h->root[FITHEAP_BY_SIZE])
		return NONE;
	if (prev.size && prev.size >= need) {
		k1 = prev.size;
		k2 = prev.addr + 1;
	}
	uint32_t x = bt_leaf(h, FITHEAP_BY_SIZE, k1, k2);
	uint32_t i = bt_lower(B(h, x), FITHEAP_BY_SIZE, k1, k2);
	if (i == B(h, x)->n) {
		x = B(h, x)->next;
		i = 0;
	}
	return bt_entry(h, FITHEAP_BY_SIZE, x, i);
}

/* Where in free block f a block with an align-aligned payload starts: the
 * leading remainder is 0 or a whole free block (>= 32 bytes). */
static uint64_t aligned_start(struct fitheap_fit f, uint64_t align)
{
	uint64_t p = round_up(f.addr + HDR, align);
	uint64_t lead = p - HDR - f.addr;
	if (lead && lead < MINBLK)
		p += align;
	return p - HDR;
}

static int fits(struct fitheap_fit f, uint64_t need, uint64_t align)
{
	return aligned_start(f, align) + need <= f.addr + f.size;
}

/* The free block the policy picks for need bytes at alignment align
 * (0 = natural), or size 0 when none fits. */
static struct fitheap_fit find_fit(struct fitheap *h, uint64_t need,
				   uint64_t align)
{
	struct fitheap_fit f = h->pol->first(h, need);
	for (int i = 0; align && f.size && i < ALIGN_TRIES; i++) {
		if (fits(f, need, align))
			return f;
		f = h->pol->next(h, need, f);
	}
	if (align && f.size && !fits(f, need, align))
		f = h->pol->first(h, need + align + GRAIN);
	return f;
}

/* ---- regions and their bitmaps of block starts ----------------------- */

/* The region holding address a, or NULL. */
static struct fitheap_region *region_find(struct fitheap *h, uint64_t a)
{
	struct fitheap_region *r = h->regions;
	size_t lo = 0, hi = h->nregions;
	if (hi && a - r[h->rlast].start < r[h->rlast].len)
		return &r[h->rlast];
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (r[mid].start <= a)
			lo = mid;
		else
			hi = mid;
	}
	if (!h->nregions || a - r[lo].start >= r[lo].len)
		return NULL;
	h->rlast = lo;
	return &r[lo];
}

static uint64_t epilogue(const struct fitheap_region *r)
{
	return r->start + r->len - HDR;
}

/* Granule number of block start a in r. */
static uint64_t gran(const struct fitheap_region *r, uint64_t a)
{
	return (a - r->start - HDR) >> 4;
}

static int bit_get(const struct fitheap_region *r, uint64_t a)
{
	uint64_t g = gran(r, a);
	const uint64_t *page = r->bits[g >> BPAGE_BITS];
	return page && (page[(g & (BPAGE - 1)) >> 6] >> (g & 63) & 1);
}

/* Mark a block start, taking a spare bitmap page if needed. */
static void bit_set(struct fitheap *h, struct fitheap_region *r, uint64_t a)
{
	uint64_t g = gran(r, a);
	uint64_t **page = &r->bits[g >> BPAGE_BITS];
	if (!*page)
		*page = h->spare_bits[--h->nspare_bits];
	(*page)[(g & (BPAGE - 1)) >> 6] |= UINT64_C(1) << (g & 63);
}

/* Clear a block start that is set. */
static void bit_clear(struct fitheap_region *r, uint64_t a)
{
	uint64_t g = gran(r, a);
	r->bits[g >> BPAGE_BITS][(g & (BPAGE - 1)) >> 6] &=
		~(UINT64_C(1) << (g & 63));
}

/* The first block start at or after granule g and before granule end, or
 * end when there is none. */
static uint64_t bit_next(const struct fitheap_region *r, uint64_t g,
			 uint64_t end)
{
	while (g < end) {
		const uint64_t *pg = r->bits[g >> BPAGE_BITS];
		uint64_t w = pg ? pg[(g & (BPAGE - 1)) >> 6] >> (g & 63) : 0;
		if (w) {
			g += (uint64_t)__builtin_ctzll(w);
			return g < end ? g : end;
		}
		g = (g | 63) + 1;
	}
	return end;
}

static int bits_reserve(struct fitheap *h)
{
	while (h->nspare_bits < SPARE_BITS) {
		uint64_t *p = strat_halloc(h->env, BPAGE / 8);
		if (!p)
			return 0;
		memset(p, 0, BPAGE / 8);
		h->spare_bits[h->nspare_bits++] = p;
	}
	return 1;
}

/* Give back r's bitmap pages from page index from on. */
static void bits_drop(struct fitheap *h, struct fitheap_region *r,
		      size_t from)
{
	for (size_t i = from; i < r->nbits; i++) {
		strat_hfree(h->env, r->bits[i], BPAGE / 8);
		r->bits[i] = NULL;
	}
}

/* Make r's bitmap directory cover len bytes.  1 on success. */
static int bits_fit(struct fitheap *h, struct fitheap_region *r, uint64_t len)
{
	size_t n = (size_t)((len + BPAGE_HEAP - 1) / BPAGE_HEAP), sz;
	if (n <= r->nbits)
		return 1;
	sz = sizeof r->bits[0];
	void *p = strat_hrealloc(h->env, r->bits, r->nbits * sz, n * sz);
	if (!p)
		return 0;
	r->bits = p;
	memset(r->bits + r->nbits, 0, (n - r->nbits) * sz);
	r->nbits = n;
	return 1;
}

/* Host room for what one operation may need.  1 on success. */
static int reserve(struct fitheap *h)
{
	if (!bt_reserve(h) || !bits_reserve(h))
		return 0;
	if (h->nregions == h->cap_regions) {
		size_t n = h->cap_regions ? h->cap_regions * 2 : 8;
		size_t sz = sizeof h->regions[0];
		void *p = strat_hrealloc(h->env, h->regions,
					 h->cap_regions * sz, n * sz);
		if (!p)
			return 0;
		h->regions = p;
		h->cap_regions = n;
	}
	return 1;
}

static void region_remove(struct fitheap *h, struct fitheap_region *r)
{
	size_t i = (size_t)(r - h->regions);
	bits_drop(h, r, 0);
	strat_hfree(h->env, r->bits, r->nbits * sizeof r->bits[0]);
	h->heap_bytes -= r->len;
	memmove(r, r + 1, (h->nregions - i - 1) * sizeof *r);
	h->nregions--;
	h->rlast = 0;
}

/* Add region r (room reserved; start, len and bitmap directory set) in
 * start order, as one free block.  Returns the block. */
static struct fitheap_fit region_add(struct fitheap *h,
				     const struct fitheap_region *r)
{
	struct fitheap_fit f = {.addr = r->start + HDR};
	size_t i = h->nregions;
	while (i && h->regions[i - 1].start > r->start) {
		h->regions[i] = h->regions[i - 1];
		i--;
	}
	f.size = r->len - 2 * HDR;
	h->regions[i] = *r;
	h->nregions++;
	h->rlast = i;
	h->heap_bytes += r->len;
	h->c_grows++;
	index_insert(h, f.addr, f.size, NONE);
	touch_free(h, f.addr, f.size);
	return f;
}

/* ---- growing and giving back ----------------------------------------- */

/* The brk heap r grew by inc contiguous bytes (its bitmap directory already
 * covers them): extend its top free block or add one.  Returns it. */
static struct fitheap_fit brk_extend(struct fitheap *h,
				     struct fitheap_region *r, uint64_t inc)
{
	uint64_t old = epilogue(r);
	struct fitheap_fit f = free_ending(h, old);
	r->len += inc;
	h->heap_bytes += inc;
	h->c_grows++;
	if (f.size) {
		f = index_resize(h, f, f.addr, f.size + inc);
	} else {
		f.addr = old;
		f.size = inc;
		index_insert(h, f.addr, f.size, NONE);
	}
	touch_free(h, f.addr, f.size);
	return f;
}

/* Start a new brk heap at the current break with inc bytes. */
static struct fitheap_fit brk_new(struct fitheap *h, uint64_t inc)
{
	struct fitheap_region r = {0, inc, NULL, 0};
	if (simos_sbrk(h->env->os, (int64_t)inc, &r.start) != SIM_OK)
		return NONE;
	if (!bits_fit(h, &r, inc)) {   /* see grow_mmap */
		simos_sbrk(h->env->os, -(int64_t)inc, NULL);
		return NONE;
	}
	h->brk_start = r.start;
	return region_add(h, &r);
}

/* Grow the break so that the top free block has at least need bytes.
 * Returns it, or size 0 when sbrk (or the host) fails. */
static struct fitheap_fit grow_brk(struct fitheap *h, uint64_t need)
{
	struct fitheap_region *r = h->brk_start ?
				   region_find(h, h->brk_start) : NULL;
	uint64_t cur = simos_brk_current(h->env->os), old;
	if (!r || r->start + r->len != cur) {
		/* First growth, or someone else moved the break. */
		uint64_t len = max_u64(need + 2 * HDR, h->grow);
		return brk_new(h, round_up(len, SIMOS_PAGE_SIZE));
	}
	uint64_t have = free_ending(h, epilogue(r)).size;
	uint64_t want = max_u64(need > have ? need - have : 0, h->grow);
	uint64_t inc = round_up(want, SIMOS_PAGE_SIZE);
	if (simos_sbrk(h->env->os, (int64_t)inc, &old) != SIM_OK)
		return NONE;
	if (!bits_fit(h, r, r->len + inc)) {   /* see grow_mmap */
		simos_sbrk(h->env->os, -(int64_t)inc, NULL);
		return NONE;
	}
	return brk_extend(h, r, inc);
}

/* Map an extra region holding a free block of at least need bytes. */
static struct fitheap_fit grow_mmap(struct fitheap *h, uint64_t need)
{
	uint64_t len = round_up(max_u64(need + 2 * HDR, h->grow),
				SIMOS_PAGE_SIZE);
	struct fitheap_region r = {0, len, NULL, 0};
	/* The OS first: the bitmap directory costs 8 host bytes per 512 KiB
	 * of region, 1.5 GB for a 100 TB request the OS refuses anyway. */
	if (simos_mmap(h->env->os, 0, len, SIMOS_PROT_RW, 0,
		       &r.start) != SIM_OK)
		return NONE;
	if (!bits_fit(h, &r, len)) {
		simos_munmap(h->env->os, r.start, len);
		return NONE;
	}
	return region_add(h, &r);
}

static struct fitheap_fit grow(struct fitheap *h, uint64_t need)
{
	struct fitheap_fit f = grow_brk(h, need);
	return f.size ? f : grow_mmap(h, need);
}

/* Shrink the break under top free block f when the trim rule says so. */
static void trim_brk(struct fitheap *h, struct fitheap_region *r,
		     struct fitheap_fit f)
{
	uint64_t end = r->start + r->len, old;
	if (f.size < h->trim_threshold || f.size <= h->top_pad + MINBLK)
		return;
	uint64_t x = (f.size - h->top_pad - MINBLK) & ~(SIMOS_PAGE_SIZE - 1);
	if (!x || simos_brk_current(h->env->os) != end ||
	    simos_sbrk(h->env->os, -(int64_t)x, &old) != SIM_OK)
		return;
	index_resize(h, f, f.addr, f.size - x);
	r->len -= x;
	h->heap_bytes -= x;
	h->c_trims++;
	bits_drop(h, r, (size_t)(gran(r, epilogue(r)) >> BPAGE_BITS) + 1);
	touch(h, end - x - 2 * HDR, 2 * HDR);
}

/* Unmap extra region r, which free block f fills, if large enough. */
static void unmap_region(struct fitheap *h, struct fitheap_region *r,
			 struct fitheap_fit f)
{
	if (r->len < h->trim_threshold ||
	    simos_munmap(h->env->os, r->start, r->len) != SIM_OK)
		return;
	index_remove(h, f);
	region_remove(h, r);
	h->c_trims++;
}

/* After free block f formed in r: trim or unmap when the rules say so. */
static void give_back(struct fitheap *h, struct fitheap_region *r,
		      struct fitheap_fit f)
{
	if (f.addr + f.size != epilogue(r))
		return;
	if (r->start == h->brk_start)
		trim_brk(h, r, f);
	else if (f.addr == r->start + HDR)
		unmap_region(h, r, f);
}

/* ---- carving and freeing --------------------------------------------- */

/* Block [q, q + n) from the front of free block f, tail bytes left. */
static void carve_front(struct fitheap *h, struct fitheap_fit f, uint64_t n,
			uint64_t tail)
{
	struct tbatch tb = {0, 0};
	uint64_t q = f.addr;
	tb_add(h, &tb, q, HDR);
	if (!tail) {
		index_remove(h, f);
		tb_add(h, &tb, q + n, HDR);
	} else {
		index_resize(h, f, q + n, tail);
		h->c_splits++;
		tb_free(h, &tb, q + n, tail);
	}
	tb_flush(h, &tb);
}

/* Block [q, q + n) at lead bytes into free block f, which keeps the lead;
 * tail bytes after it become a new free block. */
static void carve_inside(struct fitheap *h, struct fitheap_fit f,
			 uint64_t lead, uint64_t n, uint64_t tail)
{
	struct tbatch tb = {0, 0};
	uint64_t q = f.addr + lead;
	index_resize(h, f, f.addr, lead);
	h->c_splits++;
	tb_free(h, &tb, f.addr, lead);     /* its footer meets q's header */
	if (!tail) {
		tb_add(h, &tb, q + n, HDR);
	} else {
		index_insert(h, q + n, tail, NONE);
		h->c_splits++;
		tb_free(h, &tb, q + n, tail);
	}
	tb_flush(h, &tb);
}

/* Take the block [q, q + n) out of free block f in region r (a tail too
 * small to be a block stays with it).  Returns the block's size. */
static uint64_t carve(struct fitheap *h, struct fitheap_region *r,
		      struct fitheap_fit f, uint64_t q, uint64_t n)
{
	uint64_t lead = q - f.addr, tail = f.addr + f.size - q - n;
	if (tail < MINBLK) {
		n += tail;
		tail = 0;
	}
	if (!lead)
		carve_front(h, f, n, tail);
	else
		carve_inside(h, f, lead, n, tail);
	bit_set(h, r, q);
	h->nused++;
	h->used_bytes += n;
	return n;
}

/* Make [a, a + size) in r free (no block start marked there), merging it
 * with free neighbours, then trim if the rules say so. */
static void release(struct fitheap *h, struct fitheap_region *r, uint64_t a,
		    uint64_t size)
{
	struct fitheap_fit p, s, at, f = {.addr = a, .size = size};
	bt_around(h, a, &p, &s, &at);
	int pa = p.size && p.addr + p.size == a;
	int sa = s.size && s.addr == a + size;
	uint64_t end = a + size + (sa ? s.size : 0);
	if (pa) {
		if (sa)
			index_remove(h, s);    /* p's place stays valid */
		f = index_resize(h, p, p.addr, end - p.addr);
	} else if (sa) {
		f = index_resize(h, s, a, end - a);
	} else {
		index_insert(h, a, size, at);
	}
	h->c_coalesces += (uint64_t)(pa + sa);
	touch_free(h, f.addr, f.size);
	give_back(h, r, f);
}

/* ---- direct mmap ----------------------------------------------------- */

static size_t mslot_of(const struct fitheap *h, uint64_t key)
{
	return (size_t)((key >> 4) * UINT64_C(0x9e3779b97f4a7c15) >> 32)
	       & (h->nmslots - 1);
}

static struct fitheap_mslot *mslot_get(const struct fitheap *h, uint64_t key)
{
	if (!h->nmslots)
		return NULL;
	for (size_t i = mslot_of(h, key);; i = (i + 1) & (h->nmslots - 1)) {
		if (h->mslots[i].key == key)
			return &h->mslots[i];
		if (!h->mslots[i].key)
			return NULL;
	}
}

/* Insert (room made by mslot_room). */
static void mslot_put(struct fitheap *h, const struct fitheap_mslot *m)
{
	size_t i = mslot_of(h, m->key);
	while (h->mslots[i].key)
		i = (i + 1) & (h->nmslots - 1);
	h->mslots[i] = *m;
	h->nmlive++;
}

/* 1 when slot j's entry, whose home is k, may move to the hole at i. */
static int may_fill(size_t i, size_t j, size_t k)
{
	return i <= j ? (k <= i || k > j) : (k <= i && k > j);
}

/* Remove slot m, closing the gap by backward shifting. */
static void mslot_del(struct fitheap *h, struct fitheap_mslot *m)
{
	size_t mask = h->nmslots - 1, i = (size_t)(m - h->mslots);
	for (size_t j = (i + 1) & mask; h->mslots[j].key; j = (j + 1) & mask) {
		if (may_fill(i, j, mslot_of(h, h->mslots[j].key))) {
			h->mslots[i] = h->mslots[j];
			i = j;
		}
	}
	h->mslots[i].key = 0;
	h->nmlive--;
}

/* Room for one more entry.  1 on success. */
static int mslot_room(struct fitheap *h)
{
	if ((h->nmlive + 1) * 2 <= h->nmslots)
		return 1;
	size_t old = h->nmslots, n = old ? old * 2 : 64;
	struct fitheap_mslot *os = h->mslots, *ns;
	ns = strat_halloc(h->env, n * sizeof *ns);
	if (!ns)
		return 0;
	memset(ns, 0, n * sizeof *ns);
	h->mslots = ns;
	h->nmslots = n;
	h->nmlive = 0;
	for (size_t i = 0; i < old; i++)
		if (os[i].key)
			mslot_put(h, &os[i]);
	strat_hfree(h->env, os, old * sizeof *os);
	return 1;
}

static uint64_t mmap_alloc(struct fitheap *h, uint64_t size, uint64_t align,
			   uint64_t *usable)
{
	uint64_t a = max_u64(align, GRAIN), m;
	uint64_t len = round_up(size + max_u64(a, MMAP_HDR), SIMOS_PAGE_SIZE);
	if (!mslot_room(h) ||
	    simos_mmap(h->env->os, 0, len, SIMOS_PROT_RW, 0, &m) != SIM_OK)
		return 0;
	struct fitheap_mslot s = {round_up(m + MMAP_HDR, a), m, len};
	mslot_put(h, &s);
	h->meta_mmap += s.key - m;
	h->c_mmaps++;
	touch(h, s.key - MMAP_HDR, MMAP_HDR);
	*usable = m + len - s.key;
	return s.key;
}

static void mmap_free(struct fitheap *h, struct fitheap_mslot *s)
{
	if (simos_munmap(h->env->os, s->start, s->len) != SIM_OK)
		h->errors++;
	h->meta_mmap -= s->key - s->start;
	mslot_del(h, s);
}

/* Resize a mmap'd block with mremap; 0 when it cannot. */
static uint64_t mmap_resize(struct fitheap *h, struct fitheap_mslot *s,
			    uint64_t size, uint64_t *usable)
{
	struct fitheap_mslot n = *s;
	uint64_t off = s->key - s->start;
	n.len = round_up(size + off, SIMOS_PAGE_SIZE);
	if (simos_mremap(h->env->os, s->start, s->len, n.len, 1,
			 &n.start) != SIM_OK)
		return 0;
	n.key = n.start + off;
	mslot_del(h, s);
	mslot_put(h, &n);
	touch(h, n.key - MMAP_HDR, MMAP_HDR);
	*usable = n.len - off;
	return n.key;
}

/* ---- operations ------------------------------------------------------ */

static uint64_t heap_alloc(struct fitheap *h, uint64_t size, uint64_t align,
			   unsigned flags, uint64_t *usable)
{
	uint64_t n = block_need(size), a = align > GRAIN ? align : 0;
	struct fitheap_fit f = find_fit(h, n, a);
	if (!f.size)
		f = grow(h, a ? n + a + GRAIN : n);
	if (!f.size)
		return 0;
	uint64_t q = a ? aligned_start(f, a) : f.addr;
	*usable = carve(h, region_find(h, q), f, q, n) - HDR;
	if (flags & STRAT_ZERO)
		touch(h, q + HDR, *usable);
	return q + HDR;
}

static uint64_t alloc_any(struct fitheap *h, uint64_t size, uint64_t align,
			  unsigned flags, uint64_t *usable)
{
	if (size > MAX_REQ || align > MAX_REQ || !reserve(h))
		return 0;
	if (h->mmap_threshold && size >= h->mmap_threshold) {
		uint64_t p = mmap_alloc(h, size, align, usable);
		if (p)
			return p;
	}
	return heap_alloc(h, size, align, flags, usable);
}

uint64_t fitheap_alloc(void *self, uint32_t tid, uint64_t size,
		       uint64_t align, unsigned flags, uint64_t *usable)
{
	struct fitheap *h = self;
	(void)tid;
	h->c_locks++;
	h->c_allocs++;
	return alloc_any(h, size, align, flags, usable);
}

/* 1 when a block of size bytes in use starts at a in r. */
static int in_use(const struct fitheap_region *r, uint64_t a, uint64_t size)
{
	return !((a - r->start - HDR) % GRAIN) && size % GRAIN == 0 &&
	       size >= MINBLK && a + size <= epilogue(r) && bit_get(r, a);
}

/* Free the block with payload p and usable size u.  0 when p is no block
 * in use. */
static int free_any(struct fitheap *h, uint64_t p, uint64_t u)
{
	struct fitheap_region *r;
	if (!reserve(h))
		return 0;
	r = region_find(h, p - HDR);
	if (r) {
		if (!in_use(r, p - HDR, u + HDR))
			return 0;
		bit_clear(r, p - HDR);
		h->nused--;
		h->used_bytes -= u + HDR;
		release(h, r, p - HDR, u + HDR);
		return 1;
	}
	struct fitheap_mslot *s = mslot_get(h, p);
	if (s)
		mmap_free(h, s);
	return s != NULL;
}

void fitheap_free(void *self, uint32_t tid, uint64_t addr, uint64_t usable)
{
	struct fitheap *h = self;
	(void)tid;
	h->c_locks++;
	if (!free_any(h, addr, usable))
		h->errors++;
}

/* Shrink the block of size bytes at a to n bytes, freeing the tail if it
 * makes a block.  Returns the new size. */
static uint64_t shrink(struct fitheap *h, struct fitheap_region *r,
		       uint64_t a, uint64_t size, uint64_t n)
{
	if (size - n < MINBLK)
		return size;
	h->used_bytes -= size - n;
	h->c_splits++;
	touch(h, a, HDR);
	release(h, r, a + n, size - n);
	return n;
}

/* Grow the block of size bytes at a to n bytes in place, into a free next
 * block, extending the break first when the block is at its top.  Returns
 * the new size, or 0 when it cannot. */
static uint64_t expand(struct fitheap *h, struct fitheap_region *r,
		       uint64_t a, uint64_t size, uint64_t n)
{
	struct fitheap_fit f = free_at(h, a + size);
	if (size + f.size < n && r->start == h->brk_start &&
	    a + size + f.size == epilogue(r) && grow_brk(h, n - size).size)
		f = free_at(h, a + size);
	if (size + f.size < n)
		return 0;
	struct tbatch tb = {0, 0};
	uint64_t end = f.addr + f.size;
	tb_add(h, &tb, a, HDR);
	if (end - a - n >= MINBLK) {
		index_resize(h, f, a + n, end - a - n);
		h->c_splits++;
		tb_free(h, &tb, a + n, end - a - n);
	} else {
		index_remove(h, f);
		n = end - a;
		tb_add(h, &tb, end, HDR);
	}
	tb_flush(h, &tb);
	h->used_bytes += n - size;
	return n;
}

static uint64_t realloc_moving(struct fitheap *h, uint64_t addr,
			       uint64_t old_usable, uint64_t size,
			       uint64_t *usable)
{
	uint64_t p = alloc_any(h, size, 0, 0, usable);
	if (p)
		free_any(h, addr, old_usable);
	return p;
}

static uint64_t realloc_mmapped(struct fitheap *h, uint64_t addr,
				uint64_t old_usable, uint64_t size,
				uint64_t *usable)
{
	struct fitheap_mslot *s = mslot_get(h, addr);
	uint64_t p = 0;
	if (!s) {
		h->errors++;
		return 0;
	}
	if (h->mmap_threshold && size >= h->mmap_threshold)
		p = mmap_resize(h, s, size, usable);
	return p ? p : realloc_moving(h, addr, old_usable, size, usable);
}

uint64_t fitheap_realloc(void *self, uint32_t tid, uint64_t addr,
			 uint64_t old_usable, uint64_t size, uint64_t *usable)
{
	struct fitheap *h = self;
	uint64_t n = block_need(size), a = addr - HDR, b = old_usable + HDR;
	(void)tid;
	h->c_locks++;
	h->c_allocs++;
	if (size > MAX_REQ || !reserve(h))
		return 0;
	struct fitheap_region *r = region_find(h, a);
	if (!r)
		return realloc_mmapped(h, addr, old_usable, size, usable);
	if (!in_use(r, a, b)) {
		h->errors++;
		return 0;
	}
	uint64_t got = n <= b ? shrink(h, r, a, b, n) : expand(h, r, a, b, n);
	if (!got)
		return realloc_moving(h, addr, old_usable, size, usable);
	h->c_inplace++;
	*usable = got - HDR;
	return addr;
}

/* ---- invariant check ------------------------------------------------- */

#define CHECK_FAIL(err, ...) SIM_ERR((err), SIM_ECHECK, "fitheap: " __VA_ARGS__)

/* What is wrong with node x of tree w itself, or NULL. */
static const char *bt_fault(const struct fitheap *h, int w, uint32_t x)
{
	const struct fitheap_bnode *xn = B(h, x);
	if (!xn->n || xn->n > BT_CAP)
		return "bad entry count";
	for (uint32_t i = 1; i < xn->n; i++)
		if (!kless(w, xn->k1[i - 1], xn->k2[i - 1], xn->k1[i],
			   xn->k2[i]))
			return "keys out of order";
	if (w == FITHEAP_BY_ADDR && xn->max < bt_scan(xn))
		return "size bound too low";
	for (uint32_t i = 0; !xn->leaf && i < xn->n; i++) {
		const struct fitheap_bnode *c = B(h, INC(xn)->kid[i]);
		if (c->up != x || c->pos != i || !c->n ||
		    c->k1[0] != xn->k1[i] || c->k2[0] != xn->k2[i] ||
		    (w == FITHEAP_BY_ADDR && c->max > INC(xn)->mx[i]))
			return "child summary wrong";
	}
	return NULL;
}

/* Check the subtree at x: every node, and leaves all at one depth. */
static int bt_check_node(const struct fitheap *h, int w, uint32_t x,
			 int depth, int *leaf_depth, struct sim_err *err)
{
	const char *fault = depth > 64 ? "too deep" : bt_fault(h, w, x);
	if (!fault && B(h, x)->leaf && *leaf_depth >= 0 &&
	    *leaf_depth != depth)
		fault = "leaves at different depths";
	if (fault)
		return CHECK_FAIL(err, "tree %d: node %u: %s", w, x, fault);
	if (B(h, x)->leaf) {
		*leaf_depth = depth;
		return SIM_OK;
	}
	for (uint32_t i = 0; i < B(h, x)->n; i++) {
		int rc = bt_check_node(h, w, INC(B(h, x))->kid[i], depth + 1,
				       leaf_depth, err);
		if (rc)
			return rc;
	}
	return SIM_OK;
}

/* The leftmost leaf of tree w, or 0. */
static uint32_t bt_first_leaf(const struct fitheap *h, int w)
{
	uint32_t x = h->root[w];
	while (x && !B(h, x)->leaf)
		x = INC(B(h, x))->kid[0];
	return x;
}

/* Walk tree w's leaves in order: links, order across leaves, count. */
static int bt_check_leaves(const struct fitheap *h, int w,
			   struct sim_err *err)
{
	uint64_t n = 0, k1 = 0, k2 = 0;
	uint32_t prev = 0;
	for (uint32_t x = bt_first_leaf(h, w); x; prev = x, x = B(h, x)->next) {
		const struct fitheap_bnode *xn = B(h, x);
		if (xn->prev != prev || !xn->leaf || (n && !kless(w, k1, k2,
		    xn->k1[0], xn->k2[0])) || n > h->c_free_blocks)
			return CHECK_FAIL(err, "tree %d: leaf %u: bad links "
					  "or order", w, x);
		n += xn->n;
		k1 = xn->k1[xn->n - 1];
		k2 = xn->k2[xn->n - 1];
	}
	if (n != h->c_free_blocks)
		return CHECK_FAIL(err, "tree %d holds %llu blocks, %llu are "
				  "free", w, (unsigned long long)n,
				  (unsigned long long)h->c_free_blocks);
	return SIM_OK;
}

static int check_trees(const struct fitheap *h, struct sim_err *err)
{
	for (int w = 0; w < (h->pol->size_index ? 2 : 1); w++) {
		int depth = -1, rc = SIM_OK;
		if (h->root[w] && B(h, h->root[w])->up)
			return CHECK_FAIL(err, "tree %d: root has a parent", w);
		if (h->root[w])
			rc = bt_check_node(h, w, h->root[w], 0, &depth, err);
		if (rc == SIM_OK)
			rc = bt_check_leaves(h, w, err);
		if (rc)
			return rc;
	}
	return SIM_OK;
}

/* A cursor over the address tree's entries, in order. */
struct walk {
	uint64_t free_bytes, used_bytes, nfree, nused;
	uint32_t leaf, slot;     /* the next free block: leaf 0 = none */
	int prev_free;
};

static struct fitheap_fit walk_peek(const struct fitheap *h,
				    const struct walk *wk)
{
	return bt_entry(h, FITHEAP_BY_ADDR, wk->leaf, wk->slot);
}

static void walk_next(const struct fitheap *h, struct walk *wk)
{
	if (++wk->slot == B(h, wk->leaf)->n) {
		wk->leaf = B(h, wk->leaf)->next;
		wk->slot = 0;
	}
}

/* Check the free block f at a in r; returns its size or 0 with err. */
static uint64_t check_free(const struct fitheap *h,
			   const struct fitheap_region *r,
			   struct fitheap_fit f, struct walk *wk,
			   struct sim_err *err)
{
	if (wk->prev_free || bit_get(r, f.addr) || f.size % GRAIN ||
	    f.size < MINBLK || f.addr + f.size > epilogue(r)) {
		CHECK_FAIL(err, "free block %#llx: not merged or bad size",
			   (unsigned long long)f.addr);
		return 0;
	}
	wk->free_bytes += f.size;
	wk->nfree++;
	wk->prev_free = 1;
	walk_next(h, wk);
	return f.size;
}

/* Check the block at a in r; returns its size, or 0 with err filled. */
static uint64_t check_block(const struct fitheap *h,
			    const struct fitheap_region *r, uint64_t a,
			    struct walk *wk, struct sim_err *err)
{
	struct fitheap_fit f = walk_peek(h, wk);
	uint64_t epi = epilogue(r), size;
	if (f.size && f.addr == a)
		return check_free(h, r, f, wk, err);
	uint64_t stop = f.size && f.addr < epi ? f.addr : epi;
	if (!bit_get(r, a) || (f.size && f.addr < a)) {
		CHECK_FAIL(err, "no block at %#llx", (unsigned long long)a);
		return 0;
	}
	size = (bit_next(r, gran(r, a) + 1, gran(r, stop)) - gran(r, a)) << 4;
	if (size < MINBLK) {
		CHECK_FAIL(err, "block %#llx: %llu bytes",
			   (unsigned long long)a, (unsigned long long)size);
		return 0;
	}
	wk->used_bytes += size;
	wk->nused++;
	wk->prev_free = 0;
	return size;
}

static int check_region(const struct fitheap *h,
			const struct fitheap_region *r, struct walk *wk,
			struct sim_err *err)
{
	uint64_t a = r->start + HDR, epi = epilogue(r), step;
	wk->prev_free = 0;
	for (; a < epi; a += step) {
		step = check_block(h, r, a, wk, err);
		if (!step)
			return SIM_ECHECK;
	}
	if (a != epi || bit_next(r, gran(r, epi), r->nbits * BPAGE) !=
	    r->nbits * BPAGE)
		return CHECK_FAIL(err, "region %#llx: blocks do not end at its "
				  "epilogue", (unsigned long long)r->start);
	return SIM_OK;
}

static int check_totals(const struct fitheap *h, const struct walk *wk,
			struct sim_err *err)
{
	if (wk->nfree != h->c_free_blocks || wk->free_bytes != h->c_free_bytes)
		return CHECK_FAIL(err, "%llu free blocks of %llu bytes found, "
				  "%llu of %llu counted",
				  (unsigned long long)wk->nfree,
				  (unsigned long long)wk->free_bytes,
				  (unsigned long long)h->c_free_blocks,
				  (unsigned long long)h->c_free_bytes);
	if (wk->nused != h->nused || wk->used_bytes != h->used_bytes ||
	    wk->free_bytes + wk->used_bytes + h->nregions * 2 * HDR !=
	    h->heap_bytes)
		return CHECK_FAIL(err, "free %llu + used %llu bytes (%llu "
				  "blocks) do not add up to the heap's %llu",
				  (unsigned long long)wk->free_bytes,
				  (unsigned long long)wk->used_bytes,
				  (unsigned long long)wk->nused,
				  (unsigned long long)h->heap_bytes);
	return SIM_OK;
}

int fitheap_check(void *self, struct sim_err *err)
{
	struct fitheap *h = self;
	struct walk wk = {0, 0, 0, 0, 0, 0, 0};
	if (h->errors)
		return CHECK_FAIL(err, "%llu unknown frees or writes outside "
				  "the heap", (unsigned long long)h->errors);
	int rc = check_trees(h, err);
	if (rc)
		return rc;
	wk.leaf = bt_first_leaf(h, FITHEAP_BY_ADDR);
	for (size_t i = 0; i < h->nregions; i++) {
		if (i && h->regions[i].start <= h->regions[i - 1].start)
			return CHECK_FAIL(err, "regions out of order");
		rc = check_region(h, &h->regions[i], &wk, err);
		if (rc)
			return rc;
	}
	return check_totals(h, &wk, err);
}

/* ---- set-up, counters ------------------------------------------------ */

int fitheap_init(void *self, const struct strategy_env *env,
		 const union param_value *params,
		 const struct fitheap_policy *pol, struct sim_err *err)
{
	struct fitheap *h = self;
	h->env = env;
	h->pol = pol;
	h->grow = round_up((uint64_t)params[0].i, SIMOS_PAGE_SIZE);
	h->trim_threshold = (uint64_t)params[1].i;
	h->top_pad = (uint64_t)params[2].i;
	h->mmap_threshold = (uint64_t)params[3].i;
	if (!reserve(h)) {
		fitheap_fini(h);
		return SIM_ERR(err, SIM_ENOMEM, "fitheap: out of host memory");
	}
	return SIM_OK;
}

void fitheap_fini(void *self)
{
	struct fitheap *h = self;
	while (h->nregions)
		region_remove(h, &h->regions[h->nregions - 1]);
	while (h->nspare_bits)
		strat_hfree(h->env, h->spare_bits[--h->nspare_bits], BPAGE / 8);
	strat_hfree(h->env, h->regions, h->cap_regions * sizeof h->regions[0]);
	strat_hfree(h->env, h->bunits, h->cap_bunits * BT_UNIT);
	strat_hfree(h->env, h->mslots, h->nmslots * sizeof h->mslots[0]);
	h->regions = NULL;
	h->bunits = NULL;
	h->mslots = NULL;
}

void fitheap_counters(void *self, uint64_t *v)
{
	struct fitheap *h = self;
	v[0] = 0;                      /* no thread cache */
	v[1] = h->c_allocs;
	v[2] = h->c_locks;
	v[3] = h->c_free_blocks;
	v[4] = h->c_free_bytes;
	v[5] = h->c_grows;
	v[6] = h->c_trims;
	v[7] = h->c_splits;
	v[8] = h->c_coalesces;
	v[9] = h->c_mmaps;
	v[10] = h->c_inplace;
	v[11] = h->nused * HDR + h->nregions * 2 * HDR + h->meta_mmap;
	v[12] = h->c_steps;
}

