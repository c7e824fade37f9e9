/*
 * rng.c - named GSL random streams and the distributions workloads draw
 * from (see rng.h).
 *
 * Seeds: a stream's seed is splitmix64(run seed ^ fnv1a64(name)), folded
 * to the 32 bits GSL's MT19937 takes.  Families come from gsl_randist,
 * except Zipf, which GSL lacks: it is sampled by rejection-inversion
 * (W. Hoermann, G. Derflinger, "Rejection-inversion to generate variates
 * from monotone discrete distributions", ACM TOMACS 6(3), 1996), which
 * needs no table and so works for any n.  Discrete distributions (weighted
 * choice, empirical histograms) use GSL's alias tables.
 */
#include "rng.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

struct rng {
	gsl_rng *g;
};

struct zipf {
	double n, s, hx1, hn, sparam;
};

struct rng_dist {
	enum rng_kind kind;
	double p[2];
	struct zipf z;              /* RNG_ZIPF */
	size_t n;                   /* RNG_DISCRETE */
	double *values;
	double mean;
	gsl_ran_discrete_t *table;
};

/* ---- streams ---------------------------------------------------------- */

static uint64_t splitmix64(uint64_t x)
{
	x += UINT64_C(0x9E3779B97F4A7C15);
	x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

uint64_t rng_derive_seed(uint64_t run_seed, const char *name)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * UINT64_C(0x100000001b3);
	return splitmix64(splitmix64(run_seed) ^ h);
}

int rng_open(uint64_t run_seed, const char *name, struct rng **out,
	     struct sim_err *err)
{
	struct rng *r = malloc(sizeof *r);
	if (r)
		r->g = gsl_rng_alloc(gsl_rng_mt19937);
	if (!r || !r->g) {
		free(r);
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	}
	uint64_t s = rng_derive_seed(run_seed, name);
	gsl_rng_set(r->g, (unsigned long)((s ^ (s >> 32)) & 0xffffffffu));
	*out = r;
	return SIM_OK;
}

void rng_close(struct rng *r)
{
	if (!r)
		return;
	gsl_rng_free(r->g);
	free(r);
}

/* ---- single draws ------------------------------------------------------ */

double rng_uniform(struct rng *r, double a, double b)
{
	return a + (b - a) * gsl_rng_uniform(r->g);
}

int64_t rng_int(struct rng *r, int64_t a, int64_t b)
{
	uint64_t span = (uint64_t)b - (uint64_t)a;
	if (span < UINT32_MAX)
		return a + (int64_t)gsl_rng_uniform_int(r->g, span + 1);
	/* Wider than one draw: combine two 32-bit draws, reject the top
	 * partial block so every value is equally likely. */
	uint64_t lim = span + 1, x;   /* lim 0: the whole 64-bit range */
	uint64_t cut = lim ? UINT64_MAX - UINT64_MAX % lim : UINT64_MAX;
	do {
		x = (uint64_t)gsl_rng_get(r->g) << 32 | gsl_rng_get(r->g);
	} while (lim && x >= cut);
	return (int64_t)((uint64_t)a + (lim ? x % lim : x));
}

/* Inversion with log of a uniform in (0, 1): the same law as
 * gsl_ran_exponential, which uses log1p and is slower. */
double rng_exponential(struct rng *r, double mean)
{
	return -mean * log(gsl_rng_uniform_pos(r->g));
}

double rng_lognormal(struct rng *r, double mu, double sigma)
{
	return gsl_ran_lognormal(r->g, mu, sigma);
}

double rng_pareto(struct rng *r, double a, double b)
{
	return gsl_ran_pareto(r->g, a, b);
}

uint64_t rng_geometric(struct rng *r, double p)
{
	if (p >= 1)
		return 1;
	/* gsl_ran_geometric returns unsigned int: invert directly instead,
	 * so tiny p does not wrap. */
	double u = gsl_rng_uniform_pos(r->g);
	double k = ceil(log(u) / log1p(-p));
	return k < 1 ? 1 : k > 1e18 ? UINT64_C(1000000000000000000) : (uint64_t)k;
}

size_t rng_choice(struct rng *r, const double *w, size_t n, double total)
{
	double u = gsl_rng_uniform(r->g) * total, acc = 0;
	for (size_t i = 0; i < n; i++) {
		acc += w[i];
		if (u < acc)
			return i;
	}
	while (n > 1 && w[n - 1] <= 0)   /* rounding put u at the very top */
		n--;
	return n - 1;
}

/* ---- Zipf by rejection-inversion --------------------------------------- */

/* log1p(x) / x and expm1(x) / x, continuous at 0. */
static double log1p_over(double x)
{
	return fabs(x) > 1e-8 ? log1p(x) / x : 1 - x / 2 + x * x / 3;
}

static double expm1_over(double x)
{
	return fabs(x) > 1e-8 ? expm1(x) / x : 1 + x / 2 + x * x / 6;
}

/* H(x) = (x^(1-s) - 1) / (1-s), an antiderivative of h(x) = x^-s. */
static double zipf_H(double s, double x)
{
	double lx = log(x);
	return expm1_over((1 - s) * lx) * lx;
}

static double zipf_h(double s, double x)
{
	return exp(-s * log(x));
}

static double zipf_Hinv(double s, double u)
{
	double t = u * (1 - s);
	if (t < -1)
		t = -1;   /* rounding at the lower end */
	return exp(log1p_over(t) * u);
}

static void zipf_init(struct zipf *z, double n, double s)
{
	z->n = n;
	z->s = s;
	z->hx1 = zipf_H(s, 1.5) - 1;
	z->hn = zipf_H(s, n + 0.5);
	z->sparam = 2 - zipf_Hinv(s, zipf_H(s, 2.5) - zipf_h(s, 2));
}

static uint64_t zipf_draw(struct rng *r, const struct zipf *z)
{
	for (;;) {
		double u = z->hn + gsl_rng_uniform(r->g) * (z->hx1 - z->hn);
		double x = zipf_Hinv(z->s, u);
		double k = floor(x + 0.5);
		k = k < 1 ? 1 : k > z->n ? z->n : k;
		if (k - x <= z->sparam ||
		    u >= zipf_H(z->s, k + 0.5) - zipf_h(z->s, k))
			return (uint64_t)k;
	}
}

uint64_t rng_zipf(struct rng *r, uint64_t n, double s)
{
	struct zipf z;
	zipf_init(&z, (double)n, s);
	return zipf_draw(r, &z);
}

static double zipf_mean(double n, double s)
{
	double num = 0, den = 0;
	for (double k = n; k >= 1; k--) {   /* small terms first */
		num += pow(k, 1 - s);
		den += pow(k, -s);
	}
	return num / den;
}

/* ---- families ---------------------------------------------------------- */

static const struct {
	const char *name;
	int nparams;
} families[] = {
	[RNG_CONST] = {"const", 1},
	[RNG_UNIFORM] = {"uniform", 2},
	[RNG_INT] = {"int", 2},
	[RNG_EXPONENTIAL] = {"exponential", 1},
	[RNG_LOGNORMAL] = {"lognormal", 2},
	[RNG_PARETO] = {"pareto", 2},
	[RNG_GEOMETRIC] = {"geometric", 1},
	[RNG_ZIPF] = {"zipf", 2},
	[RNG_DISCRETE] = {"discrete", 0},
};

const char *rng_kind_name(enum rng_kind k)
{
	return families[k].name;
}

int rng_kind_nparams(enum rng_kind k)
{
	return families[k].nparams;
}

static int bad(struct sim_err *err, enum rng_kind k, const char *what)
{
	return SIM_ERR(err, SIM_EINVAL, "%s: %s", families[k].name, what);
}

int rng_check(enum rng_kind k, const double *p, struct sim_err *err)
{
	for (int i = 0; i < families[k].nparams; i++)
		if (!isfinite(p[i]))
			return bad(err, k, "parameters must be finite numbers");
	switch (k) {
	case RNG_UNIFORM:
		return p[0] <= p[1] ? SIM_OK : bad(err, k, "needs a <= b");
	case RNG_INT:
		if (p[0] != floor(p[0]) || p[1] != floor(p[1]) || fabs(p[0]) > 9e18
		    || fabs(p[1]) > 9e18)
			return bad(err, k, "a and b must be integers");
		return p[0] <= p[1] ? SIM_OK : bad(err, k, "needs a <= b");
	case RNG_EXPONENTIAL:
		return p[0] > 0 ? SIM_OK : bad(err, k, "mean must be > 0");
	case RNG_LOGNORMAL:
		return p[1] >= 0 ? SIM_OK : bad(err, k, "sigma must be >= 0");
	case RNG_PARETO:
		return p[0] > 0 && p[1] > 0 ? SIM_OK
					    : bad(err, k, "a and b must be > 0");
	case RNG_GEOMETRIC:
		return p[0] > 0 && p[0] <= 1 ? SIM_OK
					     : bad(err, k, "p must be in (0, 1]");
	case RNG_ZIPF:
		if (p[0] < 1 || p[0] != floor(p[0]) || p[0] > 1e15)
			return bad(err, k, "n must be an integer >= 1");
		return p[1] > 0 ? SIM_OK : bad(err, k, "s must be > 0");
	default:
		return SIM_OK;
	}
}

static double family_mean(const struct rng_dist *d)
{
	const double *p = d->p;
	switch (d->kind) {
	case RNG_CONST: return p[0];
	case RNG_UNIFORM: case RNG_INT: return (p[0] + p[1]) / 2;
	case RNG_EXPONENTIAL: return p[0];
	case RNG_LOGNORMAL: return exp(p[0] + p[1] * p[1] / 2);
	case RNG_PARETO: return p[0] > 1 ? p[0] * p[1] / (p[0] - 1) : INFINITY;
	case RNG_GEOMETRIC: return 1 / p[0];
	case RNG_ZIPF: return p[0] <= 1e7 ? zipf_mean(p[0], p[1]) : NAN;
	default: return d->mean;
	}
}

int rng_dist_new(enum rng_kind k, const double *p, struct rng_dist **out,
		 struct sim_err *err)
{
	int rc = rng_check(k, p, err);
	if (rc != SIM_OK)
		return rc;
	struct rng_dist *d = calloc(1, sizeof *d);
	if (!d)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	d->kind = k;
	for (int i = 0; i < families[k].nparams; i++)
		d->p[i] = p[i];
	if (k == RNG_ZIPF)
		zipf_init(&d->z, p[0], p[1]);
	d->mean = family_mean(d);
	*out = d;
	return SIM_OK;
}

int rng_dist_discrete(const double *values, const double *weights, size_t n,
		      struct rng_dist **out, struct sim_err *err)
{
	double sum = 0, wsum = 0;
	for (size_t i = 0; i < n; i++) {
		if (!(weights[i] >= 0) || !isfinite(weights[i]) ||
		    !isfinite(values[i]))
			return SIM_ERR(err, SIM_EINVAL, "discrete: entry %zu: values "
				       "must be finite and weights >= 0", i + 1);
		sum += weights[i];
		wsum += weights[i] * values[i];
	}
	if (n == 0 || !(sum > 0))
		return SIM_ERR(err, SIM_EINVAL, "discrete: needs at least one "
			       "positive weight");
	struct rng_dist *d = calloc(1, sizeof *d);
	if (d)
		d->values = malloc(n * sizeof *d->values);
	if (d && d->values)
		d->table = gsl_ran_discrete_preproc(n, weights);
	if (!d || !d->values || !d->table) {
		rng_dist_free(d);
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	}
	memcpy(d->values, values, n * sizeof *values);
	d->kind = RNG_DISCRETE;
	d->n = n;
	d->mean = wsum / sum;
	*out = d;
	return SIM_OK;
}

double rng_draw(struct rng *r, enum rng_kind k, const double *p)
{
	switch (k) {
	case RNG_CONST: return p[0];
	case RNG_UNIFORM: return rng_uniform(r, p[0], p[1]);
	case RNG_INT: return (double)rng_int(r, (int64_t)p[0], (int64_t)p[1]);
	case RNG_EXPONENTIAL: return rng_exponential(r, p[0]);
	case RNG_LOGNORMAL: return gsl_ran_lognormal(r->g, p[0], p[1]);
	case RNG_PARETO: return gsl_ran_pareto(r->g, p[0], p[1]);
	case RNG_GEOMETRIC: return (double)rng_geometric(r, p[0]);
	case RNG_ZIPF: return (double)rng_zipf(r, (uint64_t)p[0], p[1]);
	case RNG_DISCRETE: break;
	}
	return NAN;
}

double rng_dist_sample(struct rng *r, const struct rng_dist *d)
{
	if (d->kind == RNG_ZIPF)
		return (double)zipf_draw(r, &d->z);
	if (d->kind == RNG_DISCRETE)
		return d->values[gsl_ran_discrete(r->g, d->table)];
	return rng_draw(r, d->kind, d->p);
}

double rng_dist_mean(const struct rng_dist *d)
{
	return d->mean;
}

enum rng_kind rng_dist_kind(const struct rng_dist *d)
{
	return d->kind;
}

void rng_dist_describe(const struct rng_dist *d, char *buf, size_t n)
{
	int np = families[d->kind].nparams;
	if (d->kind == RNG_DISCRETE)
		snprintf(buf, n, "discrete(%zu values)", d->n);
	else if (np == 1)
		snprintf(buf, n, "%s(%.17g)", families[d->kind].name, d->p[0]);
	else
		snprintf(buf, n, "%s(%.17g, %.17g)", families[d->kind].name,
			 d->p[0], d->p[1]);
}

void rng_dist_free(struct rng_dist *d)
{
	if (!d)
		return;
	if (d->table)
		gsl_ran_discrete_free(d->table);
	free(d->values);
	free(d);
}

/* ---- empirical histograms from CSV ------------------------------------- */

struct bins {
	double *v, *w;
	size_t n, cap;
};

static int bins_push(struct bins *b, double v, double w)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		double *nv = realloc(b->v, cap * sizeof *nv);
		if (!nv)
			return -1;
		b->v = nv;
		double *nw = realloc(b->w, cap * sizeof *nw);
		if (!nw)
			return -1;
		b->w = nw;
		b->cap = cap;
	}
	b->v[b->n] = v;
	b->w[b->n++] = w;
	return 0;
}

/* Parse one number ending at a comma or the end of the field. */
static int parse_field(char *s, char **end, double *out)
{
	while (*s == ' ' || *s == '\t')
		s++;
	errno = 0;
	*out = strtod(s, end);
	if (*end == s || errno == ERANGE)
		return -1;
	while (**end == ' ' || **end == '\t' || **end == '\r' || **end == '\n')
		(*end)++;
	return 0;
}

/* One line: SIM_OK (a bin, a header or nothing), or an error. */
static int csv_line(const char *path, unsigned long ln, char *line,
		    struct bins *b, int *header_ok, struct sim_err *err)
{
	char *s = line, *end;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '#' || *s == '\n' || *s == '\r' || *s == '\0')
		return SIM_OK;
	double v, w;
	int ok = parse_field(s, &end, &v) == 0 && *end == ',';
	ok = ok && parse_field(end + 1, &end, &w) == 0 && *end == '\0';
	if (!ok && *header_ok && !isdigit((unsigned char)*s) && *s != '-' &&
	    *s != '+' && *s != '.') {
		*header_ok = 0;   /* "size,count" */
		return SIM_OK;
	}
	*header_ok = 0;
	if (!ok)
		return SIM_ERR(err, SIM_EINVAL, "%s:%lu: expected 'value,weight' "
			       "(two numbers)", path, ln);
	if (!isfinite(v) || !isfinite(w) || w < 0)
		return SIM_ERR(err, SIM_EINVAL, "%s:%lu: value must be finite and "
			       "weight a finite number >= 0", path, ln);
	if (bins_push(b, v, w) != 0)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	return SIM_OK;
}

int rng_dist_empirical(const char *path, struct rng_dist **out,
		       struct sim_err *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return SIM_ERR(err, SIM_EIO, "%s: cannot open: %s", path,
			       strerror(errno));
	struct bins b = {0};
	char *line = NULL;
	size_t cap = 0;
	unsigned long ln = 0;
	int header_ok = 1, rc = SIM_OK;
	while (rc == SIM_OK && getline(&line, &cap, f) >= 0)
		rc = csv_line(path, ++ln, line, &b, &header_ok, err);
	free(line);
	fclose(f);
	double total = 0;
	for (size_t i = 0; i < b.n; i++)
		total += b.w[i];
	if (rc == SIM_OK && !(total > 0))
		rc = SIM_ERR(err, SIM_EINVAL, "%s:%lu: no bin with a positive "
			     "weight", path, ln);
	if (rc == SIM_OK)
		rc = rng_dist_discrete(b.v, b.w, b.n, out, err);
	free(b.v);
	free(b.w);
	return rc;
}
