/*
 * span.h - what strategies/span shares with strategies/tiny, which is a
 * front end composed over span through span's own ops table
 * (strategy_span): the parameter list, the counter list (with indices, so
 * tiny can adjust the MemStats counters it owns a part of), the thread ->
 * P mapping, the heap's base address (tiny's block map is indexed from
 * it) and the one allocation tiny makes outside the ops table, a tiny
 * block.  Both strategies expand the same lists, so their
 * parameters and counters never drift apart.
 */
#ifndef SPAN_SPAN_H
#define SPAN_SPAN_H

#include <stdint.h>

#include "strategy.h"

extern const struct strategy_ops strategy_span;

/* The heap's first address (go-allocator.md 2: the first arena hint): every
 * address span hands out is at or above it. */
#define SPAN_HEAP_BASE UINT64_C(0x00c000000000)

/* A new 16-byte noscan object (class 2) from thread tid's mcache for the
 * tiny allocator, not cleared: Go's mallocgc writes a new tiny block's two
 * words itself (tiny.c does that write) instead of clearing it as other
 * objects are.  Its address, or 0 when out of memory. */
uint64_t span_tiny_block(void *span, uint32_t tid);

/* span's parameters, in table order (init receives them in this order). */
#define SPAN_PARAMS \
	{"gomaxprocs", PARAM_INT, "1", 1, 1024, \
	 "number of Ps (mcaches, page caches); thread t runs on P t mod gomaxprocs"}, \
	{"gogc", PARAM_INT, "100", -1, 1000000, \
	 "GOGC percent; off = no GOGC goal (the engine's pacer reads it too)"}, \
	{"memlimit", PARAM_SIZE, "0", 0, 9.2e18, \
	 "GOMEMLIMIT in bytes; 0 = no limit (the engine's pacer reads it too)"}, \
	{"lazy_sweep", PARAM_BOOL, "true", 0, 1, \
	 "sweep spans lazily as Go does (false: sweep all at mark termination)"}, \
	{"scavenge", PARAM_BOOL, "true", 0, 1, \
	 "run the background and allocation-time scavenger"}, \
	{"scav_rate", PARAM_SIZE, "4000K", 0, 1e15, \
	 "background scavenger release rate, bytes per simulated second per P " \
	 "(1% CPU at 10us per 4 KiB page)"}, \
	{"nonheap", PARAM_SIZE, "0", 0, 1e15, \
	 "other memory the program has mapped (stacks, runtime data): counts " \
	 "in mapped_ready, which GOMEMLIMIT limits"}, \
	{"heap_scan", PARAM_SIZE, "0", 0, 1e15, \
	 "pointer-bearing heap the GC scans per cycle (lastHeapScan): with " \
	 "cons_mark, the pacer's runway (sim/gc.h)"}, \
	{"stack_scan", PARAM_SIZE, "0", 0, 1e15, \
	 "goroutine stack bytes scanned per cycle: in the heap goal and runway"}, \
	{"globals_scan", PARAM_SIZE, "0", 0, 1e15, \
	 "pointer-bearing globals scanned per cycle: in the heap goal and runway"}, \
	{"cons_mark", PARAM_DOUBLE, "0.6", 0, 1000, \
	 "Go's measured allocation/scan rate ratio, here fixed: the trigger is " \
	 "goal - cons_mark*3*(scan work) within Go's bounds (sim/gc.h)"}
enum { SPAN_P_GOMAXPROCS, SPAN_P_GOGC, SPAN_P_MEMLIMIT, SPAN_P_LAZY,
       SPAN_P_SCAVENGE, SPAN_P_SCAV_RATE, SPAN_P_NONHEAP, SPAN_P_HEAP_SCAN,
       SPAN_P_STACK_SCAN, SPAN_P_GLOBALS_SCAN, SPAN_P_CONS_MARK,
       SPAN_NPARAMS };

/* span's counters, in the order counters() fills them. */
#define SPAN_COUNTERS(X) \
	X(cache_hits) X(cache_misses) X(lock_acquires) X(refills) X(mcache_flushes) \
	X(mcentral_cache_span) X(mcentral_uncache_span) X(mcentral_grow) \
	X(mheap_alloc) X(mheap_free) X(mheap_grow) X(pcache_fills) \
	X(spans_swept) X(pages_reclaimed) \
	X(heap_alloc) X(heap_sys) X(heap_idle) X(heap_inuse) X(heap_released) \
	X(heap_objects) X(mallocs) X(frees) X(total_alloc) X(num_gc) \
	X(next_gc) X(heap_live) X(heap_marked) X(mapped_ready) \
	X(large_allocs) X(scav_released) X(meta_bytes)
enum {
#define SPAN_CTR_ENUM(n) SPAN_C_##n,
	SPAN_COUNTERS(SPAN_CTR_ENUM)
#undef SPAN_CTR_ENUM
	SPAN_NCOUNTERS
};

/* The P that thread tid runs on.  Go schedules goroutines onto Ps
 * dynamically; a trace has fixed threads, so the model pins thread t to
 * P (t mod gomaxprocs), which keeps every run deterministic. */
static inline unsigned span_p_of(uint32_t tid, unsigned nprocs)
{
	return nprocs == 1 ? 0 : tid % nprocs;
}

#endif
