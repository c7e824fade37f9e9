/*
 * shadow.c - the shadow heap checker (see shadow.h).  The live blocks are a
 * treap keyed by address whose priorities are a hash of the address, so the
 * shape, like everything else, is deterministic.  Only the neighbours of a
 * new block can overlap it, so a check is two O(log n) searches.
 */
#include "shadow.h"

#include <inttypes.h>
#include <stdlib.h>

struct node {
	uint64_t addr, len;
	uint64_t prio;
	struct node *l, *r;
};

struct shadow {
	struct node *root;
	uint64_t count;
};

struct shadow *shadow_create(void)
{
	return calloc(1, sizeof(struct shadow));
}

static void free_tree(struct node *n)
{
	while (n) {
		free_tree(n->l);
		struct node *r = n->r;
		free(n);
		n = r;
	}
}

void shadow_destroy(struct shadow *sh)
{
	if (!sh)
		return;
	free_tree(sh->root);
	free(sh);
}

/* Split t into keys < addr (*l) and keys >= addr (*r). */
static void split(struct node *t, uint64_t addr, struct node **l,
		  struct node **r)
{
	if (!t) {
		*l = *r = NULL;
	} else if (t->addr < addr) {
		split(t->r, addr, &t->r, r);
		*l = t;
	} else {
		split(t->l, addr, l, &t->l);
		*r = t;
	}
}

/* Join l and r where every key of l is below every key of r. */
static struct node *merge(struct node *l, struct node *r)
{
	if (!l || !r)
		return l ? l : r;
	if (l->prio > r->prio) {
		l->r = merge(l->r, r);
		return l;
	}
	r->l = merge(l, r->l);
	return r;
}

/* The block with the greatest address <= addr, or NULL. */
static const struct node *floor_of(const struct node *t, uint64_t addr)
{
	const struct node *best = NULL;
	while (t) {
		if (t->addr <= addr) {
			best = t;
			t = t->r;
		} else {
			t = t->l;
		}
	}
	return best;
}

/* The block with the least address > addr, or NULL. */
static const struct node *above(const struct node *t, uint64_t addr)
{
	const struct node *best = NULL;
	while (t) {
		if (t->addr > addr) {
			best = t;
			t = t->l;
		} else {
			t = t->r;
		}
	}
	return best;
}

static uint64_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return x;
}

static int check_block(const struct shadow *sh, const struct simos *os,
		       uint64_t addr, uint64_t size, uint64_t usable,
		       uint64_t align, struct sim_err *err)
{
	if (addr & (align - 1))
		return SIM_ERR(err, SIM_ECHECK,
			       "block 0x%" PRIx64 " is not aligned to %" PRIu64,
			       addr, align);
	if (usable < size)
		return SIM_ERR(err, SIM_ECHECK,
			       "block 0x%" PRIx64 ": usable size %" PRIu64
			       " is below the requested %" PRIu64, addr, usable, size);
	uint64_t len = usable ? usable : 1;
	if (!simos_is_rw(os, addr, len))
		return SIM_ERR(err, SIM_ECHECK,
			       "block 0x%" PRIx64 "+%" PRIu64
			       " is not inside read/write mapped memory", addr, len);
	const struct node *lo = floor_of(sh->root, addr);
	const struct node *hi = above(sh->root, addr);
	if (lo && lo->addr + lo->len > addr)
		return SIM_ERR(err, SIM_ECHECK,
			       "block 0x%" PRIx64 "+%" PRIu64 " overlaps live block 0x%"
			       PRIx64 "+%" PRIu64, addr, len, lo->addr, lo->len);
	if (hi && addr + len > hi->addr)
		return SIM_ERR(err, SIM_ECHECK,
			       "block 0x%" PRIx64 "+%" PRIu64 " overlaps live block 0x%"
			       PRIx64 "+%" PRIu64, addr, len, hi->addr, hi->len);
	return SIM_OK;
}

int shadow_add(struct shadow *sh, const struct simos *os, uint64_t addr,
	       uint64_t size, uint64_t usable, uint64_t align,
	       struct sim_err *err)
{
	int rc = check_block(sh, os, addr, size, usable, align, err);
	if (rc != SIM_OK)
		return rc;
	struct node *n = malloc(sizeof *n);
	if (!n)
		return SIM_ERR(err, SIM_ENOMEM, "shadow checker: out of host memory");
	*n = (struct node){addr, usable ? usable : 1, hash64(addr), NULL, NULL};
	struct node *l, *r;
	split(sh->root, addr, &l, &r);
	sh->root = merge(merge(l, n), r);
	sh->count++;
	return SIM_OK;
}

int shadow_remove(struct shadow *sh, uint64_t addr, struct sim_err *err)
{
	struct node *l, *mid, *r;
	split(sh->root, addr, &l, &r);
	split(r, addr + 1, &mid, &r);
	sh->root = merge(l, r);
	if (!mid)
		return SIM_ERR(err, SIM_ECHECK,
			       "free of 0x%" PRIx64 ", which is no live block", addr);
	free(mid);
	sh->count--;
	return SIM_OK;
}

uint64_t shadow_count(const struct shadow *sh)
{
	return sh->count;
}
