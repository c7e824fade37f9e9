/*
 * sweep.c - an experiment file expanded into runs: each run one exact
 * `allocsim run` command and the folder it writes, grouped into cells
 * (runs that differ only in their seed); the job list and the Slurm
 * job-array script.  Running them is sweep_local.c, merging sweep_merge.c.
 *
 * The expansion depends only on the file (and the strategies' parameter
 * tables), never on the host or on what has run, so a sweep expands to the
 * same runs, in the same order, wherever and however often it is read.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"
#include "strategy.h"
#include "sweep.h"

/* ---- small helpers ------------------------------------------------------------ */

/* A growable string; on allocation failure it sets oom and keeps what it
 * had. */
struct sbuf {
	char *s;
	size_t len, cap;
	int oom;
};

static void sb_add(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || b->oom)
		return;
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = (b->len + (size_t)n + 1) * 2;
		char *s = realloc(b->s, cap);
		if (!s) {
			b->oom = 1;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Append w as one shell word (single-quoted unless plainly safe) and a
 * separating space. */
static void sb_word(struct sbuf *b, const char *w)
{
	size_t safe = strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST"
			     "UVWXYZ0123456789_./=,:+@%-");
	if (*w && !w[safe]) {
		sb_add(b, "%s ", w);
		return;
	}
	sb_add(b, "'");
	for (const char *p = w; *p; p++)
		sb_add(b, *p == '\'' ? "'\\''" : "%c", *p);
	sb_add(b, "' ");
}

/* b's string (ownership passes to the caller) or NULL when out of memory. */
static char *sb_take(struct sbuf *b)
{
	if (b->oom || !b->s) {
		free(b->s);
		return NULL;
	}
	if (b->len && b->s[b->len - 1] == ' ')
		b->s[--b->len] = '\0';
	return b->s;
}

/* Append item (size bytes) to the array *v of *n items. */
static int push(void *v, size_t *n, const void *item, size_t size)
{
	char **arr = v;
	char *p = realloc(*arr, (*n + 1) * size);
	if (!p)
		return -1;
	memcpy(p + *n * size, item, size);
	*arr = p;
	(*n)++;
	return 0;
}

static int push_str(char ***v, size_t *n, const char *s)
{
	char *d = strdup(s);
	if (!d || push(v, n, &d, sizeof d) != 0) {
		free(d);
		return -1;
	}
	return 0;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int is_name(const char *s, const char *extra)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && *s != '_' && !strchr(extra, *s))
			return 0;
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- reading the file: one callback per value ------------------------------------ */

struct loader {
	struct sweep *sw;
};

static struct sweep_dim *dim_for(struct sweep_dim **d, size_t *n,
				 const char *key)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*d)[i].key, key) == 0)
			return &(*d)[i];
	struct sweep_dim nd = {strdup(key), NULL, 0};
	if (!nd.key || push(d, n, &nd, sizeof nd) != 0) {
		free(nd.key);
		return NULL;
	}
	return &(*d)[*n - 1];
}

/* Options that the sweep sets itself and args may not repeat. */
static int args_forbidden(const char *a)
{
	static const char *const own[] = {"-s", "--strategies", "-o", "--out",
		"-p", "--param", "-w", "--workload-param", "--seed", "-q",
		"--quiet", "--no-output", "--plot", NULL};
	for (int i = 0; own[i]; i++) {
		size_t n = strlen(own[i]);
		if (strncmp(a, own[i], n) == 0 && (a[n] == '\0' || a[n] == '='))
			return 1;
	}
	return strncmp(a, "-s", 2) == 0 || strncmp(a, "-o", 2) == 0 ||
	       strncmp(a, "-p", 2) == 0 || strncmp(a, "-w", 2) == 0;
}

static int add_seeds(struct sweep_group *g, const char *v, int in_list,
		     struct sim_err *err)
{
	char *end;
	errno = 0;
	unsigned long long s = strtoull(v, &end, 10);
	if (*v < '0' || *v > '9' || *end || errno)
		return SIM_ERR(err, SIM_EINVAL, "sweep: seeds: '%s' is not a "
			       "non-negative integer", v);
	if (in_list)
		return push(&g->seeds, &g->nseeds, &(uint64_t){s}, sizeof(uint64_t))
		       ? SIM_ERR(err, SIM_ENOMEM, "out of host memory") : SIM_OK;
	if (s < 1 || s > 100000)
		return SIM_ERR(err, SIM_EINVAL, "sweep: seeds = %s: a count of "
			       "seeds (1..100000), or a list {s1, s2, ...}", v);
	for (uint64_t i = 1; i <= s; i++)
		if (push(&g->seeds, &g->nseeds, &i, sizeof i) != 0)
			return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	return SIM_OK;
}

static int add_value(struct sweep_group *g, const char *field, const char *key,
		     const char *v, int in_list, struct sim_err *err)
{
	if (strchr(v, '\n') || strchr(v, '\t'))
		return SIM_ERR(err, SIM_EINVAL, "sweep: %s: a value with a tab or "
			       "newline", field);
	int rc = 0;
	if (strcmp(field, "name") == 0 && !in_list) {
		if (!is_name(v, ".-"))
			return SIM_ERR(err, SIM_EINVAL, "sweep: name '%s': use letters, "
				       "digits, '_', '.', '-'", v);
		free(g->name);
		rc = !(g->name = strdup(v));
	} else if (strcmp(field, "workloads") == 0) {
		if (access(v, R_OK) != 0)
			return SIM_ERR(err, SIM_EINVAL, "sweep: workloads: cannot read "
				       "%s: %s", v, strerror(errno));
		rc = push_str(&g->work, &g->nwork, v);
	} else if (strcmp(field, "strategies") == 0) {
		if (!strategy_find(v))
			return SIM_ERR(err, SIM_EINVAL, "sweep: unknown strategy '%s' "
				       "(see allocsim list)", v);
		rc = push_str(&g->strat, &g->nstrat, v);
	} else if (strcmp(field, "seeds") == 0) {
		return add_seeds(g, v, in_list, err);
	} else if (strcmp(field, "args") == 0) {
		if (args_forbidden(v))
			return SIM_ERR(err, SIM_EINVAL, "sweep: args: %s is set by the "
				       "sweep itself (use strategies, p, w, seeds)", v);
		rc = push_str(&g->args, &g->nargs, v);
	} else if (strcmp(field, "p") == 0 || strcmp(field, "w") == 0) {
		int isp = field[0] == 'p';
		if (!is_name(key, isp ? "." : ""))
			return SIM_ERR(err, SIM_EINVAL, "sweep: %s: bad name '%s'",
				       field, key);
		struct sweep_dim *d = isp ? dim_for(&g->p, &g->np, key)
					  : dim_for(&g->w, &g->nw, key);
		rc = !d || push_str(&d->vals, &d->n, v);
	} else {
		return SIM_ERR(err, SIM_EINVAL, "sweep: unknown field '%s' (name, "
			       "workloads, strategies, p, w, seeds, args)", field);
	}
	return rc ? SIM_ERR(err, SIM_ENOMEM, "out of host memory") : SIM_OK;
}

static int on_item(void *ud, int group, const char *field, const char *key,
		   const char *value, int in_list, struct sim_err *err)
{
	struct sweep *sw = ((struct loader *)ud)->sw;
	while (sw->ng <= (size_t)group)
		if (push(&sw->g, &sw->ng, &(struct sweep_group){0},
			 sizeof(struct sweep_group)) != 0)
			return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	return add_value(&sw->g[group], field, key, value, in_list, err);
}

/* ---- expansion ----------------------------------------------------------------------- */

/* The parameter a p key names for strategy ops, or NULL when it does not
 * apply to ops. */
static const struct strategy_param *p_param(const struct strategy_ops *ops,
					     const char *key)
{
	const char *dot = strchr(key, '.');
	if (dot) {
		size_t n = (size_t)(dot - key);
		if (strlen(ops->name) != n || strncmp(key, ops->name, n) != 0)
			return NULL;
		key = dot + 1;
	}
	for (size_t i = 0; i < strat_param_count(ops); i++)
		if (strcmp(ops->params[i].name, key) == 0)
			return &ops->params[i];
	return NULL;
}

/* Defaults and checks of group g (i counts from 1 for messages). */
static int group_check(struct sweep *sw, struct sweep_group *g, size_t i,
		       const char *base, struct sim_err *err)
{
	if (!g->nwork)
		return SIM_ERR(err, SIM_EINVAL, "%s: sweep #%zu: no workloads",
			       sw->file, i);
	if (!g->name && !(g->name = strdup(base)))
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	int all = g->nstrat == 0;
	for (int k = 0; all && strategy_registry[k]; k++)
		if (push_str(&g->strat, &g->nstrat, strategy_registry[k]->name))
			return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	if (!g->nseeds && push(&g->seeds, &g->nseeds, &(uint64_t){1},
			       sizeof(uint64_t)) != 0)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	for (size_t k = 0; k < g->np; k++) {
		int used = 0;
		for (size_t s = 0; s < g->nstrat; s++) {
			const struct strategy_ops *ops = strategy_find(g->strat[s]);
			union param_value vals[64];
			if (!p_param(ops, g->p[k].key))
				continue;
			used = 1;
			int rc = strat_params_default(ops, vals, err);
			const char *key = strchr(g->p[k].key, '.');
			key = key ? key + 1 : g->p[k].key;
			for (size_t v = 0; rc == SIM_OK && v < g->p[k].n; v++)
				rc = strat_param_set(ops, vals, key, g->p[k].vals[v], err);
			if (rc != SIM_OK)
				return SIM_ERR(err, rc, "%s: sweep %s: p.%s: %.400s",
					       sw->file, g->name, g->p[k].key, err->msg);
			for (size_t o = 0; o < k; o++)
				if (p_param(ops, g->p[o].key) == p_param(ops, g->p[k].key))
					return SIM_ERR(err, SIM_EINVAL, "%s: sweep %s: p.%s "
						       "and p.%s set the same parameter "
						       "of %s", sw->file, g->name,
						       g->p[o].key, g->p[k].key, ops->name);
		}
		if (!used)
			return SIM_ERR(err, SIM_EINVAL, "%s: sweep %s: p.%s: no strategy "
				       "of the sweep has this parameter (see allocsim "
				       "list)", sw->file, g->name, g->p[k].key);
	}
	return SIM_OK;
}

/* The dimension columns: every p key and "w.KEY", sorted, once each. */
static int make_cols(struct sweep *sw)
{
	for (size_t i = 0; i < sw->ng; i++) {
		const struct sweep_group *g = &sw->g[i];
		for (size_t k = 0; k < g->np + g->nw; k++) {
			char name[256];
			if (k < g->np)
				snprintf(name, sizeof name, "%s", g->p[k].key);
			else
				snprintf(name, sizeof name, "w.%s", g->w[k - g->np].key);
			int seen = 0;
			for (size_t c = 0; c < sw->ncols && !seen; c++)
				seen = strcmp(sw->cols[c], name) == 0;
			if (!seen && push_str(&sw->cols, &sw->ncols, name) != 0)
				return -1;
		}
	}
	if (sw->ncols)
		qsort(sw->cols, sw->ncols, sizeof *sw->cols, cmp_str);
	return 0;
}

/* One combination of values being expanded. */
struct combo {
	const struct sweep_group *g;
	const char *src, *wname;
	const struct strategy_ops *ops;
	const struct sweep_dim *d[128];  /* the dims varied for this strategy */
	int isw[128];                    /* d[k] is a w dim */
	size_t nd, idx[128];
};

/* The value of column name in combo c ("" when it does not apply). */
static const char *col_value(const struct combo *c, const char *name)
{
	for (size_t k = 0; k < c->nd; k++) {
		const char *key = c->d[k]->key;
		if (c->isw[k] ? strncmp(name, "w.", 2) == 0 &&
				strcmp(name + 2, key) == 0
			      : strcmp(name, key) == 0)
			return c->d[k]->vals[c->idx[k]];
	}
	if (strncmp(name, "w.", 2) == 0)
		return "";
	const struct strategy_param *p = p_param(c->ops, name);
	return p ? p->def : "";
}

/* "key=value,..." of the combination, or "default"; path-safe. */
static char *config_name(const struct combo *c)
{
	struct sbuf b = {0};
	for (size_t k = 0; k < c->nd; k++)
		sb_add(&b, "%s%s%s=%s", k ? "," : "", c->isw[k] ? "w." : "",
		       c->d[k]->key, c->d[k]->vals[c->idx[k]]);
	if (!c->nd)
		sb_add(&b, "default");
	if (b.oom)
		return sb_take(&b);
	for (char *p = b.s; *p; p++)
		if (!strchr("=,.+-_", *p) && !(*p >= 'a' && *p <= 'z') &&
		    !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9'))
			*p = '_';
	return b.s;
}

static char *run_command(const struct sweep *sw, const struct combo *c,
			 const char *rundir, uint64_t seed)
{
	struct sbuf b = {0};
	char text[64];
	sb_word(&b, sw->allocsim);
	sb_add(&b, "run ");
	sb_word(&b, c->src);
	sb_add(&b, "-s %s -o ", c->ops->name);
	sb_word(&b, rundir);
	snprintf(text, sizeof text, "%llu", (unsigned long long)seed);
	sb_add(&b, "-q --seed %s ", text);
	for (size_t k = 0; k < c->nd; k++) {
		const char *key = c->d[k]->key, *dot = strchr(key, '.');
		struct sbuf a = {0};
		if (c->isw[k])
			sb_add(&a, "%s=%s", key, c->d[k]->vals[c->idx[k]]);
		else
			sb_add(&a, "%s.%s=%s", c->ops->name, dot ? dot + 1 : key,
			       c->d[k]->vals[c->idx[k]]);
		sb_add(&b, c->isw[k] ? "-w " : "-p ");
		if (!a.oom)
			sb_word(&b, a.s);
		b.oom |= a.oom;
		free(a.s);
	}
	for (size_t k = 0; k < c->g->nargs; k++)
		sb_word(&b, c->g->args[k]);
	return sb_take(&b);
}

static int add_cell(struct sweep *sw, const struct combo *c, size_t gi)
{
	struct sweep_cell cell = {gi, strdup(c->wname), c->ops->name, NULL,
				  sw->nr, 0};
	if (!cell.workload || !(cell.col = calloc(sw->ncols + 1, sizeof *cell.col)))
		goto oom;
	for (size_t k = 0; k < sw->ncols; k++)
		if (!(cell.col[k] = strdup(col_value(c, sw->cols[k]))))
			goto oom;
	if (push(&sw->cell, &sw->ncells, &cell, sizeof cell) == 0)
		return 0;
oom:
	if (cell.col)
		free_strs(cell.col, sw->ncols);
	free(cell.workload);
	return -1;
}

/* The runs of one combination: one per seed (one for a trace). */
static int add_runs(struct sweep *sw, const struct combo *c, size_t gi)
{
	char *config = config_name(c);
	if (!config || add_cell(sw, c, gi) != 0) {
		free(config);
		return -1;
	}
	size_t len = strlen(c->src);
	int lua = len > 4 && strcmp(c->src + len - 4, ".lua") == 0;
	size_t nseeds = lua ? c->g->nseeds : 1;
	int rc = 0;
	for (size_t s = 0; s < nseeds && rc == 0; s++) {
		struct sweep_run r = {sw->ncells - 1, c->g->seeds[s], NULL, NULL};
		char *rundir = NULL;
		if (asprintf(&rundir, "%s/runs/%s/%s/%s/s%llu", sw->outdir,
			     c->g->name, c->wname, config,
			     (unsigned long long)r.seed) < 0)
			rundir = NULL;
		if (rundir && asprintf(&r.out, "%s/%s", rundir, c->ops->name) < 0)
			r.out = NULL;
		r.cmd = rundir && r.out ? run_command(sw, c, rundir, r.seed) : NULL;
		rc = !r.cmd || push(&sw->r, &sw->nr, &r, sizeof r) != 0;
		if (rc) {
			free(r.out);
			free(r.cmd);
		}
		free(rundir);
	}
	sw->cell[sw->ncells - 1].nruns = sw->nr - sw->cell[sw->ncells - 1].first;
	free(config);
	return rc;
}

/* Every combination of the dims of c, odometer-wise (last dim fastest). */
static int expand_combos(struct sweep *sw, struct combo *c, size_t gi)
{
	memset(c->idx, 0, sizeof c->idx);
	for (;;) {
		if (add_runs(sw, c, gi) != 0)
			return -1;
		size_t k = c->nd;
		while (k > 0 && ++c->idx[k - 1] == c->d[k - 1]->n)
			c->idx[--k] = 0;
		if (k == 0)
			return 0;
	}
}

static int expand_group(struct sweep *sw, size_t gi)
{
	const struct sweep_group *g = &sw->g[gi];
	struct combo c = {.g = g};
	char wname[256];
	for (size_t w = 0; w < g->nwork; w++) {
		c.src = g->work[w];
		run_name_for(c.src, wname, sizeof wname);
		c.wname = wname;
		size_t len = strlen(c.src);
		int lua = len > 4 && strcmp(c.src + len - 4, ".lua") == 0;
		for (size_t s = 0; s < g->nstrat; s++) {
			c.ops = strategy_find(g->strat[s]);
			c.nd = 0;
			for (size_t k = 0; k < g->np && c.nd < 64; k++)
				if (p_param(c.ops, g->p[k].key)) {
					c.isw[c.nd] = 0;
					c.d[c.nd++] = &g->p[k];
				}
			for (size_t k = 0; lua && k < g->nw && c.nd < 128; k++) {
				c.isw[c.nd] = 1;
				c.d[c.nd++] = &g->w[k];
			}
			if (expand_combos(sw, &c, gi) != 0)
				return -1;
		}
	}
	return 0;
}

static int cmp_dim(const void *a, const void *b)
{
	return strcmp(((const struct sweep_dim *)a)->key,
		      ((const struct sweep_dim *)b)->key);
}

/* Two runs writing the same folder would overwrite each other. */
static int check_unique(const struct sweep *sw, struct sim_err *err)
{
	char **outs = malloc((sw->nr + 1) * sizeof *outs);
	if (!outs)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	for (size_t i = 0; i < sw->nr; i++)
		outs[i] = sw->r[i].out;
	qsort(outs, sw->nr, sizeof *outs, cmp_str);
	int rc = SIM_OK;
	for (size_t i = 1; i < sw->nr && rc == SIM_OK; i++)
		if (strcmp(outs[i - 1], outs[i]) == 0)
			rc = SIM_ERR(err, SIM_EINVAL, "%s: two runs write %.300s (the "
				     "same workload name, strategy and values twice: "
				     "give the sweep{} calls different names)",
				     sw->file, outs[i]);
	free(outs);
	return rc;
}

static int expand(struct sweep *sw, struct sim_err *err)
{
	char base[256];
	run_name_for(sw->file, base, sizeof base);
	if (!sw->ng)
		return SIM_ERR(err, SIM_EINVAL, "%s: no sweep{...} call", sw->file);
	for (size_t i = 0; i < sw->ng; i++) {
		struct sweep_group *g = &sw->g[i];
		if (g->np)
			qsort(g->p, g->np, sizeof *g->p, cmp_dim);
		if (g->nw)
			qsort(g->w, g->nw, sizeof *g->w, cmp_dim);
		int rc = group_check(sw, g, i + 1, base, err);
		if (rc != SIM_OK)
			return rc;
	}
	if (make_cols(sw) != 0)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	for (size_t i = 0; i < sw->ng; i++)
		if (expand_group(sw, i) != 0)
			return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	return check_unique(sw, err);
}

int sweep_load(struct sweep *sw, const char *file, const char *outdir,
	       const char *allocsim, struct sim_err *err)
{
	memset(sw, 0, sizeof *sw);
	if (strpbrk(outdir, "\t\n"))
		return SIM_ERR(err, SIM_EINVAL, "sweep: -o %s: no tabs or newlines "
			       "in the folder name, please", outdir);
	sw->file = strdup(file);
	sw->outdir = strdup(outdir);
	sw->allocsim = strdup(allocsim);
	if (!sw->file || !sw->outdir || !sw->allocsim) {
		sweep_free(sw);
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	}
	struct loader ld = {sw};
	int rc = lsim_experiment_load(file, on_item, &ld, err);
	if (rc == SIM_OK)
		rc = expand(sw, err);
	if (rc != SIM_OK)
		sweep_free(sw);
	return rc;
}

static void free_group(struct sweep_group *g)
{
	free(g->name);
	free_strs(g->work, g->nwork);
	free_strs(g->strat, g->nstrat);
	free_strs(g->args, g->nargs);
	for (size_t k = 0; k < g->np; k++) {
		free(g->p[k].key);
		free_strs(g->p[k].vals, g->p[k].n);
	}
	for (size_t k = 0; k < g->nw; k++) {
		free(g->w[k].key);
		free_strs(g->w[k].vals, g->w[k].n);
	}
	free(g->p);
	free(g->w);
	free(g->seeds);
}

void sweep_free(struct sweep *sw)
{
	for (size_t i = 0; i < sw->ng; i++)
		free_group(&sw->g[i]);
	for (size_t i = 0; i < sw->ncells; i++) {
		free(sw->cell[i].workload);
		free_strs(sw->cell[i].col, sw->ncols);
	}
	for (size_t i = 0; i < sw->nr; i++) {
		free(sw->r[i].out);
		free(sw->r[i].cmd);
	}
	free(sw->g);
	free(sw->cell);
	free(sw->r);
	free_strs(sw->cols, sw->ncols);
	free(sw->file);
	free(sw->outdir);
	free(sw->allocsim);
	memset(sw, 0, sizeof *sw);
}

/* ---- the job list and the Slurm script --------------------------------------------- */

int sweep_run_done(const struct sweep *sw, size_t i)
{
	char path[8192];
	snprintf(path, sizeof path, "%s/summary.json", sw->r[i].out);
	return access(path, F_OK) == 0;
}

/* Write text to path through a temporary name.  SIM_OK or SIM_EIO. */
static int write_file(const char *path, const char *text, int mode,
		      struct sim_err *err)
{
	char tmp[8200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return SIM_ERR(err, SIM_EIO, "%s: cannot write: %s", tmp,
			       strerror(errno));
	int bad = fputs(text, f) < 0;
	bad |= fclose(f) != 0;
	if (bad || chmod(tmp, (mode_t)mode) != 0 || rename(tmp, path) != 0) {
		int e = errno;
		remove(tmp);
		return SIM_ERR(err, SIM_EIO, "%s: cannot write: %s", path,
			       strerror(e));
	}
	return SIM_OK;
}

int sweep_write_jobs(const struct sweep *sw, struct sim_err *err)
{
	int rc = run_mkdirs(sw->outdir, err);
	if (rc != SIM_OK)
		return rc;
	struct sbuf b = {0};
	for (size_t i = 0; i < sw->nr; i++)
		sb_add(&b, "%s\t%s\n", sw->r[i].out, sw->r[i].cmd);
	char path[8192];
	snprintf(path, sizeof path, "%s/jobs.txt", sw->outdir);
	rc = b.oom ? SIM_ERR(err, SIM_ENOMEM, "out of host memory")
		   : write_file(path, b.s ? b.s : "", 0644, err);
	free(b.s);
	return rc;
}

static const char sbatch_body[] =
"set -u\n"
"# Array task i runs lines i+1, i+1+T, i+1+2T, ... of the job list; a run\n"
"# whose summary.json exists is finished and skipped, so resubmitting the\n"
"# script resumes the sweep.  Each run's output goes to FOLDER/log.\n"
"task=${SLURM_ARRAY_TASK_ID:?run me with sbatch}\n"
"n=0; status=0\n"
"while IFS=$'\\t' read -r out cmd; do\n"
"\tif [ $((n % T)) -eq \"$task\" ] && [ ! -e \"$out/summary.json\" ]; then\n"
"\t\tmkdir -p \"$out\"\n"
"\t\tif ! eval \"$cmd\" > \"$out/log\" 2>&1; then\n"
"\t\t\t[ -e \"$out/summary.json\" ] || { echo \"run failed: $cmd\"; "
"echo \"  log: $out/log\"; status=1; }\n"
"\t\tfi\n"
"\tfi\n"
"\tn=$((n + 1))\n"
"done < \"$jobs\"\n"
"exit $status\n";

int sweep_emit_slurm(const struct sweep *sw, int max_tasks,
		     struct sim_err *err)
{
	int rc = sweep_write_jobs(sw, err);
	if (rc != SIM_OK)
		return rc;
	char cwd[4096], path[8192];
	if (!getcwd(cwd, sizeof cwd))
		return SIM_ERR(err, SIM_EIO, "cannot get the current folder: %s",
			       strerror(errno));
	size_t tasks = sw->nr < (size_t)max_tasks ? sw->nr : (size_t)max_tasks;
	tasks = tasks ? tasks : 1;
	char name[256];
	run_name_for(sw->file, name, sizeof name);
	struct sbuf b = {0};
	sb_add(&b, "#!/bin/bash\n# Written by allocsim sweep %s --emit slurm: %zu "
	       "runs of the job list %s/jobs.txt.\n", sw->file, sw->nr, sw->outdir);
	sb_add(&b, "#SBATCH --job-name=allocsim-%s\n#SBATCH --array=0-%zu\n"
	       "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n", name, tasks - 1);
	sb_add(&b, "#SBATCH --chdir=%s\n#SBATCH --output=%s%s%s/slurm/%%A_%%a.out\n",
	       cwd, sw->outdir[0] == '/' ? "" : cwd,
	       sw->outdir[0] == '/' ? "" : "/", sw->outdir);
	sb_add(&b, "T=%zu\njobs=", tasks);
	sb_word(&b, sw->outdir);
	if (!b.oom)
		b.s[--b.len] = '\0';     /* the space after the word */
	sb_add(&b, "/jobs.txt\n%s", sbatch_body);
	char slurmdir[8192];
	snprintf(slurmdir, sizeof slurmdir, "%s/slurm", sw->outdir);
	rc = b.oom ? SIM_ERR(err, SIM_ENOMEM, "out of host memory")
		   : run_mkdirs(slurmdir, err);
	snprintf(path, sizeof path, "%s/sweep.sbatch", sw->outdir);
	if (rc == SIM_OK)
		rc = write_file(path, b.s, 0755, err);
	free(b.s);
	return rc;
}
