/*
 * sweep.h - experiments: many independent runs, and their merged results.
 *
 * An experiment file (Lua, evaluated in a restricted state by
 * sim/lua_sim.c) calls sweep{...} once per group of runs:
 *
 *   sweep{
 *     name = "hitrate",                       -- optional; default: file name
 *     workloads = {"workloads/tiny_burst.lua", "tests/data/sed.trace.gz"},
 *     strategies = {"span", "tiny"},          -- default: every strategy
 *     p = {gomaxprocs = {1, 4}, ["span.gogc"] = 50},   -- -p, crossed
 *     w = {threads = {1, 16}, n = 2000},      -- -w (Lua sources only), crossed
 *     seeds = 3,                              -- 1..3, or a list {7, 8}
 *     args = {"--sample", "500"},             -- more `allocsim run` options
 *   }
 *
 * A group expands to workloads x strategies x p values x w values x seeds,
 * in that order (the order of the file; map keys sorted by name).  A p key
 * without "STRATEGY." applies to every strategy of the group that has the
 * parameter; one with it, to that strategy only.  A trace does not depend
 * on the seed and runs once, with the first seed.  Each run is one
 * `allocsim run` process writing OUT/runs/<name>/<workload>/<config>/
 * s<seed>/<strategy>/summary.json; it is finished when that file exists,
 * so an interrupted sweep resumes where it stopped.
 *
 * The runs that differ only in their seed form a cell; the merge writes one
 * row per cell to OUT/summary.csv with the mean, standard deviation and
 * 95 % confidence interval (Student's t) of each metric across seeds.
 */
#ifndef SIM_SWEEP_H
#define SIM_SWEEP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* One value of a sweep{} call: field ("strategies"), key ("" outside p
 * and w, else the map key), the value as text, and whether it came in a
 * list {...}.  group counts sweep{} calls from 0.  SIM_OK or an error
 * (raised at the sweep{} call's line). */
typedef int (*sweep_item_fn)(void *ud, int group, const char *field,
			     const char *key, const char *value, int in_list,
			     struct sim_err *err);

/* Evaluate experiment file path (sim/lua_sim.c) in a Lua state with no
 * io, os or file loading, a memory cap and an instruction budget; every
 * value of every sweep{} call goes to fn in order.  SIM_OK; SIM_ESCRIPT
 * "FILE:LINE: message" for any error in the file; SIM_EIO when it cannot
 * be read. */
int lsim_experiment_load(const char *path, sweep_item_fn fn, void *ud,
			 struct sim_err *err);

struct sweep_dim {             /* one -p or -w key and its values */
	char *key;             /* "gomaxprocs", "span.gogc" or "threads" */
	char **vals;
	size_t n;
};

struct sweep_group {
	char *name;
	char **work, **strat, **args;
	size_t nwork, nstrat, nargs;
	struct sweep_dim *p, *w;
	size_t np, nw;
	uint64_t *seeds;
	size_t nseeds;
};

struct sweep_run {
	size_t cell;
	uint64_t seed;
	char *out;             /* folder of its summary.json */
	char *cmd;             /* the exact command line (shell words) */
};

/* Runs that differ only in the seed: one row of summary.csv. */
struct sweep_cell {
	size_t group;
	char *workload;        /* run name of the source */
	const char *strategy;
	char **col;            /* value of each dimension column, "" if none */
	size_t first, nruns;   /* its runs: r[first .. first+nruns-1] */
};

struct sweep {
	char *file, *outdir, *allocsim;
	struct sweep_group *g;
	size_t ng;
	char **cols;           /* dimension columns: p keys, then "w.KEY" */
	size_t ncols;
	struct sweep_cell *cell;
	size_t ncells;
	struct sweep_run *r;
	size_t nr;
};

/* Read and expand experiment file into *sw: runs write under outdir and
 * run the allocsim binary at path allocsim.  SIM_OK, or an error naming
 * the file (and line); *sw is then empty.  Free with sweep_free. */
int sweep_load(struct sweep *sw, const char *file, const char *outdir,
	       const char *allocsim, struct sim_err *err);
void sweep_free(struct sweep *sw);

/* Is run i finished (its summary.json exists)? */
int sweep_run_done(const struct sweep *sw, size_t i);

/* Write OUT/jobs.txt: one line per run, "FOLDER<TAB>COMMAND".  SIM_OK or
 * SIM_EIO. */
int sweep_write_jobs(const struct sweep *sw, struct sim_err *err);

/* Write OUT/jobs.txt and OUT/sweep.sbatch, a Slurm job-array script
 * running every unfinished run (at most max_tasks array tasks).  SIM_OK
 * or SIM_EIO. */
int sweep_emit_slurm(const struct sweep *sw, int max_tasks,
		     struct sim_err *err);

/* Run the unfinished runs with GNU parallel, jobs at a time, showing
 * progress on stderr; *failed is the number of runs that ended without a
 * summary.json (each reported with its command and log).  When *stop is
 * set, parallel starts no new run.  SIM_OK (even with failures),
 * SIM_EINVAL when parallel is missing, SIM_EINTR when stopped, SIM_EIO. */
int sweep_run_local(const struct sweep *sw, int jobs,
		    volatile sig_atomic_t *stop, size_t *failed,
		    struct sim_err *err);

/* Merge every finished run into OUT/summary.csv (rows in the order of
 * the experiment file, fixed formatting: byte-identical for the same
 * results).  *missing is the number of runs without results.  SIM_OK, or
 * SIM_EIO / SIM_EINVAL for an unreadable summary.json. */
int sweep_merge(const struct sweep *sw, size_t *missing, struct sim_err *err);

#endif
