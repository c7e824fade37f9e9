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
#include <string.h>

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

/* A dead object as gc_dead_next hands it back. */
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

/* ---- the dead list ------------------------------------------------------- */

/* The objects freed since the last cycle, in the order they died: a byte
 * string of records, written once and read once in order, so it needs no
 * random access.  At GOGC = 100 it can hold as many objects as the live
 * set.  Most objects take one 64-bit word (little-endian), written with
 * one store and read with one load:
 *   bit 0       0
 *   bits 1-35   the address less the previous object's, zigzag (a step
 *               of less than 16 GiB either way)
 *   bits 36-49  the size (less than 16 KiB)
 *   bits 50-59  usable - size (less than 1 KiB)
 *   bits 60-63  the thread (less than 16)
 * Any other object takes a long record of four words: 1 | thread << 32,
 * the address, the size and usable - size (mod 2^64, exact even for a
 * strategy that reports less than the size).  On tools/scale's trace
 * about 1 % are long, so an object takes about 8.2 bytes where a struct
 * took 32 (and varints, a loop a field, 8.3).  The one-word paths are
 * inline here: the engine appends once a free and reads once a dead
 * object; the rest is in gc.c. */
struct gc_dead_list {
	uint8_t *buf;
	uint64_t len, cap;
	uint64_t addr;          /* the last object appended (0 at the start) */
};

#define GC_DEAD_LONG      UINT64_C(1)
#define GC_DEAD_STEP_BITS 35
#define GC_DEAD_SIZE_BITS 14
#define GC_DEAD_X_BITS    10
#define GC_DEAD_SIZE_AT   (1 + GC_DEAD_STEP_BITS)
#define GC_DEAD_X_AT      (GC_DEAD_SIZE_AT + GC_DEAD_SIZE_BITS)
#define GC_DEAD_TID_AT    (GC_DEAD_X_AT + GC_DEAD_X_BITS)
#define GC_DEAD_MAX_BYTES 32     /* a long record */
_Static_assert(GC_DEAD_TID_AT == 60, "the thread takes the top four bits");

/* The run's dead list (gc_destroy frees it). */
struct gc_dead_list *gc_dead_list(struct gc *g);

static inline void gc_put_word(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, sizeof v);
}

static inline uint64_t gc_get_word(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* The one-word record of an object (its step zigzag) in *w; 0 when a
 * field does not fit, and the object needs a long record. */
static inline int gc_short_record(uint64_t zz, uint64_t size, uint64_t x,
				  uint32_t tid, uint64_t *w)
{
	if (zz >> GC_DEAD_STEP_BITS | size >> GC_DEAD_SIZE_BITS |
	    x >> GC_DEAD_X_BITS | tid >> (64 - GC_DEAD_TID_AT))
		return 0;
	*w = zz << 1 | size << GC_DEAD_SIZE_AT | x << GC_DEAD_X_AT |
	     (uint64_t)tid << GC_DEAD_TID_AT;
	return 1;
}

/* gc_add_dead when the list is full or the object needs a long record
 * (x = usable - size, zz the zigzag step).  Out of line and reached by a
 * tail call, so the one-word path saves no registers. */
int gc_add_dead_slow(struct gc_dead_list *l, uint32_t tid, uint64_t addr,
		     uint64_t x, uint64_t size, uint64_t zz);

/* The zigzag step from the last object appended to addr. */
static inline uint64_t gc_dead_zz(const struct gc_dead_list *l,
				  uint64_t addr)
{
	uint64_t step = addr - l->addr;
	return step << 1 ^ (uint64_t)-(step >> 63);
}

/* Whether a dead object goes in the list as one word, with room for it
 * now: 1 with the word in *w, or 0 (gc_add_dead's slow path).  With
 * gc_put_dead, gc_add_dead in two steps, for a caller that tests all its
 * rare cases before it changes anything (the engine's kill_object). */
static inline int gc_dead_fits(const struct gc_dead_list *l, uint32_t tid,
			       uint64_t addr, uint64_t usable, uint64_t size,
			       uint64_t *w)
{
	return l->cap - l->len >= GC_DEAD_MAX_BYTES &&
	       gc_short_record(gc_dead_zz(l, addr), size, usable - size, tid, w);
}

/* Append the word w of gc_dead_fits for the object at addr. */
static inline void gc_put_dead(struct gc_dead_list *l, uint64_t w,
			       uint64_t addr)
{
	gc_put_word(l->buf + l->len, w);
	l->len += 8;
	l->addr = addr;
}

/* Remember a dead object.  SIM_OK or SIM_ENOMEM (host memory). */
static inline int gc_add_dead(struct gc_dead_list *l, uint32_t tid,
			      uint64_t addr, uint64_t usable, uint64_t size)
{
	uint64_t w;
	if (__builtin_expect(!gc_dead_fits(l, tid, addr, usable, size, &w), 0))
		return gc_add_dead_slow(l, tid, addr, usable - size, size,
					gc_dead_zz(l, addr));
	gc_put_dead(l, w, addr);
	return SIM_OK;
}

/* gc_dead_next's long record w (gc.c). */
int gc_dead_next_long(const struct gc_dead_list *l, struct gc_dead_iter *it,
		      struct gc_dead *d, uint64_t w);

/* The dead objects in the order they died: 1 and the one at *it (which
 * moves on), or 0 past the last. */
static inline int gc_dead_next(const struct gc_dead_list *l,
			       struct gc_dead_iter *it, struct gc_dead *d)
{
	if (it->pos >= l->len)
		return 0;
	uint64_t w = gc_get_word(l->buf + it->pos);
	if (__builtin_expect(w & GC_DEAD_LONG, 0)) {
		/* through copies: the caller's iterator and record, whose
		 * addresses would escape into the call, stay in registers */
		struct gc_dead_iter i2 = *it;
		struct gc_dead d2;
		gc_dead_next_long(l, &i2, &d2, w);
		*it = i2;
		*d = d2;
		return 1;
	}
	uint64_t zz = w >> 1 & ((UINT64_C(1) << GC_DEAD_STEP_BITS) - 1);
	it->addr += zz >> 1 ^ (uint64_t)-(zz & 1);
	d->addr = it->addr;
	d->size = w >> GC_DEAD_SIZE_AT & ((UINT64_C(1) << GC_DEAD_SIZE_BITS) - 1);
	d->usable = d->size +
		    (w >> GC_DEAD_X_AT & ((UINT64_C(1) << GC_DEAD_X_BITS) - 1));
	d->tid = (uint32_t)(w >> GC_DEAD_TID_AT);
	it->pos += 8;
	return 1;
}

/* Forget every dead object (the cycle has freed them). */
void gc_dead_clear(struct gc_dead_list *l);

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
