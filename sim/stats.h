/*
 * stats.h - what a run measures: gauges and counters kept as one X-macro
 * list each, the measures derived from them (metrics.md), and the writers
 * of series.csv and summary.json.  The lists generate the struct fields,
 * the CSV header and rows and the JSON keys, so columns never drift.
 */
#ifndef SIM_STATS_H
#define SIM_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "simos.h"

struct pool_stats;

/* Gauges: current value, peak; sampled in every series row. */
#define SIM_GAUGES(X) \
	X(live_bytes) X(dead_bytes) X(alloc_bytes) X(heap_bytes) \
	X(rss_bytes) X(released_bytes) X(meta_bytes) X(live_objects)

/* Counters: only grow. */
#define SIM_COUNTERS(X) \
	X(events) X(allocs) X(frees) X(reallocs) X(gc_cycles)

/* Measures over the whole run (metrics.md); each may be undefined. */
#define SIM_MEASURES(X) \
	X(frag_jw1) X(frag_jw2) X(frag_jw3) X(frag_jw4) \
	X(rss_frag_jw1) X(rss_frag_jw2) X(rss_frag_jw3) X(rss_frag_jw4) \
	X(frag_internal) X(frag_external) X(peak_rss_over_ideal) \
	X(cache_hit_rate)

/* The gauges at one moment. */
struct stats_snap {
#define STATS_SNAP_FIELD(n) uint64_t n;
	SIM_GAUGES(STATS_SNAP_FIELD)
#undef STATS_SNAP_FIELD
	uint64_t event;
	uint64_t t_ns;
};

struct sim_stats {
	struct stats_snap cur, peak;     /* peak: each gauge's own maximum */
#define STATS_COUNTER_FIELD(n) uint64_t n;
	SIM_COUNTERS(STATS_COUNTER_FIELD)
#undef STATS_COUNTER_FIELD
	struct stats_snap at_live_peak, at_heap_peak, at_rss_peak;
	double jw1_sum, rss_jw1_sum;     /* sums of heap/live, rss/live */
	uint64_t jw1_n;                  /* events with live > 0 */
	uint64_t cache_hits, cache_misses;
};

enum {
#define STATS_MEASURE_ENUM(n) SIM_M_##n,
	SIM_MEASURES(STATS_MEASURE_ENUM)
#undef STATS_MEASURE_ENUM
	SIM_NMEASURES
};

struct sim_measures {
	double v[SIM_NMEASURES];
	int defined[SIM_NMEASURES];      /* 0 when a denominator was 0 */
};

/* Name of measure i ("frag_jw4"). */
const char *stats_measure_name(int i);

/* Zero st. */
void stats_init(struct sim_stats *st);

/* stats_observe's answer: the peaks this event set. */
#define STATS_NEW_LIVE_PEAK 1
#define STATS_NEW_HEAP_PEAK 2

/* The peaks of the gauges other than live, heap, rss and released
 * (stats_observe raises those, the last three only when they may have
 * moved) and meta_bytes (the engine reads it from the strategy only for a
 * series row, and raises its peak there). */
static inline void stats_raise_other_peaks(struct stats_snap *peak,
					   const struct stats_snap *c)
{
#define STATS_PEAK(n) if (c->n > peak->n) peak->n = c->n;
	STATS_PEAK(dead_bytes) STATS_PEAK(alloc_bytes) STATS_PEAK(live_objects)
#undef STATS_PEAK
}

/* stats_raise_other_peaks must cover every gauge but those five. */
#define STATS_COUNT(n) + 1
_Static_assert(0 SIM_GAUGES(STATS_COUNT) == 8, "a gauge without a peak");
#undef STATS_COUNT

/* Record the gauges in st->cur after one event: peaks, the snapshots at
 * the live, heap and rss peaks, and the time averages.  Returns a mask of
 * STATS_NEW_LIVE_PEAK | STATS_NEW_HEAP_PEAK for peaks set by this event.
 * os_moved is 0 only when heap, rss and released bytes are as they were
 * at the last call (the caller knows: they come from the simulated OS's
 * meter, which most events do not move), so none can be a new peak and
 * their tests are skipped.  Inline: it runs once an event, and a call cost
 * a fifth of its instructions. */
static inline unsigned stats_observe_os(struct sim_stats *st, int os_moved)
{
	const struct stats_snap *c = &st->cur;
	unsigned news = 0;
	/* Strictly greater: the first moment a peak is reached counts. */
	if (c->live_bytes > st->peak.live_bytes) {
		st->at_live_peak = *c;
		st->peak.live_bytes = c->live_bytes;
		news |= STATS_NEW_LIVE_PEAK;
	}
	if (os_moved) {
		if (c->heap_bytes > st->peak.heap_bytes) {
			st->at_heap_peak = *c;
			st->peak.heap_bytes = c->heap_bytes;
			news |= STATS_NEW_HEAP_PEAK;
		}
		if (c->rss_bytes > st->peak.rss_bytes) {
			st->at_rss_peak = *c;
			st->peak.rss_bytes = c->rss_bytes;
		}
		if (c->released_bytes > st->peak.released_bytes)
			st->peak.released_bytes = c->released_bytes;
	}
	stats_raise_other_peaks(&st->peak, c);
	if (c->live_bytes) {
		/* Through int64_t: byte counts are below 2^63, where the
		 * conversion is the same number, and a signed one is a single
		 * instruction where an unsigned one is a branch and six. */
		double live = (double)(int64_t)c->live_bytes;
		st->jw1_sum += (double)(int64_t)c->heap_bytes / live;
		st->rss_jw1_sum += (double)(int64_t)c->rss_bytes / live;
		st->jw1_n++;
	}
	return news;
}

/* stats_observe_os for a caller that does not know what moved. */
static inline unsigned stats_observe(struct sim_stats *st)
{
	return stats_observe_os(st, 1);
}

/* Derive the whole-run measures from st. */
void stats_measures(const struct sim_stats *st, struct sim_measures *m);

/* ---- series.csv ------------------------------------------------------ */

struct series;

/* A series row: the gauges, the phase, the OS counters, the strategy's
 * counters (ncounters values named by counter_names at open) and, last,
 * the pool totals (pool_gets, pool_hits, pool_victim_hits, pool_news). */
struct series_row {
	struct stats_snap g;
	uint64_t gc_cycles;
	const char *phase;
	struct simos_counts os;
	const uint64_t *counters;
	struct {                   /* sums over the run's sync.Pool models */
		uint64_t gets, hits, victim_hits, news;
	} pool;
};

/* Create path (through a temporary name) and write the header.  SIM_OK or
 * SIM_EIO. */
int series_open(struct series **out, const char *path,
		const char *const *counter_names, struct sim_err *err);
int series_write(struct series *s, const struct series_row *row,
		 struct sim_err *err);
/* Flush and rename into place; SIM_OK or SIM_EIO (temporary removed). */
int series_close(struct series *s, struct sim_err *err);
/* Remove the temporary; NULL is fine. */
void series_abort(struct series *s);

/* ---- summary.json ------------------------------------------------------ */

struct summary {
	const char *run, *source, *strategy, *reclaim, *status, *message;
	uint64_t seed, end_event;
	size_t nparams;
	const char *const *param_names;
	const char *const *param_values;  /* formatted */
	const struct sim_stats *st;
	const struct sim_measures *m;
	const struct simos_counts *os;
	uint64_t os_peak_rss;
	size_t ncounters;
	const char *const *counter_names;
	const uint64_t *counters;
	uint64_t host_bytes_peak;         /* simulator's own memory for it */
	size_t nworkload;                 /* -w NAME=VALUE texts of the run */
	const char *const *workload;
	size_t npools;                    /* sync.Pool models, in creation order */
	const struct pool_stats *const *pools;
};

/* Write the summary as JSON to path (temporary name, then rename).
 * SIM_OK or SIM_EIO. */
int summary_write(const char *path, const struct summary *s,
		  struct sim_err *err);

/* ---- writing files whole ----------------------------------------------- */

/* Open "path.tmp.PID" for writing; returns NULL with err on failure. */
FILE *stats_open_tmp(const char *path, char *tmp, size_t ntmp,
		     struct sim_err *err);
/* Close f and rename tmp to path; on failure remove tmp.  SIM_OK/SIM_EIO. */
int stats_commit_tmp(FILE *f, const char *tmp, const char *path,
		     struct sim_err *err);

#endif
