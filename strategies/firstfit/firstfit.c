/*
 * firstfit.c - address-ordered first fit: a request takes the free block
 * with the lowest address that is large enough, split from its front; the
 * remainder stays free.  The classic sequential-fit policy (Knuth, TAOCP
 * vol. 1, 2.5, Algorithm A; Wilson, Johnstone, Neely and Boles, "Dynamic
 * Storage Allocation: A Survey and Critical Review", IWMM 1995, 3.4), which
 * Johnstone and Wilson ("The Memory Fragmentation Problem: Solved?",
 * ISMM 1998) found among the least fragmenting policies on real traces.
 *
 * Model: a classic Unix malloc heap grown with brk, boundary tags (an
 * 8-byte header per block, a footer per free block, 16-byte granularity,
 * 32-byte minimum), immediate coalescing, trimming of the break, extra
 * mmap'd regions when the break cannot grow, optional direct mmap of large
 * requests: all in strategies/common/fitheap.c, whose opening comment
 * gives the details and the heap's own simplifications.  This file is the
 * policy: instead of walking an address-ordered free list (O(n)), it asks
 * the heap's address-ordered B+ tree of free blocks, whose inner entries
 * bound the largest free size below them, so the first fit is found in
 * O(log n), as in Stephenson's Cartesian-tree "Fast Fits" (SOSP 1983).
 *
 * Simplifications:
 *   1. Finding a block is O(log n) rather than a list walk; the block
 *      chosen is the same, only the search cost (search_steps) differs from
 *      a list implementation.
 *   2. An aligned request (align > 16) tries the first 8 blocks of its size
 *      in address order, then takes the lowest-addressed block large enough
 *      for any alignment offset.
 */
#include "strategy.h"
#include "simos.h"
#include "../common/fitheap.h"

static struct fitheap_fit ff_first(struct fitheap *h, uint64_t need)
{
	return fitheap_lowest_fit(h, need, 0);
}

static struct fitheap_fit ff_next(struct fitheap *h, uint64_t need,
				  struct fitheap_fit prev)
{
	return fitheap_lowest_fit(h, need, prev.addr);
}

static const struct fitheap_policy ff_policy = {
	.size_index = 0,
	.first = ff_first,
	.next = ff_next,
};

static int ff_init(void *self, const struct strategy_env *env,
		   const union param_value *params, struct sim_err *err)
{
	return fitheap_init(self, env, params, &ff_policy, err);
}

const struct strategy_ops strategy_firstfit = {
	.abi_version = STRATEGY_ABI_VERSION,
	.name = "firstfit",
	.summary = "address-ordered first fit on a brk heap with boundary tags",
	.state_size = sizeof(struct fitheap),
	.params = fitheap_params,
	.counter_names = fitheap_counter_names,
	.reclaim_default = SIM_RECLAIM_IMMEDIATE,
	.max_align = 16,
	.init = ff_init,
	.fini = fitheap_fini,
	.alloc = fitheap_alloc,
	.free = fitheap_free,
	.realloc = fitheap_realloc,
	.check = fitheap_check,
	.counters = fitheap_counters,
};
