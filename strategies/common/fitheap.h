/*
 * fitheap.h - the heap machinery the sequential-fit baselines share
 * (strategies/firstfit, strategies/bestfit): a brk heap of boundary-tagged
 * blocks, immediate coalescing, trimming, extra mmap'd regions when the
 * break cannot grow, and direct mmap for large requests.  The placement
 * policy is a parameter (struct fitheap_policy); everything else is here.
 * The model itself is described at the top of fitheap.c.
 *
 * A strategy using it sets state_size = sizeof(struct fitheap), params =
 * fitheap_params, counter_names = fitheap_counter_names, calls fitheap_init
 * from its init with its policy, and puts fitheap_fini, fitheap_alloc,
 * fitheap_free, fitheap_realloc, fitheap_check and fitheap_counters straight
 * into its ops table.  This folder is shared code, not a strategy.
 */
#ifndef STRATEGIES_COMMON_FITHEAP_H
#define STRATEGIES_COMMON_FITHEAP_H

#include <stddef.h>
#include <stdint.h>

#include "strategy.h"

/* Which tree: free blocks by address (with a bound on the sizes below
 * each inner entry), and by (size, address) when the policy asks for it. */
enum { FITHEAP_BY_ADDR = 0, FITHEAP_BY_SIZE = 1 };

/* A free block as queries return it; size 0 means none.  The rest is
 * private: where its entries sit in the two trees (leaf 0: not known),
 * valid until the heap next changes. */
struct fitheap_fit {
	uint64_t addr;                   /* block start: its header word */
	uint64_t size;                   /* bytes, header included */
	uint32_t leaf[2], slot[2];
};

/* A unit of the B+ tree node pool (private to fitheap.c). */
struct fitheap_bunit;

/* A region of heap: the brk heap or an extra mapping.  bits[i] is a page
 * of the bitmap of block starts (one bit per 16-byte granule, set where a
 * block in use starts) covering 512 KiB of heap, allocated on first use. */
struct fitheap_region {
	uint64_t start, len;             /* the mapping: page multiples */
	uint64_t **bits;
	size_t nbits;                    /* entries of bits */
};

/* A block that has a mapping of its own (direct mmap). */
struct fitheap_mslot {
	uint64_t key;                    /* payload address; 0: empty slot */
	uint64_t start, len;             /* the mapping */
};

struct fitheap;

/* A placement policy: the free blocks of at least need bytes, in the order
 * the policy prefers them.  first returns the preferred one, next the one
 * after prev in that order; both return size 0 when there is none.
 * Aligned requests walk a few candidates with next (see fitheap.c). */
struct fitheap_policy {
	int size_index;        /* 1: keep the (size, address) tree up to date */
	struct fitheap_fit (*first)(struct fitheap *h, uint64_t need);
	struct fitheap_fit (*next)(struct fitheap *h, uint64_t need,
				   struct fitheap_fit prev);
};

/* The state a strategy's ops work on.  Fields are private to fitheap.c;
 * the struct is public only so that state_size can be sizeof of it. */
struct fitheap {
	const struct strategy_env *env;
	const struct fitheap_policy *pol;
	uint64_t grow, trim_threshold, top_pad, mmap_threshold;
	struct fitheap_bunit *bunits;    /* tree nodes; unit 0 unused (= none) */
	uint32_t nbunits, cap_bunits, free_bnode[2], root[2];
	uint64_t *spare_bits[8];         /* bitmap pages ready for use */
	size_t nspare_bits;
	struct fitheap_region *regions;  /* sorted by start */
	size_t nregions, cap_regions, rlast;
	uint64_t brk_start;              /* start of the brk heap, 0: none */
	struct fitheap_mslot *mslots;    /* direct-mmap blocks by payload */
	size_t nmslots, nmlive;
	uint64_t heap_bytes, used_bytes, nused, meta_mmap;
	uint64_t errors;                 /* unknown frees, failed touches */
	uint64_t c_allocs, c_locks, c_free_blocks, c_free_bytes, c_grows;
	uint64_t c_trims, c_splits, c_coalesces, c_mmaps, c_inplace, c_steps;
};

/* The parameter table and counter names both baselines use. */
extern const struct strategy_param fitheap_params[];
extern const char *const fitheap_counter_names[];

/* Set up h (zeroed) with params in fitheap_params order and policy pol.
 * Returns SIM_OK; SIM_ENOMEM with err when host memory runs out. */
int fitheap_init(void *h, const struct strategy_env *env,
		 const union param_value *params,
		 const struct fitheap_policy *pol, struct sim_err *err);

/* The ops of struct strategy_ops, with its contract. */
void fitheap_fini(void *h);
uint64_t fitheap_alloc(void *h, uint32_t tid, uint64_t size, uint64_t align,
		       unsigned flags, uint64_t *usable);
void fitheap_free(void *h, uint32_t tid, uint64_t addr, uint64_t usable);
uint64_t fitheap_realloc(void *h, uint32_t tid, uint64_t addr,
			 uint64_t old_usable, uint64_t size, uint64_t *usable);
int fitheap_check(void *h, struct sim_err *err);
void fitheap_counters(void *h, uint64_t *values);

/* Queries for policies, O(log n) each; each counts the tree nodes it
 * visits in the search_steps counter. */

/* The lowest-addressed free block above address after (0: any) with at
 * least need bytes; size 0 when there is none. */
struct fitheap_fit fitheap_lowest_fit(struct fitheap *h, uint64_t need,
				      uint64_t after);

/* The free block with the smallest (size, address) of at least need bytes
 * that comes after prev in that order (prev.size 0: the smallest); size 0
 * when there is none.  Only valid for a policy with size_index set. */
struct fitheap_fit fitheap_smallest_fit(struct fitheap *h, uint64_t need,
					struct fitheap_fit prev);

#endif
