/*
 * run.c - one run from source to result files (see run.h).  Results are
 * complete or absent: the series and the summary go to temporary names and
 * are renamed only when whole, and a run that fails on bad input removes
 * what it started.
 */
#include "run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "trace.h"

/* ---- trace sources ----------------------------------------------------- */

struct trace_src {
	struct trace_reader *r;
	char path[4096];
};

static int trace_src_next(void *ctx, struct sim_event *ev, struct sim_err *err)
{
	struct trace_src *t = ctx;
	return trace_next(t->r, ev, err);
}

static void trace_src_where(void *ctx, char *buf, size_t n)
{
	struct trace_src *t = ctx;
	snprintf(buf, n, "%s:%" PRIu64, t->path, trace_line(t->r));
}

static uint64_t trace_src_line(void *ctx)
{
	struct trace_src *t = ctx;
	return trace_line(t->r);
}

static void trace_src_close(void *ctx)
{
	struct trace_src *t = ctx;
	trace_close(t->r);
	free(t);
}

static int is_lua(const char *path)
{
	size_t n = strlen(path);
	return n > 4 && strcmp(path + n - 4, ".lua") == 0;
}

int source_open(const char *path, uint64_t seed,
		const struct workload_opts *wl, struct source *src,
		struct sim_err *err)
{
	if (is_lua(path))
		return lsim_source_open(path, seed, wl, src, err);
	/* traces are fixed; scripted sources draw from the seed */
	struct trace_src *t = calloc(1, sizeof *t);
	if (!t)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	snprintf(t->path, sizeof t->path, "%s", path);
	int rc = trace_open(path, &t->r, err);
	if (rc != SIM_OK) {
		free(t);
		return rc;
	}
	*src = (struct source){.ctx = t, .next = trace_src_next,
			       .where = trace_src_where, .close = trace_src_close,
			       .name = t->path, .line = trace_src_line};
	return SIM_OK;
}

/* ---- folders and names ----------------------------------------------- */

int run_mkdirs(const char *path, struct sim_err *err)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return SIM_ERR(err, SIM_EIO, "%s: cannot create folder: %s",
				       buf, strerror(errno));
		*p = c;
		if (c == '\0')
			break;
	}
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return SIM_ERR(err, SIM_EIO, "%s: not a folder", path);
	return SIM_OK;
}

void run_name_for(const char *path, char *buf, size_t n)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	snprintf(buf, n, "%s", base);
	char *dot = strchr(buf, '.');
	if (dot && dot != buf)
		*dot = '\0';
}

/* ---- the replay loop ----------------------------------------------------- */

/* Is rc an ending of the run that still has results (oom, failed check)? */
static int run_ending(int rc)
{
	return rc == SIM_EOOM || rc == SIM_ECHECK;
}

/* Events are read in batches so the engine can prefetch each event's
 * object a batch ahead: frees land on random slots of a table bigger than
 * the caches, and a miss per event would otherwise set the pace. */
#define BATCH 32

struct batch {
	struct sim_event ev[BATCH];
	uint64_t line[BATCH];
	int n, rc;                  /* rc: the source's error after ev[n-1] */
	struct sim_err err;
};

static void fill(struct source *src, struct engine *e, struct batch *b)
{
	b->n = 0;
	b->rc = SIM_OK;
	while (b->n < BATCH) {
		struct sim_event *ev = &b->ev[b->n];
		b->rc = src->next(src->ctx, ev, &b->err);
		if (b->rc != SIM_OK || ev->kind == EV_END)
			return;
		b->line[b->n++] = src->line(src->ctx);
		engine_prefetch(e, ev);
	}
}

/* Step the batch's events; an engine error is prefixed with FILE:LINE. */
static int drain(struct source *src, struct engine *e, struct batch *b,
		 struct sim_err *err)
{
	for (int i = 0; i < b->n; i++) {
		int rc = engine_step(e, &b->ev[i], err);
		if (rc == SIM_OK)
			continue;
		char msg[sizeof err->msg];
		snprintf(msg, sizeof msg, "%s", err->msg);
		return SIM_ERR(err, rc, "%s:%" PRIu64 ": %s", src->name,
			       b->line[i], msg);
	}
	if (b->rc != SIM_OK)
		*err = b->err;
	return b->rc;
}

/* Pull every event of src into e. */
static int pull(const struct run_spec *spec, struct source *src,
		struct engine *e, struct sim_err *err)
{
	struct batch b;
	for (uint64_t n = 0;; n += BATCH) {
		if (spec->stop && *spec->stop)
			return SIM_ERR(err, SIM_EINTR, "interrupted at event %" PRIu64, n);
		fill(src, e, &b);
		int rc = drain(src, e, &b, err);
		if (rc != SIM_OK || b.n < BATCH)
			return rc;
	}
}

static int replay(const struct run_spec *spec, struct source *src,
		  struct engine *e, struct run_result *res, struct sim_err *err)
{
	int rc = src->drive ? src->drive(src->ctx, e, spec->stop, err)
			    : pull(spec, src, e, err);
	if (!run_ending(rc))
		return rc;
	res->status = rc;
	snprintf(res->message, sizeof res->message, "%s", err->msg);
	return SIM_OK;
}

static int write_summary(const struct run_spec *spec, struct engine *e,
			 struct run_result *res, struct sim_err *err)
{
	size_t np = strat_param_count(spec->ops);
	const char *names[64];
	char vals[64][64];
	const char *valp[64];
	for (size_t i = 0; i < np && i < 64; i++) {
		names[i] = spec->ops->params[i].name;
		strat_param_format(&spec->ops->params[i], spec->params[i], vals[i],
				   sizeof vals[i]);
		valp[i] = vals[i];
	}
	char path[4200];
	snprintf(path, sizeof path, "%s/summary.json", spec->out_dir);
	int reclaim = engine_reclaim(e);
	struct summary s = {
		spec->run_name, spec->source, spec->ops->name,
		reclaim == SIM_RECLAIM_GC ? "gc" : "immediate",
		res->status == SIM_OK ? "ok" : sim_rc_name(res->status),
		res->message, spec->seed, res->end_event, np < 64 ? np : 64,
		names, valp, &res->st, &res->m, &res->os,
		simos_peak_rss_bytes(engine_os(e)), engine_counter_count(e),
		spec->ops->counter_names, engine_counters(e), res->host_bytes_peak,
		spec->wl.nparams, spec->wl.params, 0, NULL,
	};
	int npools = engine_pool_count(e);
	const struct pool_stats **pools = calloc((size_t)npools + 1, sizeof *pools);
	if (!pools)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	for (int i = 0; i < npools; i++)
		pools[i] = engine_pool_stats(e, i);
	s.npools = (size_t)npools;
	s.pools = pools;
	int rc = summary_write(path, &s, err);
	free(pools);
	return rc;
}

static void collect(struct engine *e, struct run_result *res)
{
	res->st = *engine_stats(e);
	res->end_event = res->st.events;
	stats_measures(&res->st, &res->m);
	res->os = *simos_counts(engine_os(e));
	res->host_bytes_peak = engine_host_bytes_peak(e);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int run_engine(const struct run_spec *spec, struct source *src,
		      struct run_result *res, struct sim_err *err)
{
	char series[4200];
	struct engine_config cfg = spec->cfg;
	if (spec->out_dir) {
		snprintf(series, sizeof series, "%s/series.csv", spec->out_dir);
		cfg.series_path = series;
	}
	struct engine *e;
	int rc = engine_create(&cfg, spec->ops, spec->params, &e, err);
	if (rc != SIM_OK)
		return rc;
	double t0 = now_seconds();
	rc = replay(spec, src, e, res, err);
	res->host_seconds = now_seconds() - t0;
	if (rc == SIM_OK) {
		struct sim_err ferr;
		int frc = engine_finish(e, &ferr);
		if (frc != SIM_OK && res->status == SIM_OK) {
			res->status = frc;
			snprintf(res->message, sizeof res->message, "%s", ferr.msg);
		}
		collect(e, res);
	}
	if (rc == SIM_OK && spec->out_dir)
		rc = write_summary(spec, e, res, err);
	engine_destroy(e);
	return rc;
}

int run_one(const struct run_spec *spec, struct run_result *res,
	    struct sim_err *err)
{
	memset(res, 0, sizeof *res);
	struct source src;
	struct workload_opts wl = spec->wl;
	wl.event_ns = spec->cfg.event_ns;
	/* Open (and for scripts, compile) first: bad input leaves no folder. */
	int rc = source_open(spec->source, spec->seed, &wl, &src, err);
	if (rc != SIM_OK)
		return rc;
	rc = spec->out_dir ? run_mkdirs(spec->out_dir, err) : SIM_OK;
	if (rc == SIM_OK)
		rc = run_engine(spec, &src, res, err);
	src.close(src.ctx);
	if (rc != SIM_OK && spec->out_dir)
		rmdir(spec->out_dir);   /* only if empty: never a finished run */
	return rc;
}
