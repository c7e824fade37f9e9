/*
 * strategy.c - the registry lookup, plugin loading, parameter parsing and
 * the thin wrappers through which the engine calls a strategy.  This is the
 * only file that follows a strategy's ops pointer: one place to add checks
 * and defaults for optional operations.
 */
#include "strategy.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- registry and plugins ------------------------------------------- */

#define MAX_PLUGINS 16
static const struct strategy_ops *plugins[MAX_PLUGINS];
static int nplugins;

const struct strategy_ops *strategy_find(const char *name)
{
	if (!name)
		return strategy_registry[0];
	for (int i = 0; strategy_registry[i]; i++)
		if (strcmp(strategy_registry[i]->name, name) == 0)
			return strategy_registry[i];
	for (int i = 0; i < nplugins; i++)
		if (strcmp(plugins[i]->name, name) == 0)
			return plugins[i];
	return NULL;
}

static int has_counter(const struct strategy_ops *ops, const char *name)
{
	for (int i = 0; ops->counter_names && ops->counter_names[i]; i++)
		if (strcmp(ops->counter_names[i], name) == 0)
			return 1;
	return 0;
}

int strategy_validate(const struct strategy_ops *ops, struct sim_err *err)
{
	static const char *const required[] = {
		"cache_hits", "cache_misses", "lock_acquires"
	};
	if (ops->abi_version < 1 || ops->abi_version > STRATEGY_ABI_VERSION)
		return SIM_ERR(err, SIM_EINVAL,
			       "strategy ABI version %d, this allocsim supports 1..%d",
			       ops->abi_version, STRATEGY_ABI_VERSION);
	if (!ops->name || !ops->name[0] || !ops->summary)
		return SIM_ERR(err, SIM_EINVAL, "strategy has no name or summary");
	if (!ops->init || !ops->alloc || !ops->free || !ops->counters)
		return SIM_ERR(err, SIM_EINVAL,
			       "strategy %s lacks init, alloc, free or counters",
			       ops->name);
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
		if (!has_counter(ops, required[i]))
			return SIM_ERR(err, SIM_EINVAL,
				       "strategy %s does not report counter %s",
				       ops->name, required[i]);
	if (ops->max_align == 0 || (ops->max_align & (ops->max_align - 1)))
		return SIM_ERR(err, SIM_EINVAL,
			       "strategy %s: max_align must be a power of two",
			       ops->name);
	return SIM_OK;
}

int strategy_load_plugin(const char *path, const struct strategy_ops **out,
			 struct sim_err *err)
{
	if (nplugins == MAX_PLUGINS)
		return SIM_ERR(err, SIM_EINVAL, "%s: too many plugins", path);
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return SIM_ERR(err, SIM_EINVAL, "%s: cannot load: %s", path,
			       dlerror());
	const struct strategy_ops *ops = dlsym(h, "strategy_plugin");
	if (!ops) {
		dlclose(h);
		return SIM_ERR(err, SIM_EINVAL,
			       "%s: exports no symbol strategy_plugin", path);
	}
	struct sim_err why;
	if (strategy_validate(ops, &why) != SIM_OK) {
		dlclose(h);
		return SIM_ERR(err, SIM_EINVAL, "%s: %s", path, why.msg);
	}
	if (strategy_find(ops->name)) {
		dlclose(h);
		return SIM_ERR(err, SIM_EINVAL,
			       "%s: a strategy named %s exists already", path,
			       ops->name);
	}
	plugins[nplugins++] = ops;   /* kept loaded for the process */
	*out = ops;
	return SIM_OK;
}

/* ---- parameters ----------------------------------------------------- */

size_t strat_param_count(const struct strategy_ops *ops)
{
	size_t n = 0;
	while (ops->params && ops->params[n].name)
		n++;
	return n;
}

int strat_parse_size(const char *text, uint64_t *out)
{
	static const struct { const char *suffix; int shift; } units[] = {
		{"", 0}, {"K", 10}, {"KiB", 10}, {"k", 10}, {"M", 20},
		{"MiB", 20}, {"G", 30}, {"GiB", 30}, {"T", 40}, {"TiB", 40},
	};
	char *end;
	if (!text[0] || text[0] == '-')
		return SIM_EINVAL;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || end == text)
		return SIM_EINVAL;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
			return SIM_EINVAL;
		*out = (uint64_t)v << units[i].shift;
		return SIM_OK;
	}
	return SIM_EINVAL;
}

static int parse_bool(const char *t, int64_t *out)
{
	static const char *const yes[] = {"1", "true", "on", "yes"};
	static const char *const no[] = {"0", "false", "off", "no"};
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(t, yes[i]) == 0)
			return *out = 1, SIM_OK;
		if (strcasecmp(t, no[i]) == 0)
			return *out = 0, SIM_OK;
	}
	return SIM_EINVAL;
}

static int parse_int(const struct strategy_param *p, const char *t,
		     int64_t *out)
{
	char *end;
	if (p->min <= -1 && strcasecmp(t, "off") == 0)
		return *out = -1, SIM_OK;
	errno = 0;
	long long v = strtoll(t, &end, 10);
	if (errno || end == t || *end)
		return SIM_EINVAL;
	*out = v;
	return SIM_OK;
}

/* Parse text for p into v (no range check).  SIM_OK or SIM_EINVAL. */
static int parse_value(const struct strategy_param *p, const char *t,
		       union param_value *v)
{
	char *end;
	uint64_t u;
	switch (p->type) {
	case PARAM_INT:
		return parse_int(p, t, &v->i);
	case PARAM_SIZE:
		if (strat_parse_size(t, &u) != SIM_OK || u > INT64_MAX)
			return SIM_EINVAL;
		v->i = (int64_t)u;
		return SIM_OK;
	case PARAM_BOOL:
		return parse_bool(t, &v->i);
	case PARAM_DOUBLE:
		errno = 0;
		v->d = strtod(t, &end);
		return errno || end == t || *end || !isfinite(v->d) ? SIM_EINVAL
								     : SIM_OK;
	}
	return SIM_EINVAL;
}

static const char *type_name(enum param_type t)
{
	switch (t) {
	case PARAM_INT: return "an integer";
	case PARAM_SIZE: return "a size in bytes (suffixes K, M, G)";
	case PARAM_BOOL: return "a boolean (true/false, on/off, 1/0)";
	case PARAM_DOUBLE: return "a number";
	}
	return "?";
}

/* Parse and range-check text for parameter p of strategy sname; *out is
 * written only when the value is accepted. */
static int set_one(const char *sname, const struct strategy_param *p,
		   const char *text, union param_value *out, struct sim_err *err)
{
	union param_value v;
	if (parse_value(p, text, &v) != SIM_OK)
		return SIM_ERR(err, SIM_EINVAL,
			       "parameter %s.%s: '%s' is not %s", sname,
			       p->name, text, type_name(p->type));
	double x = p->type == PARAM_DOUBLE ? v.d : (double)v.i;
	int off = p->type == PARAM_INT && p->min <= -1 && v.i == -1;
	if (!off && (x < p->min || x > p->max))
		return SIM_ERR(err, SIM_EINVAL,
			       "parameter %s.%s: %s is outside [%.15g, %.15g]",
			       sname, p->name, text, p->min, p->max);
	*out = v;
	return SIM_OK;
}

int strat_params_default(const struct strategy_ops *ops,
			 union param_value *values, struct sim_err *err)
{
	size_t n = strat_param_count(ops);
	for (size_t i = 0; i < n; i++) {
		int rc = set_one(ops->name, &ops->params[i], ops->params[i].def,
				 &values[i], err);
		if (rc != SIM_OK)
			return rc;
	}
	return SIM_OK;
}

int strat_param_set(const struct strategy_ops *ops, union param_value *values,
		    const char *key, const char *text, struct sim_err *err)
{
	size_t n = strat_param_count(ops);
	for (size_t i = 0; i < n; i++)
		if (strcmp(ops->params[i].name, key) == 0)
			return set_one(ops->name, &ops->params[i], text,
				       &values[i], err);
	return SIM_ERR(err, SIM_EINVAL,
		       "strategy %s has no parameter '%s' (see allocsim list)",
		       ops->name, key);
}

void strat_param_format(const struct strategy_param *p, union param_value v,
			char *buf, size_t n)
{
	if (p->type == PARAM_DOUBLE)
		snprintf(buf, n, "%.17g", v.d);
	else if (p->type == PARAM_BOOL)
		snprintf(buf, n, "%s", v.i ? "true" : "false");
	else if (p->type == PARAM_INT && p->min <= -1 && v.i == -1)
		snprintf(buf, n, "off");
	else
		snprintf(buf, n, "%lld", (long long)v.i);
}

/* ---- instances and wrappers ----------------------------------------- */

static int counter_index(const struct strategy_ops *ops, const char *name)
{
	for (int i = 0; ops->counter_names[i]; i++)
		if (strcmp(ops->counter_names[i], name) == 0)
			return i;
	return -1;
}

int strat_open(struct strat *s, const struct strategy_ops *ops,
	       const struct strategy_env *env,
	       const union param_value *params, struct sim_err *err)
{
	int rc = strategy_validate(ops, err);
	if (rc != SIM_OK)
		return rc;
	memset(s, 0, sizeof *s);
	s->ops = ops;
	s->env = *env;
	s->self = calloc(1, ops->state_size ? ops->state_size : 1);
	if (!s->self)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	while (ops->counter_names[s->ncounters])
		s->ncounters++;
	s->ix_cache_hits = counter_index(ops, "cache_hits");
	s->ix_cache_misses = counter_index(ops, "cache_misses");
	s->ix_meta_bytes = counter_index(ops, "meta_bytes");
	rc = ops->init(s->self, &s->env, params, err);
	if (rc != SIM_OK) {
		free(s->self);
		s->self = NULL;
	}
	return rc;
}

void strat_close(struct strat *s)
{
	if (!s->self)
		return;
	if (s->ops->fini)
		s->ops->fini(s->self);
	free(s->self);
	s->self = NULL;
}

uint64_t strat_realloc(struct strat *s, uint32_t tid, uint64_t addr,
		       uint64_t old_usable, uint64_t size, uint64_t *usable)
{
	if (s->ops->realloc)
		return s->ops->realloc(s->self, tid, addr, old_usable, size,
				       usable);
	uint64_t p = strat_alloc(s, tid, size, 0, 0, usable);
	if (p)   /* the engine touches the bytes the program copies */
		strat_free(s, tid, addr, old_usable);
	return p;
}

void strat_gc_begin(struct strat *s)
{
	if (s->ops->gc_begin)
		s->ops->gc_begin(s->self);
}

void strat_gc_end(struct strat *s)
{
	if (s->ops->gc_end)
		s->ops->gc_end(s->self);
}

void strat_tick(struct strat *s, uint64_t now_ns)
{
	if (s->ops->tick)
		s->ops->tick(s->self, now_ns);
}

int strat_check(struct strat *s, struct sim_err *err)
{
	return s->ops->check ? s->ops->check(s->self, err) : SIM_OK;
}

void strat_counters(struct strat *s, uint64_t *values)
{
	s->ops->counters(s->self, values);
}

/* A table ends before the bands of later versions: their fields must not
 * be read. */
uint64_t strat_counter_from_all(struct strat *s, size_t i, uint64_t *scratch)
{
	s->ops->counters(s->self, scratch);
	return scratch[i];
}

void strat_flush(struct strat *s)
{
	if (s->ops->abi_version >= 2 && s->ops->flush)
		s->ops->flush(s->self);
}

void strat_release_os(struct strat *s)
{
	if (s->ops->abi_version >= 2 && s->ops->release_os)
		s->ops->release_os(s->self);
}

uint64_t strat_natural_align(const struct strategy_ops *ops, uint64_t size)
{
	if (size == 0)
		return 1;
	uint64_t low = size & -size;
	return low < ops->max_align ? low : ops->max_align;
}
