/*
 * engine.h - the event loop of one run: one strategy on one simulated OS,
 * fed one event at a time.  The engine keeps the object table, detects
 * workload errors, charges simulated time, runs the reclamation policy,
 * checks blocks with the shadow checker (--check) and samples the series.
 */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include <stdint.h>

#include "err.h"
#include "event.h"
#include "simos.h"
#include "stats.h"
#include "strategy.h"

struct pool_stats;

struct engine_config {
	int reclaim;             /* enum sim_reclaim; DEFAULT: the strategy's */
	uint64_t sample_every;   /* a series row every N events; 0: only peaks
	                            and the end */
	int check;               /* shadow-check every block */
	uint64_t check_every;    /* with check: run the strategy's own check
	                            every N events (0: only at the end) */
	int touch;               /* the program writes the bytes it asks for */
	uint64_t event_ns;       /* simulated cost of one event */
	uint64_t tick_ns;        /* period of the strategy's background work */
	struct simos_config os;
	const char *series_path; /* NULL: no series file */
	uint64_t checkpoint_every;  /* engine_checkpoint after every N events
	                               (0: never), as a program polling
	                               runtime.ReadMemStats does */
	int checkpoint_gc;       /* engine_checkpoint after every EV_GC */
};

/* The process's address-space limit (RLIMIT_AS) unless a fault plan sets
 * one: mappings past it fail, so a trace with absurd sizes ends as an OOM
 * at its event instead of costing host memory in proportion (the
 * simulated OS keeps 96 KiB of page state per GiB mapped: 96 MiB at this
 * limit, 6 GiB for a 64 TiB block). */
#define ENGINE_MAPPED_MAX (UINT64_C(1) << 40)

/* Defaults: strategy's reclaim mode, a row every 1000 events, no check,
 * touch on, 20 ns an event, a tick every millisecond, the simulated OS's
 * defaults with ENGINE_MAPPED_MAX as the mapped-bytes cap. */
void engine_config_default(struct engine_config *cfg);

struct engine;

/* Create a run of ops with params.  SIM_OK and *out, or an error. */
int engine_create(const struct engine_config *cfg,
		  const struct strategy_ops *ops,
		  const union param_value *params, struct engine **out,
		  struct sim_err *err);

/* Apply one event.  Returns SIM_OK; SIM_EWORKLOAD for an illegal event
 * (double free, unknown or reused ID), SIM_EOOM when the run ran out of
 * memory (the strategy returned 0 or the memory limit was breached),
 * SIM_ECHECK when a block or the strategy failed a check, SIM_EIO when the
 * series could not be written.  err's message names the event index.
 * After an error the run is over: only engine_finish may follow. */
int engine_step(struct engine *e, const struct sim_event *ev,
		struct sim_err *err);

/* Prefetch what engine_step will need for ev (its object's slot).  A
 * caller that knows the events ahead calls this a few events early; it
 * changes no state and no result. */
void engine_prefetch(const struct engine *e, const struct sim_event *ev);

/* End the run: final strategy check (with --check), last series row, the
 * series file renamed into place.  SIM_OK or an error. */
int engine_finish(struct engine *e, struct sim_err *err);

/* Remove a series file not yet finished, and free everything. */
void engine_destroy(struct engine *e);

/* Replace the simulated OS's fault plan from now on (simos_set_faults):
 * a workload (Lua) sets it for the rest of its run. */
void engine_set_faults(struct engine *e, const struct simos_faults *f);

/* sync.Pool models (pool.h) over the run's objects.  Threads map to Ps as
 * the strategy's gomaxprocs parameter says (tid mod gomaxprocs; 1 P when
 * it has none).  Every GC cycle (and EV_GC in immediate mode) starts with
 * poolCleanup: objects dropped from a victim become garbage.
 * engine_pool_new: a new pool's index, or -1 when out of host memory.
 * engine_pool_get: a pooled live object's ID, or 0 for a miss (the caller
 * allocates).  engine_pool_put: pool live object id; SIM_OK, SIM_EWORKLOAD
 * (not live) or SIM_ENOMEM.  The workload must not free a pooled object. */
int engine_pool_new(struct engine *e);
uint64_t engine_pool_get(struct engine *e, int pool, uint32_t tid);
int engine_pool_put(struct engine *e, int pool, uint32_t tid, uint64_t id,
		    struct sim_err *err);
const struct pool_stats *engine_pool_stats(const struct engine *e, int pool);
/* Number of pools engine_pool_new made (indices 0 .. n-1). */
int engine_pool_count(const struct engine *e);

/* runtime.ReadMemStats: the strategy flushes its thread caches
 * (strat_flush: Go's mcaches, the current tiny blocks), and a series row
 * is written with the state after it.  A checkpoint is not an event: the
 * event count and the clock stay.  SIM_OK, or SIM_EIO when the row cannot
 * be written (the run is then over). */
int engine_checkpoint(struct engine *e, struct sim_err *err);

/* debug.FreeOSMemory: a forced collection (in immediate mode, only the
 * pools' cleanup, as EV_GC there), then the strategy returns every free
 * page to the OS (strat_release_os), and a series row.  Not an event.
 * SIM_OK, or an error as engine_step's (the run is then over). */
int engine_free_os_memory(struct engine *e, struct sim_err *err);

const struct sim_stats *engine_stats(const struct engine *e);
const struct simos *engine_os(const struct engine *e);
/* The strategy's counters, refreshed now; names are ops->counter_names. */
const uint64_t *engine_counters(struct engine *e);
size_t engine_counter_count(const struct engine *e);
const char *const *engine_counter_names(const struct engine *e);
/* 1 when object id is live (allocated, not freed; pooled objects are
 * live), else 0. */
int engine_object_live(const struct engine *e, uint64_t id);
int engine_reclaim(const struct engine *e);
/* Peak host bytes of the strategy's metadata plus the object table. */
uint64_t engine_host_bytes_peak(const struct engine *e);

#endif
