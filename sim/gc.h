/*
 * gc.h - the GC reclamation mode (--reclaim=gc): Go's pacer and the list
 * of dead objects waiting for the next collection.  Usable with any
 * strategy; the engine (engine.c) runs the cycles.
 *
 * In GC mode a workload free only makes its object dead.  A cycle starts
 *   - when, after an allocation, the heap has reached the trigger,
 *   - when the workload asks for one (EV_GC, Lua gc()): runtime.GC(),
 *     which returns only when the sweep is done, so the engine then gives
 *     the strategy's background work (tick) a turn at once,
 *   - every 2 minutes of simulated time after the first cycle, unless
 *     GOGC is off (Go's forcegcperiod).
 * A cycle is atomic (go-allocator.md 11.6 choice (a)): every object dead at
 * the trigger is garbage, nothing allocated later is.  The engine calls
 * strat_gc_begin (GC start), strat_free for every dead object (marking: the
 * strategy learns what is garbage), strat_gc_end (mark termination: the
 * strategy flushes its caches and sweeps, eagerly or lazily), and then
 * commits the pacer with the heap that survived.
 *
 * The heap measures come from the strategy's counters when it has them
 * (Go's view, as span and tiny report it), else from the engine:
 *   heap_live    counter heap_live    | alloc_bytes (live + dead, usable)
 *   heap_alloc   counter heap_alloc   | alloc_bytes
 *   mapped_ready counter mapped_ready | the OS's heap bytes (rw - released)
 *   heap_free    heap_idle - heap_released | mapped_ready - alloc_bytes
 * GOGC and GOMEMLIMIT are the strategy's parameters named gogc and
 * memlimit when it has them (gogc: -1 = off; memlimit: 0 = none), else
 * 100 and none.
 *
 * Goal and trigger (11.2, 11.3) as Go 1.19 computes them, with the
 * program's scan work as parameters of the strategy (sizes, default 0):
 * stack_scan and globals_scan (lastStackScan, globalsScan: part of the
 * goal, marked + (marked + stacks + globals) * GOGC/100) and heap_scan
 * (lastHeapScan: the pointer-bearing heap a cycle scans; traces do not say
 * which objects hold pointers, so it is one number).  The trigger is
 * goal - runway within Go's bounds [max(45/64 of the way from the marked
 * heap to the goal, marked + 1 MiB), max(61/64, goal - 4 MiB)], where
 *   runway = cons_mark * (1 - 0.25) / 0.25 * (heap + stack + globals scan).
 * Go measures cons_mark (allocation rate over scan rate) from CPU times,
 * so it is not deterministic: the model takes it as the parameter
 * cons_mark (default 0.6, the median of real Go 1.19's values over the 133
 * collections it paced in scripts/validate-go's replays).  With no scan
 * work the runway is 0 and every cycle starts at the high bound; the first
 * cycle always does (Go starts with cons_mark 0: 3,997,696 bytes with
 * GOGC=100, exact).  Real Go also wraps a negative cons_mark (its PI
 * controller overshoots) to a huge runway, hence the low bound; a constant
 * cons_mark cannot follow that.  The check runs after every allocation;
 * for Go models heap_live only grows at mcache refills and large
 * allocations, so that is Go's "heavy allocation" test.
 */
#ifndef SIM_GC_H
#define SIM_GC_H

#include <stdint.h>

#include "err.h"
#include "strategy.h"

#define GC_MIN_HEAP      ((uint64_t)4 << 20)   /* defaultHeapMinimum */
#define GC_SWEEP_MIN     ((uint64_t)1 << 20)   /* sweepMinHeapDistance */
#define GC_FORCE_PERIOD  UINT64_C(120000000000) /* forcegcperiod, ns */

/* The program's scan work per cycle and Go's cons/mark ratio (see the
 * trigger above). */
struct gc_scan {
	double cons_mark;
	uint64_t heap, stack, globals;   /* bytes */
};

/* The pacer's state between cycles (11.2). */
struct gc_pacer {
	int64_t gogc;            /* percent; -1: off */
	uint64_t memlimit;       /* bytes; 0: none */
	uint64_t marked;         /* heapMarked of the last cycle (0 before) */
	uint64_t gogc_goal;      /* UINT64_MAX when GOGC is off */
	uint64_t min_trigger;    /* sweepDistMinTrigger; 0 before a cycle */
	struct gc_scan scan;
	int committed;           /* a cycle has ended */
};

/* The heap as the pacer sees it, in bytes. */
struct gc_heap {
	uint64_t live, alloc, mapped_ready, free;
};

/* Set up the pacer for a program that has not collected yet: the goal is
 * the 4 MiB minimum heap (scaled by GOGC/100).  scan may be NULL (no scan
 * work: runway 0). */
void gc_pacer_init(struct gc_pacer *p, int64_t gogc, uint64_t memlimit,
		   const struct gc_scan *scan);

/* The GOGC goal for a marked heap and roots bytes of stacks and globals:
 * marked + (marked + roots) * GOGC/100, at least 4 MiB * GOGC/100;
 * UINT64_MAX when GOGC is off. */
uint64_t gc_gogc_goal(int64_t gogc, uint64_t marked, uint64_t roots);

/* The runway of 11.3: cons_mark * 3 * (heap + stack + globals scan),
 * saturating. */
uint64_t gc_runway(const struct gc_scan *scan);

/* The memory-limit goal (11.4) for the heap h; UINT64_MAX without one. */
uint64_t gc_limit_goal(const struct gc_pacer *p, const struct gc_heap *h);

/* heapGoal(): the effective goal (NextGC), and in *min_trigger the lower
 * trigger bound it implies (0 when the memory limit sets the goal). */
uint64_t gc_goal(const struct gc_pacer *p, const struct gc_heap *h,
		 uint64_t *min_trigger);

/* The trigger (11.3, see above): a cycle starts when h->live reaches it. */
uint64_t gc_trigger(const struct gc_pacer *p, const struct gc_heap *h);

/* Mark termination: the marked heap becomes the new basis; live is
 * heapLive at that moment (the sweep-distance minimum is live + 1 MiB). */
void gc_pacer_commit(struct gc_pacer *p, uint64_t marked, uint64_t live);

/* ---- one run's GC state -------------------------------------------------- */

/* A dead object as gc_dead_next hands it back.  The list keeps it in
 * about 10 bytes (varints, the address as a delta from the previous one's):
 * at GOGC = 100 it can hold as many objects as the live set. */
struct gc_dead {
	uint64_t addr, usable, size;
	uint32_t tid;
};

/* A reading position in the dead list: {0, 0} is its start. */
struct gc_dead_iter {
	uint64_t pos, addr;
};

struct gc;

/* GC state for a run of ops with params (reads gogc and memlimit).
 * SIM_OK and *out, or SIM_ENOMEM. */
int gc_create(const struct strategy_ops *ops, const union param_value *params,
	      struct gc **out, struct sim_err *err);
void gc_destroy(struct gc *g);

/* Remember a dead object.  SIM_OK or SIM_ENOMEM (host memory). */
int gc_add_dead(struct gc *g, uint32_t tid, uint64_t addr, uint64_t usable,
		uint64_t size);

/* The dead objects in the order they died: 1 and the one at *it (which
 * moves on), or 0 past the last; and forgetting them. */
int gc_dead_next(const struct gc *g, struct gc_dead_iter *it,
		 struct gc_dead *d);
void gc_dead_clear(struct gc *g);

/* Fill h from the strategy's counters (values named by ops->counter_names;
 * counters may be NULL when gc_wants_counters is 0) or the engine's. */
void gc_read_heap(const struct gc *g, const uint64_t *counters,
		  uint64_t alloc_bytes, uint64_t os_heap_bytes,
		  struct gc_heap *h);
int gc_wants_counters(const struct gc *g);

/* After an allocation (alloc != 0) or any event: 1 when a cycle is due
 * (trigger reached, or the periodic GC), else 0. */
int gc_due(const struct gc *g, const struct gc_heap *h, int alloc,
	   uint64_t now_ns);

/* gc_due after an allocation, the heap read from the counters as
 * gc_read_heap does (with a memory limit the trigger depends on all of
 * it; without one, gc_quick is the cheaper test). */
int gc_due_alloc(const struct gc *g, const uint64_t *counters,
		 uint64_t alloc_bytes, uint64_t os_heap_bytes, uint64_t now_ns);

/* gc_due's answer in a form the engine tests inline after every event,
 * kept up to date by gc_create and gc_cycle_done: a cycle is due when
 * now_ns > force_after (the periodic GC; UINT64_MAX: none due), or after an
 * allocation, when live_only (no memory limit, so the trigger is fixed
 * until the next cycle), when heapLive reaches trigger - heapLive read
 * from the strategy's counter ix_live, or the engine's alloc_bytes when
 * ix_live is -1: the one counter, not all of them.  Without live_only,
 * gc_due_alloc decides. */
struct gc_quick {
	uint64_t force_after;
	uint64_t trigger;
	int live_only;
	int ix_live;
};
const struct gc_quick *gc_quick(const struct gc *g);

/* A cycle ended at now_ns; h is the heap after it (h->live = marked). */
void gc_cycle_done(struct gc *g, const struct gc_heap *h, uint64_t now_ns);

const struct gc_pacer *gc_pacer(const struct gc *g);

#endif
