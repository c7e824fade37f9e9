/*
 * run.h - one run: a source of events (a trace file or a Lua workload)
 * replayed through one strategy, with its results written to a folder as
 * summary.json and series.csv.
 */
#ifndef SIM_RUN_H
#define SIM_RUN_H

#include <signal.h>
#include <stdint.h>

#include "engine.h"
#include "err.h"
#include "stats.h"
#include "strategy.h"

/* Where events come from.  A source either pulls or drives:
 * - next() (traces) fills ev (EV_END at the end) and returns SIM_OK or an
 *   error whose message starts with "FILE:LINE: ";
 * - drive() (Lua workloads; next is NULL) runs the whole source, calling
 *   engine_step itself, so the source can ask the engine for state between
 *   events.  It returns SIM_OK at the end; SIM_EOOM or SIM_ECHECK when an
 *   engine_step ended the run with results (the message says where); or an
 *   input error (SIM_ESCRIPT, SIM_EWORKLOAD, SIM_EINTR when *stop was set,
 *   ...) "FILE:LINE: message". */
struct source {
	void *ctx;
	int (*next)(void *ctx, struct sim_event *ev, struct sim_err *err);
	int (*drive)(void *ctx, struct engine *e, volatile sig_atomic_t *stop,
		     struct sim_err *err);
	/* "FILE:LINE" of the event last returned, for engine errors. */
	void (*where)(void *ctx, char *buf, size_t n);
	void (*close)(void *ctx);
	/* Pulling sources: the file and the line of the event last returned,
	 * so events can be read ahead of the one the engine handles. */
	const char *name;
	uint64_t (*line)(void *ctx);
};

/* Options of scripted (Lua) sources; a zero field means its default. */
enum { WL_SCHED_RR = 0, WL_SCHED_RANDOM = 1 };
struct workload_opts {
	const char *const *params;  /* "-w NAME=VALUE" texts */
	size_t nparams;
	uint64_t quantum;           /* events a simulated thread runs before
	                               the next one's turn; 0: 100 */
	int schedule;               /* WL_SCHED_RR or WL_SCHED_RANDOM */
	uint64_t max_events;        /* event budget; 0: none */
	uint64_t max_instructions;  /* Lua instruction budget; 0: none */
	uint64_t lua_memory_max;    /* cap of the Lua state; 0: 256 MiB */
	uint64_t event_ns;          /* cost of one event, for the script's
	                               clock (run_one copies cfg.event_ns) */
};

/* Open the source at path: a Lua workload when the name ends in ".lua",
 * else a trace in any format.  wl may be NULL (defaults).  SIM_OK and
 * *src, or an error naming the file (and line). */
int source_open(const char *path, uint64_t seed,
		const struct workload_opts *wl, struct source *src,
		struct sim_err *err);

/* Open a Lua workload (sim/lua_sim.c): the script is compiled, not run.
 * SIM_OK and *src; SIM_ESCRIPT "FILE:LINE: message" for a syntax error;
 * SIM_EIO when it cannot be read. */
int lsim_source_open(const char *path, uint64_t seed,
		     const struct workload_opts *wl, struct source *src,
		     struct sim_err *err);

struct run_spec {
	const char *source;                 /* path of the trace or script */
	const char *run_name;
	const char *out_dir;                /* results folder; NULL: none */
	const struct strategy_ops *ops;
	const union param_value *params;
	struct engine_config cfg;
	uint64_t seed;
	volatile sig_atomic_t *stop;        /* set asynchronously to interrupt */
	struct workload_opts wl;            /* for Lua workloads */
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
