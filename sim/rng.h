/*
 * rng.h - named random streams and distributions, backed by GSL.
 *
 * A stream is a GSL Mersenne Twister whose seed is derived from the run
 * seed (--seed) and the stream's name, so a workload's streams never
 * disturb one another: drawing more from "sizes" leaves "lifetimes" as it
 * was.  The same (run seed, name) always gives the same sequence, on any
 * machine.
 *
 * A distribution object (struct rng_dist) fixes a family and its
 * parameters once, so bulk generators can draw from it without checking
 * arguments per draw.  Parameter checks return SIM_EINVAL with a message
 * naming the family ("lognormal: sigma must be >= 0").
 */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct rng;

/* The seed of stream name under run_seed: a 64-bit mix of both. */
uint64_t rng_derive_seed(uint64_t run_seed, const char *name);

/* Open the stream name of run_seed.  SIM_OK and *out, or SIM_ENOMEM. */
int rng_open(uint64_t run_seed, const char *name, struct rng **out,
	     struct sim_err *err);
void rng_close(struct rng *r);

/* ---- single draws (parameters must satisfy rng_check) ------------------ */

double rng_uniform(struct rng *r, double a, double b);   /* [a, b) */
int64_t rng_int(struct rng *r, int64_t a, int64_t b);   /* [a, b], a <= b */
double rng_exponential(struct rng *r, double mean);
double rng_lognormal(struct rng *r, double mu, double sigma);
/* Pareto of shape a and scale b: density a b^a / x^(a+1) for x >= b. */
double rng_pareto(struct rng *r, double a, double b);
/* Trials until the first success, p in (0, 1]: 1, 2, ... */
uint64_t rng_geometric(struct rng *r, double p);
/* Zipf on 1..n with P(k) proportional to k^-s (s > 0), by Hoermann and
 * Derflinger's rejection-inversion: O(1) a draw, any n. */
uint64_t rng_zipf(struct rng *r, uint64_t n, double s);
/* An index in [0, n) with probability w[i] / total (total = sum of w). */
size_t rng_choice(struct rng *r, const double *w, size_t n, double total);

/* ---- distribution objects ---------------------------------------------- */

enum rng_kind {
	RNG_CONST,        /* p0 */
	RNG_UNIFORM,      /* a, b: real in [a, b) */
	RNG_INT,          /* a, b: integer in [a, b] */
	RNG_EXPONENTIAL,  /* mean */
	RNG_LOGNORMAL,    /* mu, sigma (of the underlying normal) */
	RNG_PARETO,       /* a (shape), b (scale) */
	RNG_GEOMETRIC,    /* p */
	RNG_ZIPF,         /* n, s */
	RNG_DISCRETE      /* values with weights: choice or empirical */
};

/* The family's name ("lognormal") and its parameter count. */
const char *rng_kind_name(enum rng_kind k);
int rng_kind_nparams(enum rng_kind k);

/* Check parameters p[0..] of family k.  SIM_OK or SIM_EINVAL. */
int rng_check(enum rng_kind k, const double *p, struct sim_err *err);

/* One draw of family k (not RNG_DISCRETE) with checked parameters p. */
double rng_draw(struct rng *r, enum rng_kind k, const double *p);

struct rng_dist;

/* A distribution of family k (not RNG_DISCRETE) with parameters p.
 * SIM_OK and *out, or SIM_EINVAL / SIM_ENOMEM. */
int rng_dist_new(enum rng_kind k, const double *p, struct rng_dist **out,
		 struct sim_err *err);

/* values[i] with probability weights[i] / sum; weights >= 0, sum > 0. */
int rng_dist_discrete(const double *values, const double *weights, size_t n,
		      struct rng_dist **out, struct sim_err *err);

/* An empirical distribution from a CSV histogram: one "value,weight" line
 * per bin; '#' comments, blank lines and a header line are skipped.
 * Errors read "FILE:LINE: message" (SIM_EINVAL) or "FILE: reason"
 * (SIM_EIO). */
int rng_dist_empirical(const char *path, struct rng_dist **out,
		       struct sim_err *err);

double rng_dist_sample(struct rng *r, const struct rng_dist *d);
/* The exact mean, or INFINITY where it does not exist (Pareto a <= 1). */
double rng_dist_mean(const struct rng_dist *d);
enum rng_kind rng_dist_kind(const struct rng_dist *d);
/* "lognormal(6, 1.2)", "discrete(12 values)" into buf. */
void rng_dist_describe(const struct rng_dist *d, char *buf, size_t n);
void rng_dist_free(struct rng_dist *d);

#endif
