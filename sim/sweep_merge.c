/*
 * sweep_merge.c - the merge step of a sweep: every finished run's
 * summary.json read back, the runs of a cell (same workload, strategy and
 * values, different seeds) reduced to the mean, the sample standard
 * deviation and the half-width of the 95 % confidence interval of the mean
 * (Student's t with n - 1 degrees of freedom, GSL), one row per cell in
 * OUT/summary.csv.
 *
 * The output depends only on the summaries: rows come in the order of the
 * experiment file, metrics in a fixed order, numbers as %.6f (a statistic
 * with too few runs, or a measure undefined in every run, is an empty
 * field), so a sweep run locally and the same sweep run on a cluster
 * merge to byte-identical files.
 *
 * summary.json is read by a small JSON reader that flattens the document
 * into "a.b.c" paths and scalar texts; it accepts any JSON but keeps only
 * what it needs.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>

#include "sweep.h"

/* ---- a flattening JSON reader -------------------------------------------------- */

#define JSON_MAX_FIELDS 1024

struct jfield {
	char path[128];
	char text[128];          /* number text, string contents, true/false/null */
	int is_string;
};

struct jdoc {
	struct jfield f[JSON_MAX_FIELDS];
	size_t n;
	const char *p;           /* parse position */
	int bad;
};

static void j_space(struct jdoc *d)
{
	while (*d->p == ' ' || *d->p == '\n' || *d->p == '\t' || *d->p == '\r')
		d->p++;
}

/* A string at d->p into out (size n, truncated; escapes kept simple). */
static void j_string(struct jdoc *d, char *out, size_t n)
{
	size_t k = 0;
	if (*d->p != '"') {
		d->bad = 1;
		return;
	}
	for (d->p++; *d->p && *d->p != '"'; d->p++) {
		char c = *d->p;
		if (c == '\\' && d->p[1])
			c = *++d->p;
		if (k + 1 < n)
			out[k++] = c;
	}
	if (*d->p != '"')
		d->bad = 1;
	else
		d->p++;
	if (n)
		out[k] = '\0';
}

static void j_value(struct jdoc *d, const char *path, int depth);

static void j_add(struct jdoc *d, const char *path, const char *start,
		  size_t len, int is_string)
{
	if (d->n == JSON_MAX_FIELDS)
		return;
	struct jfield *f = &d->f[d->n++];
	snprintf(f->path, sizeof f->path, "%s", path);
	if (len >= sizeof f->text)
		len = sizeof f->text - 1;
	memcpy(f->text, start, len);
	f->text[len] = '\0';
	f->is_string = is_string;
}

static void j_members(struct jdoc *d, const char *path, int depth, int array)
{
	char close = array ? ']' : '}';
	d->p++;
	j_space(d);
	for (int i = 0; !d->bad && *d->p != close; i++) {
		char key[128], sub[256];
		if (i > 0) {
			if (*d->p != ',') {
				d->bad = 1;
				return;
			}
			d->p++;
			j_space(d);
		}
		if (array) {
			snprintf(key, sizeof key, "%d", i);
		} else {
			j_string(d, key, sizeof key);
			j_space(d);
			if (*d->p++ != ':')
				d->bad = 1;
		}
		snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", key);
		j_value(d, sub, depth + 1);
		j_space(d);
	}
	if (*d->p == close)
		d->p++;
}

static void j_value(struct jdoc *d, const char *path, int depth)
{
	j_space(d);
	const char *start = d->p;
	if (depth > 16 || d->bad) {
		d->bad = 1;
	} else if (*d->p == '{' || *d->p == '[') {
		j_members(d, path, depth, *d->p == '[');
	} else if (*d->p == '"') {
		char text[128];
		j_string(d, text, sizeof text);
		j_add(d, path, text, strlen(text), 1);
	} else {
		d->p += strspn(d->p, "0123456789+-.eEtruefalsn");
		if (d->p == start)
			d->bad = 1;
		else
			j_add(d, path, start, (size_t)(d->p - start), 0);
	}
}

static const struct jfield *j_get(const struct jdoc *d, const char *path)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->f[i].path, path) == 0)
			return &d->f[i];
	return NULL;
}

/* Read and flatten path.  SIM_OK, SIM_EIO or SIM_EINVAL. */
static int j_load(struct jdoc *d, const char *path, struct sim_err *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return SIM_ERR(err, SIM_EIO, "%s: cannot open: %s", path,
			       strerror(errno));
	char *buf = NULL;
	size_t len = 0, cap = 0, got;
	char chunk[8192];
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (len + got + 1 > cap) {
			char *nb = realloc(buf, cap = (len + got + 1) * 2);
			if (!nb) {
				free(buf);
				fclose(f);
				return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
			}
			buf = nb;
		}
		memcpy(buf + len, chunk, got);
		len += got;
	}
	fclose(f);
	d->n = 0;
	d->bad = 0;
	d->p = buf ? (buf[len] = '\0', buf) : "";
	j_value(d, "", 0);
	j_space(d);
	int bad = d->bad || *d->p != '\0' || !buf;
	free(buf);
	if (bad)
		return SIM_ERR(err, SIM_EINVAL, "%s: not a complete JSON document",
			       path);
	return SIM_OK;
}

/* ---- metrics ------------------------------------------------------------------------- */

/* The metrics of summary.csv: the path in summary.json and the column. */
static const struct metric {
	const char *path, *col;
} metrics[] = {
	{"measures.frag_jw1", "frag_jw1"}, {"measures.frag_jw2", "frag_jw2"},
	{"measures.frag_jw3", "frag_jw3"}, {"measures.frag_jw4", "frag_jw4"},
	{"measures.rss_frag_jw1", "rss_frag_jw1"},
	{"measures.rss_frag_jw2", "rss_frag_jw2"},
	{"measures.rss_frag_jw3", "rss_frag_jw3"},
	{"measures.rss_frag_jw4", "rss_frag_jw4"},
	{"measures.frag_internal", "frag_internal"},
	{"measures.frag_external", "frag_external"},
	{"measures.peak_rss_over_ideal", "peak_rss_over_ideal"},
	{"measures.cache_hit_rate", "cache_hit_rate"},
	{"peak.live_bytes", "peak_live_bytes"},
	{"peak.alloc_bytes", "peak_alloc_bytes"},
	{"peak.heap_bytes", "peak_heap_bytes"},
	{"peak.rss_bytes", "peak_rss_bytes"},
	{"peak.released_bytes", "peak_released_bytes"},
	{"peak.meta_bytes", "peak_meta_bytes"},
	{"final.heap_bytes", "final_heap_bytes"},
	{"final.rss_bytes", "final_rss_bytes"},
	{"final.released_bytes", "final_released_bytes"},
	{"counts.events", "events"}, {"counts.allocs", "allocs"},
	{"counts.frees", "frees"}, {"counts.reallocs", "reallocs"},
	{"counts.gc_cycles", "gc_cycles"}, {"counts.t_ns", "t_ns"},
	{"syscalls.mmap.calls", "mmap_calls"},
	{"syscalls.munmap.calls", "munmap_calls"},
	{"syscalls.madvise.calls", "madvise_calls"},
	{"syscalls.brk.calls", "brk_calls"},
	{"syscalls.mremap.calls", "mremap_calls"},
	{"syscalls.mprotect.calls", "mprotect_calls"},
	{"syscalls.page_faults", "page_faults"},
	{"counters.cache_hits", "cache_hits"},
	{"counters.cache_misses", "cache_misses"},
	{"counters.lock_acquires", "lock_acquires"},
};
#define NMETRICS (sizeof metrics / sizeof metrics[0])

/* Values of one cell: v[m][k] for the k-th run that defines metric m. */
struct cellvals {
	double *v[NMETRICS];
	size_t n[NMETRICS];
	size_t done, not_ok;
};

/* Fold run i's summary.json into cv.  SIM_OK or an error. */
static int read_run(const struct sweep *sw, size_t i, struct jdoc *d,
		    struct cellvals *cv, struct sim_err *err)
{
	char path[8192];
	snprintf(path, sizeof path, "%s/summary.json", sw->r[i].out);
	int rc = j_load(d, path, err);
	if (rc != SIM_OK)
		return rc;
	const struct jfield *st = j_get(d, "strategy"), *ok = j_get(d, "status");
	const struct sweep_cell *c = &sw->cell[sw->r[i].cell];
	if (!st || strcmp(st->text, c->strategy) != 0)
		return SIM_ERR(err, SIM_EINVAL, "%s: not a result of strategy %s",
			       path, c->strategy);
	cv->done++;
	cv->not_ok += !ok || strcmp(ok->text, "ok") != 0;
	for (size_t m = 0; m < NMETRICS; m++) {
		const struct jfield *f = j_get(d, metrics[m].path);
		char *end;
		double x = f && !f->is_string ? strtod(f->text, &end) : NAN;
		if (!f || f->is_string || *end || !isfinite(x))
			continue;
		cv->v[m][cv->n[m]++] = x;
	}
	return SIM_OK;
}

/* ---- summary.csv --------------------------------------------------------------------- */

static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n")) {
		fprintf(f, ",%s", s);
		return;
	}
	fputs(",\"", f);
	for (; *s; s++)
		fprintf(f, *s == '"' ? "\"\"" : "%c", *s);
	fputc('"', f);
}

/* x as %.6f, with no "-0.000000". */
static void csv_num(FILE *f, double x)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%.6f", x);
	fprintf(f, ",%s", strcmp(buf, "-0.000000") == 0 ? "0.000000" : buf);
}

static void csv_header(FILE *f, const struct sweep *sw)
{
	fputs("name,workload,strategy", f);
	for (size_t k = 0; k < sw->ncols; k++)
		csv_field(f, sw->cols[k]);
	fputs(",runs,done,not_ok", f);
	for (size_t m = 0; m < NMETRICS; m++)
		fprintf(f, ",%s_mean,%s_sd,%s_ci95", metrics[m].col, metrics[m].col,
			metrics[m].col);
	fputc('\n', f);
}

static void csv_stats(FILE *f, const double *v, size_t n)
{
	if (n == 0) {
		fputs(",,,", f);
		return;
	}
	double mean = gsl_stats_mean(v, 1, n);
	csv_num(f, mean);
	if (n < 2) {
		fputs(",,", f);
		return;
	}
	double sd = gsl_stats_sd_m(v, 1, n, mean);
	csv_num(f, sd);
	csv_num(f, gsl_cdf_tdist_Pinv(0.975, (double)(n - 1)) * sd / sqrt((double)n));
}

static void csv_row(FILE *f, const struct sweep *sw, size_t ci,
		    const struct cellvals *cv)
{
	const struct sweep_cell *c = &sw->cell[ci];
	fputs(sw->g[c->group].name, f);
	csv_field(f, c->workload);
	csv_field(f, c->strategy);
	for (size_t k = 0; k < sw->ncols; k++)
		csv_field(f, c->col[k]);
	fprintf(f, ",%zu,%zu,%zu", c->nruns, cv->done, cv->not_ok);
	for (size_t m = 0; m < NMETRICS; m++)
		csv_stats(f, cv->v[m], cv->n[m]);
	fputc('\n', f);
}

/* Read the runs of cell ci and write its row. */
static int merge_cell(FILE *f, const struct sweep *sw, size_t ci,
		      struct jdoc *d, size_t *missing, struct sim_err *err)
{
	const struct sweep_cell *c = &sw->cell[ci];
	struct cellvals cv = {0};
	int rc = SIM_OK;
	for (size_t m = 0; m < NMETRICS && rc == SIM_OK; m++)
		if (!(cv.v[m] = malloc((c->nruns + 1) * sizeof(double))))
			rc = SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	for (size_t i = c->first; rc == SIM_OK && i < c->first + c->nruns; i++) {
		if (sweep_run_done(sw, i))
			rc = read_run(sw, i, d, &cv, err);
		else
			(*missing)++;
	}
	if (rc == SIM_OK)
		csv_row(f, sw, ci, &cv);
	for (size_t m = 0; m < NMETRICS; m++)
		free(cv.v[m]);
	return rc;
}

int sweep_merge(const struct sweep *sw, size_t *missing, struct sim_err *err)
{
	char path[8192], tmp[8200];
	snprintf(path, sizeof path, "%s/summary.csv", sw->outdir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	*missing = 0;
	struct jdoc *d = malloc(sizeof *d);
	FILE *f = d ? fopen(tmp, "w") : NULL;
	if (!f) {
		free(d);
		return SIM_ERR(err, d ? SIM_EIO : SIM_ENOMEM, "%s: cannot write: %s",
			       tmp, strerror(errno));
	}
	csv_header(f, sw);
	int rc = SIM_OK;
	for (size_t ci = 0; ci < sw->ncells && rc == SIM_OK; ci++)
		rc = merge_cell(f, sw, ci, d, missing, err);
	free(d);
	if (fclose(f) != 0 && rc == SIM_OK)
		rc = SIM_ERR(err, SIM_EIO, "%s: cannot write: %s", tmp,
			     strerror(errno));
	if (rc == SIM_OK && rename(tmp, path) != 0)
		rc = SIM_ERR(err, SIM_EIO, "%s: cannot write: %s", path,
			     strerror(errno));
	if (rc != SIM_OK)
		remove(tmp);
	return rc;
}
