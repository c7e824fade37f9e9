/*
 * run.h - one run: a source of events (a trace file; Lua scripts plug in
 * here too) replayed through one strategy, with its results written to a
 * folder as summary.json and series.csv.
 */
#ifndef SIM_RUN_H
#define SIM_RUN_H

#include <signal.h>
#include <stdint.h>

#include "engine.h"
#include "err.h"
#include "stats.h"
#include "strategy.h"

/* Where events come from.  next() fills ev (EV_END at the end) and returns
 * SIM_OK or an error whose message starts with "FILE:LINE: ". */
struct source {
	void *ctx;
	int (*next)(void *ctx, struct sim_event *ev, struct sim_err *err);
	/* "FILE:LINE" of the event last returned, for engine errors. */
	void (*where)(void *ctx, char *buf, size_t n);
	void (*close)(void *ctx);
};

/* Open the source at path: a trace in any format.  SIM_OK and *src, or an
 * error naming the file. */
int source_open(const char *path, uint64_t seed, struct source *src,
		struct sim_err *err);

struct run_spec {
	const char *source;                 /* path of the trace */
	const char *run_name;
	const char *out_dir;                /* results folder; NULL: none */
	const struct strategy_ops *ops;
	const union param_value *params;
	struct engine_config cfg;
	uint64_t seed;
	volatile sig_atomic_t *stop;        /* set asynchronously to interrupt */
};

struct run_result {
	int status;                         /* SIM_OK, SIM_EOOM or SIM_ECHECK */
	char message[512];
	uint64_t end_event;
	struct sim_stats st;
	struct sim_measures m;
	struct simos_counts os;
	uint64_t host_bytes_peak;
	double host_seconds;                /* wall time of the replay */
};

/* Replay spec->source through spec->ops.  Returns SIM_OK when the run
 * finished, even with status oom or check (res->status says which; the
 * results are written); otherwise an input or I/O error (SIM_ETRACE,
 * SIM_EWORKLOAD, SIM_EINVAL, SIM_EIO, SIM_EINTR) with no results left. */
int run_one(const struct run_spec *spec, struct run_result *res,
	    struct sim_err *err);

/* The run name for a source path: its base name without extensions. */
void run_name_for(const char *path, char *buf, size_t n);

/* mkdir -p.  SIM_OK or SIM_EIO naming the folder. */
int run_mkdirs(const char *path, struct sim_err *err);

#endif
