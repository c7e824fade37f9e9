/*
 * pool.h - a model of Go's sync.Pool (go-allocator.md 12, Go 1.19
 * sync/pool.go and sync/poolqueue.go) holding workload object IDs.
 *
 * Per P a private slot and a shared double-ended queue: the owner pushes
 * and pops at the head, other Ps steal from the tail.  At every GC start
 * (poolCleanup) the victim cache is dropped - its objects become garbage
 * for that cycle - and the primary cache becomes the victim.  Get looks in
 * the own private slot, the own shared head, the other Ps' shared tails,
 * then the victim (own private, then every shared tail), and marks the
 * victim empty when it finds nothing there; a miss means the caller
 * allocates (Go's New).
 *
 * Simplifications: poolChain's ring buffers are one growable deque per P
 * (the order of heads and tails is the same); the pool's own heap memory
 * (poolLocal array, ring storage) is not allocated in the simulated heap;
 * a pool is registered at creation, not at its first Put after a GC (the
 * cleanup of an empty pool does nothing either way).
 */
#ifndef SIM_POOL_H
#define SIM_POOL_H

#include <stdint.h>

struct pool;

struct pool_stats {
	uint64_t gets, hits, victim_hits, news, puts, dropped;
};

/* A pool for nprocs Ps; NULL when out of host memory. */
struct pool *pool_create(unsigned nprocs);
void pool_destroy(struct pool *p);

/* Get on P pid: an object ID, or 0 for a miss (the caller allocates). */
uint64_t pool_get(struct pool *p, unsigned pid);

/* Put id (nonzero) on P pid.  0, or -1 when out of host memory. */
int pool_put(struct pool *p, unsigned pid, uint64_t id);

/* poolCleanup: the victim's IDs are handed to drop(ud, id) (they are now
 * garbage), then the primary cache becomes the victim. */
void pool_cleanup(struct pool *p, void (*drop)(void *ud, uint64_t id),
		  void *ud);

const struct pool_stats *pool_stats(const struct pool *p);

#endif
