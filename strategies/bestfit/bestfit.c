/*
 * bestfit.c - address-ordered best fit: a request takes the smallest free
 * block that is large enough, the lowest-addressed among blocks of that
 * size, split from its front; the remainder stays free.  The best-fit
 * method of Knuth, TAOCP vol. 1, 2.5, and of Wilson, Johnstone, Neely and
 * Boles, "Dynamic Storage Allocation: A Survey and Critical Review",
 * IWMM 1995, 3.4; Johnstone and Wilson ("The Memory Fragmentation Problem:
 * Solved?", ISMM 1998) found it, with address-ordered first fit, among the
 * least fragmenting policies on real traces.
 *
 * Model: a classic Unix malloc heap grown with brk, boundary tags (an
 * 8-byte header per block, a footer per free block, 16-byte granularity,
 * 32-byte minimum), immediate coalescing, trimming of the break, extra
 * mmap'd regions when the break cannot grow, optional direct mmap of large
 * requests: all in strategies/common/fitheap.c, whose opening comment
 * gives the details and the heap's own simplifications.  This file is the
 * policy: it asks the heap to keep its free blocks in a second B+ tree
 * ordered by (size, address), so the best fit is a lower-bound search,
 * O(log n).
 *
 * Simplifications:
 *   1. The index is an ordered tree rather than segregated size bins; the
 *      block chosen is exactly the best fit, only the search cost
 *      (search_steps) differs from a binned implementation.
 *   2. An aligned request (align > 16) tries the 8 best blocks of its size,
 *      then takes the best block large enough for any alignment offset.
 */
#include "strategy.h"
#include "simos.h"
#include "../common/fitheap.h"

static struct fitheap_fit bf_first(struct fitheap *h, uint64_t need)
{
	struct fitheap_fit none = {.size = 0};
	return fitheap_smallest_fit(h, need, none);
}

static struct fitheap_fit bf_next(struct fitheap *h, uint64_t need,
				  struct fitheap_fit prev)
{
	return fitheap_smallest_fit(h, need, prev);
}

static const struct fitheap_policy bf_policy = {
	.size_index = 1,
	.first = bf_first,
	.next = bf_next,
};

static int bf_init(void *self, const struct strategy_env *env,
		   const union param_value *params, struct sim_err *err)
{
	return fitheap_init(self, env, params, &bf_policy, err);
}

const struct strategy_ops strategy_bestfit = {
	.abi_version = STRATEGY_ABI_VERSION,
	.name = "bestfit",
	.summary = "address-ordered best fit on a brk heap with boundary tags",
	.state_size = sizeof(struct fitheap),
	.params = fitheap_params,
	.counter_names = fitheap_counter_names,
	.reclaim_default = SIM_RECLAIM_IMMEDIATE,
	.max_align = 16,
	.init = bf_init,
	.fini = fitheap_fini,
	.alloc = fitheap_alloc,
	.free = fitheap_free,
	.realloc = fitheap_realloc,
	.check = fitheap_check,
	.counters = fitheap_counters,
};
