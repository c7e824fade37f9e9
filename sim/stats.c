/*
 * stats.c - gauges, peaks, Johnstone & Wilson's measures and the result
 * files (see stats.h and ../shared/reference/metrics.md for definitions).
 * Every result file is written to a temporary name and renamed when whole,
 * so a crash or an interrupt never leaves a half-written result.
 */
#include "stats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"

/* ---- gauges and measures --------------------------------------------- */

const char *stats_measure_name(int i)
{
	static const char *const names[] = {
#define STATS_MEASURE_NAME(n) #n,
		SIM_MEASURES(STATS_MEASURE_NAME)
#undef STATS_MEASURE_NAME
	};
	return i >= 0 && i < SIM_NMEASURES ? names[i] : "?";
}

void stats_init(struct sim_stats *st)
{
	memset(st, 0, sizeof *st);
}

/* Set measure i to (num / den - 1) * 100 when den > 0. */
static void set_pct(struct sim_measures *m, int i, double num, double den)
{
	m->defined[i] = den > 0;
	m->v[i] = den > 0 ? (num / den - 1.0) * 100.0 : 0.0;
}

static void set_ratio(struct sim_measures *m, int i, double num, double den)
{
	m->defined[i] = den > 0;
	m->v[i] = den > 0 ? num / den : 0.0;
}

void stats_measures(const struct sim_stats *st, struct sim_measures *m)
{
	const struct stats_snap *lp = &st->at_live_peak, *hp = &st->at_heap_peak;
	double n = (double)st->jw1_n;
	set_pct(m, SIM_M_frag_jw1, st->jw1_sum, n);
	set_pct(m, SIM_M_frag_jw2, (double)lp->heap_bytes, (double)lp->live_bytes);
	set_pct(m, SIM_M_frag_jw3, (double)st->peak.heap_bytes, (double)hp->live_bytes);
	set_pct(m, SIM_M_frag_jw4, (double)st->peak.heap_bytes,
		(double)st->peak.live_bytes);
	set_pct(m, SIM_M_rss_frag_jw1, st->rss_jw1_sum, n);
	set_pct(m, SIM_M_rss_frag_jw2, (double)lp->rss_bytes, (double)lp->live_bytes);
	set_pct(m, SIM_M_rss_frag_jw3, (double)st->peak.rss_bytes,
		(double)st->at_rss_peak.live_bytes);
	set_pct(m, SIM_M_rss_frag_jw4, (double)st->peak.rss_bytes,
		(double)st->peak.live_bytes);
	double held = (double)(lp->live_bytes + lp->dead_bytes);
	set_ratio(m, SIM_M_frag_internal, (double)lp->alloc_bytes - held, held);
	set_ratio(m, SIM_M_frag_external,
		  (double)hp->heap_bytes - (double)hp->alloc_bytes,
		  (double)hp->heap_bytes);
	set_ratio(m, SIM_M_peak_rss_over_ideal, (double)st->peak.rss_bytes,
		  (double)st->peak.live_bytes);
	/* Every allocation a strategy serves is a hit or a miss of its thread
	 * cache, reallocs that move included; without a cache both are 0 and
	 * the rate is undefined. */
	set_ratio(m, SIM_M_cache_hit_rate, (double)st->cache_hits,
		  (double)(st->cache_hits + st->cache_misses));
}

/* ---- whole-file writes ------------------------------------------------ */

FILE *stats_open_tmp(const char *path, char *tmp, size_t ntmp,
		     struct sim_err *err)
{
	snprintf(tmp, ntmp, "%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f)
		SIM_ERR(err, SIM_EIO, "%s: cannot create: %s", tmp, strerror(errno));
	return f;
}

int stats_commit_tmp(FILE *f, const char *tmp, const char *path,
		     struct sim_err *err)
{
	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		remove(tmp);
		return SIM_ERR(err, SIM_EIO, "%s: write failed", path);
	}
	if (rename(tmp, path) != 0) {
		remove(tmp);
		return SIM_ERR(err, SIM_EIO, "%s: cannot rename into place: %s",
			       path, strerror(errno));
	}
	return SIM_OK;
}

/* ---- series.csv --------------------------------------------------------- */

struct series {
	FILE *f;
	char path[4096], tmp[4200];
	size_t ncounters;
	unsigned char *is_gauge;         /* counter i repeats a gauge column */
};

/* A strategy counter may carry a gauge the engine already writes (its
 * meta_bytes feeds the meta_bytes gauge): one column per name, so that a
 * script looking a column up by name cannot pick the wrong one. */
static int names_gauge(const char *name)
{
#define SERIES_GAUGE_IS(n) if (strcmp(name, #n) == 0) return 1;
	SIM_GAUGES(SERIES_GAUGE_IS)
#undef SERIES_GAUGE_IS
	return 0;
}

static void series_header(FILE *f, const char *const *names)
{
	fputs("event,t_ns,phase", f);
#define SERIES_GAUGE_NAME(n) fputs("," #n, f);
	SIM_GAUGES(SERIES_GAUGE_NAME)
#undef SERIES_GAUGE_NAME
	fputs(",gc_cycles", f);
	for (int i = 0; i < SIMOS_NCALLS; i++)
		fprintf(f, ",%s_calls", simos_call_name(i));
	fputs(",page_faults", f);
	for (size_t i = 0; names[i]; i++)
		if (!names_gauge(names[i]))
			fprintf(f, ",%s", names[i]);
	fputs(",pool_gets,pool_hits,pool_victim_hits,pool_news\n", f);
}

int series_open(struct series **out, const char *path,
		const char *const *counter_names, struct sim_err *err)
{
	struct series *s = calloc(1, sizeof *s);
	if (!s)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	snprintf(s->path, sizeof s->path, "%s", path);
	s->f = stats_open_tmp(path, s->tmp, sizeof s->tmp, err);
	if (!s->f) {
		free(s);
		return SIM_EIO;
	}
	while (counter_names[s->ncounters])
		s->ncounters++;
	s->is_gauge = calloc(s->ncounters + 1, 1);
	if (!s->is_gauge) {
		fclose(s->f);
		remove(s->tmp);
		free(s);
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	}
	for (size_t i = 0; i < s->ncounters; i++)
		s->is_gauge[i] = (unsigned char)names_gauge(counter_names[i]);
	series_header(s->f, counter_names);
	*out = s;
	return SIM_OK;
}

int series_write(struct series *s, const struct series_row *r,
		 struct sim_err *err)
{
	FILE *f = s->f;
	fprintf(f, "%" PRIu64 ",%" PRIu64 ",%s", r->g.event, r->g.t_ns,
		r->phase ? r->phase : "");
#define SERIES_GAUGE_VALUE(n) fprintf(f, ",%" PRIu64, r->g.n);
	SIM_GAUGES(SERIES_GAUGE_VALUE)
#undef SERIES_GAUGE_VALUE
	fprintf(f, ",%" PRIu64, r->gc_cycles);
	for (int i = 0; i < SIMOS_NCALLS; i++)
		fprintf(f, ",%" PRIu64, r->os.calls[i]);
	fprintf(f, ",%" PRIu64, r->os.page_faults);
	for (size_t i = 0; i < s->ncounters; i++)
		if (!s->is_gauge[i])
			fprintf(f, ",%" PRIu64, r->counters[i]);
	fprintf(f, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, r->pool.gets,
		r->pool.hits, r->pool.victim_hits, r->pool.news);
	if (fputc('\n', f) == EOF)
		return SIM_ERR(err, SIM_EIO, "%s: write failed", s->tmp);
	return SIM_OK;
}

int series_close(struct series *s, struct sim_err *err)
{
	int rc = stats_commit_tmp(s->f, s->tmp, s->path, err);
	free(s->is_gauge);
	free(s);
	return rc;
}

void series_abort(struct series *s)
{
	if (!s)
		return;
	fclose(s->f);
	remove(s->tmp);
	free(s->is_gauge);
	free(s);
}

/* ---- summary.json --------------------------------------------------------- */

/* Write s as a JSON string (the values we write are plain, but escape
 * quotes, backslashes and control characters all the same). */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* A snapshot; "peak" holds each gauge's own maximum, so it has no moment. */
static void json_snap(FILE *f, const char *key, const struct stats_snap *g,
		      int moment)
{
	fprintf(f, "  \"%s\": {", key);
	if (moment)
		fprintf(f, "\"event\": %" PRIu64 ", \"t_ns\": %" PRIu64 ", ",
			g->event, g->t_ns);
	const char *sep = "";
#define SUMMARY_GAUGE(n) fprintf(f, "%s\"" #n "\": %" PRIu64, sep, g->n); sep = ", ";
	SIM_GAUGES(SUMMARY_GAUGE)
#undef SUMMARY_GAUGE
	fputs("},\n", f);
}

static void json_run(FILE *f, const struct summary *s)
{
	fputs("{\n  \"run\": ", f);
	json_str(f, s->run);
	fputs(",\n  \"source\": ", f);
	json_str(f, s->source);
	fputs(",\n  \"strategy\": ", f);
	json_str(f, s->strategy);
	fputs(",\n  \"reclaim\": ", f);
	json_str(f, s->reclaim);
	fprintf(f, ",\n  \"seed\": %" PRIu64 ",\n  \"status\": ", s->seed);
	json_str(f, s->status);
	fputs(",\n  \"message\": ", f);
	json_str(f, s->message);
	fprintf(f, ",\n  \"end_event\": %" PRIu64 ",\n  \"params\": {", s->end_event);
	for (size_t i = 0; i < s->nparams; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, s->param_names[i]);
		fputs(": ", f);
		json_str(f, s->param_values[i]);
	}
	fputs("},\n  \"workload_params\": [", f);
	for (size_t i = 0; i < s->nworkload; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, s->workload[i]);
	}
	fputs("],\n", f);
}

static void json_counts(FILE *f, const struct summary *s)
{
	const struct sim_stats *st = s->st;
	fputs("  \"counts\": {", f);
	const char *sep = "";
#define SUMMARY_COUNTER(n) \
	fprintf(f, "%s\"" #n "\": %" PRIu64, sep, st->n); sep = ", ";
	SIM_COUNTERS(SUMMARY_COUNTER)
#undef SUMMARY_COUNTER
	fprintf(f, ", \"t_ns\": %" PRIu64 "},\n", st->cur.t_ns);
	fputs("  \"syscalls\": {", f);
	for (int i = 0; i < SIMOS_NCALLS; i++)
		fprintf(f, "%s\"%s\": {\"calls\": %" PRIu64 ", \"bytes\": %" PRIu64
			", \"failed\": %" PRIu64 "}", i ? ", " : "",
			simos_call_name(i), s->os->calls[i], s->os->bytes[i],
			s->os->failed[i]);
	fprintf(f, ", \"page_faults\": %" PRIu64 "},\n", s->os->page_faults);
}

static void json_measures(FILE *f, const struct sim_measures *m)
{
	fputs("  \"measures\": {", f);
	for (int i = 0; i < SIM_NMEASURES; i++) {
		fprintf(f, "%s\"%s\": ", i ? ", " : "", stats_measure_name(i));
		if (m->defined[i])
			fprintf(f, "%.6f", m->v[i]);
		else
			fputs("null", f);
	}
	fputs("},\n", f);
}

/* One line: every sync.Pool model's counters, in creation order. */
static void json_pools(FILE *f, const struct summary *s)
{
	fputs("  \"pools\": [", f);
	for (size_t i = 0; i < s->npools; i++) {
		const struct pool_stats *p = s->pools[i];
		fprintf(f, "%s{\"gets\": %" PRIu64 ", \"hits\": %" PRIu64
			", \"victim_hits\": %" PRIu64 ", \"news\": %" PRIu64
			", \"puts\": %" PRIu64 ", \"dropped\": %" PRIu64 "}",
			i ? ", " : "", p->gets, p->hits, p->victim_hits, p->news,
			p->puts, p->dropped);
	}
	fputs("],\n", f);
}

static void json_strategy_counters(FILE *f, const struct summary *s)
{
	fputs("  \"counters\": {", f);
	for (size_t i = 0; i < s->ncounters; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, s->counter_names[i]);
		fprintf(f, ": %" PRIu64, s->counters[i]);
	}
	fprintf(f, "},\n  \"simulator_host_bytes_peak\": %" PRIu64 "\n}\n",
		s->host_bytes_peak);
}

int summary_write(const char *path, const struct summary *s,
		  struct sim_err *err)
{
	char tmp[4200];
	FILE *f = stats_open_tmp(path, tmp, sizeof tmp, err);
	if (!f)
		return SIM_EIO;
	json_run(f, s);
	json_snap(f, "final", &s->st->cur, 1);
	json_snap(f, "peak", &s->st->peak, 0);
	json_snap(f, "at_live_peak", &s->st->at_live_peak, 1);
	json_snap(f, "at_heap_peak", &s->st->at_heap_peak, 1);
	json_snap(f, "at_rss_peak", &s->st->at_rss_peak, 1);
	json_counts(f, s);
	json_measures(f, s->m);
	json_pools(f, s);
	json_strategy_counters(f, s);
	return stats_commit_tmp(f, tmp, path, err);
}
