/*
 * gc.c - Go's GC pacer (go-allocator.md 11.2-11.4, Go 1.19 mgcpacer.go)
 * and the dead-object list of the GC reclamation mode (see gc.h).
 *
 * Goal: marked + (marked + stack and globals scan) * GOGC/100, floored at
 * 4 MiB * GOGC/100; the memory-limit goal caps it; when the GOGC goal wins
 * it is raised to the sweep-distance minimum (heapLive at the last commit
 * + 1 MiB).  Trigger: goal - runway within the bounds of 11.3, the runway
 * from the program's scan work and a fixed cons/mark ratio (gc.h).
 */
#include "gc.h"

#include <stdlib.h>
#include <string.h>

#define MIB ((uint64_t)1 << 20)

static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static uint64_t sub_sat(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

/* x * pct / 100, saturating. */
static uint64_t mul_pct(uint64_t x, int64_t pct)
{
	unsigned __int128 r = (unsigned __int128)x * (uint64_t)pct / 100;
	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}

/* ---- the pacer ------------------------------------------------------------ */

static uint64_t roots(const struct gc_pacer *p)
{
	return p->scan.stack + p->scan.globals;
}

void gc_pacer_init(struct gc_pacer *p, int64_t gogc, uint64_t memlimit,
		   const struct gc_scan *scan)
{
	memset(p, 0, sizeof *p);
	p->gogc = gogc;
	p->memlimit = memlimit;
	if (scan)
		p->scan = *scan;
	p->gogc_goal = gc_gogc_goal(gogc, 0, roots(p));
}

uint64_t gc_gogc_goal(int64_t gogc, uint64_t marked, uint64_t roots)
{
	if (gogc < 0)
		return UINT64_MAX;
	uint64_t g = marked + mul_pct(marked + roots, gogc);
	if (g < marked || marked + roots < marked)
		g = UINT64_MAX;
	return max_u64(g, mul_pct(GC_MIN_HEAP, gogc));
}

uint64_t gc_runway(const struct gc_scan *scan)
{
	/* Go: consMark * (1 - 0.25) / 0.25 * scan work, as a float */
	double w = (double)scan->heap + (double)scan->stack +
		   (double)scan->globals;
	double r = scan->cons_mark * 3.0 * w;
	if (!(r > 0))
		return 0;
	return r >= 0x1p64 ? UINT64_MAX : (uint64_t)r;
}

uint64_t gc_limit_goal(const struct gc_pacer *p, const struct gc_heap *h)
{
	if (!p->memlimit)
		return UINT64_MAX;
	uint64_t nonheap = sub_sat(h->mapped_ready, h->free + h->alloc);
	uint64_t over = sub_sat(h->mapped_ready, p->memlimit);
	if (nonheap + over >= p->memlimit)
		return p->marked;
	uint64_t g = p->memlimit - nonheap - over;
	g = g < 2 * MIB ? MIB : g - MIB;
	return max_u64(g, p->marked);
}

uint64_t gc_goal(const struct gc_pacer *p, const struct gc_heap *h,
		 uint64_t *min_trigger)
{
	uint64_t l = gc_limit_goal(p, h);
	*min_trigger = 0;
	if (l < p->gogc_goal)
		return l;
	*min_trigger = p->min_trigger;
	return max_u64(p->gogc_goal, p->min_trigger);
}

uint64_t gc_trigger(const struct gc_pacer *p, const struct gc_heap *h)
{
	uint64_t lo, m = p->marked;
	uint64_t goal = gc_goal(p, h, &lo);
	if (m >= goal)
		return goal;
	uint64_t d = (goal - m) / 64;
	lo = max_u64(max_u64(lo, m), m + d * 45);
	uint64_t hi = m + d * 61;
	if (goal > GC_MIN_HEAP && goal - GC_MIN_HEAP > hi)
		hi = goal - GC_MIN_HEAP;
	hi = max_u64(hi, lo);
	if (!p->committed)
		return hi;               /* cons/mark starts at 0: runway 0 */
	uint64_t runway = gc_runway(&p->scan);
	if (runway > goal)
		return lo;
	uint64_t t = goal - runway;
	return t < lo ? lo : t > hi ? hi : t;
}

void gc_pacer_commit(struct gc_pacer *p, uint64_t marked, uint64_t live)
{
	p->marked = marked;
	p->gogc_goal = gc_gogc_goal(p->gogc, marked, roots(p));
	p->min_trigger = live + GC_SWEEP_MIN;
	p->committed = 1;
}

/* ---- the run's GC state ------------------------------------------------- */

struct gc {
	struct gc_pacer pacer;
	struct gc_dead_list dead;   /* gc.h */
	uint64_t last_gc_ns, cycles;
	uint64_t trigger;        /* cached when it cannot change (no limit) */
	int ix_live, ix_alloc, ix_ready, ix_idle, ix_released;
	struct gc_quick quick;   /* set_quick */
};

/* The periodic GC of gc_due (now_ns - last_gc_ns > GC_FORCE_PERIOD) as a
 * bound, and the cached trigger: gc_quick's fields. */
static void set_quick(struct gc *g)
{
	int periodic = g->cycles && g->pacer.gogc >= 0 &&
		       g->last_gc_ns <= UINT64_MAX - GC_FORCE_PERIOD;
	g->quick = (struct gc_quick){
		periodic ? g->last_gc_ns + GC_FORCE_PERIOD : UINT64_MAX,
		g->trigger, !g->pacer.memlimit, g->ix_live};
}

static int counter_ix(const struct strategy_ops *ops, const char *name)
{
	for (int i = 0; ops->counter_names[i]; i++)
		if (strcmp(ops->counter_names[i], name) == 0)
			return i;
	return -1;
}

/* The strategy's parameter name if it has one of that type, else NULL. */
static const union param_value *param(const struct strategy_ops *ops,
				      const union param_value *params,
				      const char *name, int is_double)
{
	for (size_t i = 0; ops->params && ops->params[i].name; i++)
		if (strcmp(ops->params[i].name, name) == 0)
			return (ops->params[i].type == PARAM_DOUBLE) ==
			       is_double ? &params[i] : NULL;
	return NULL;
}

static int64_t param_or(const struct strategy_ops *ops,
			const union param_value *params, const char *name,
			int64_t def)
{
	const union param_value *v = param(ops, params, name, 0);
	return v ? v->i : def;
}

/* The program's scan work: the strategy's parameters heap_scan,
 * stack_scan, globals_scan and cons_mark, 0 for those it lacks. */
static struct gc_scan scan_params(const struct strategy_ops *ops,
				  const union param_value *params)
{
	const union param_value *cm = param(ops, params, "cons_mark", 1);
	return (struct gc_scan){
		.cons_mark = cm ? cm->d : 0,
		.heap = (uint64_t)param_or(ops, params, "heap_scan", 0),
		.stack = (uint64_t)param_or(ops, params, "stack_scan", 0),
		.globals = (uint64_t)param_or(ops, params, "globals_scan", 0),
	};
}

int gc_create(const struct strategy_ops *ops, const union param_value *params,
	      struct gc **out, struct sim_err *err)
{
	struct gc *g = calloc(1, sizeof *g);
	if (!g)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	struct gc_scan scan = scan_params(ops, params);
	gc_pacer_init(&g->pacer, param_or(ops, params, "gogc", 100),
		      (uint64_t)param_or(ops, params, "memlimit", 0), &scan);
	g->ix_live = counter_ix(ops, "heap_live");
	g->ix_alloc = counter_ix(ops, "heap_alloc");
	g->ix_ready = counter_ix(ops, "mapped_ready");
	g->ix_idle = counter_ix(ops, "heap_idle");
	g->ix_released = counter_ix(ops, "heap_released");
	struct gc_heap h = {0, 0, 0, 0};
	g->trigger = gc_trigger(&g->pacer, &h);
	set_quick(g);
	*out = g;
	return SIM_OK;
}

void gc_destroy(struct gc *g)
{
	if (!g)
		return;
	free(g->dead.buf);
	free(g);
}

struct gc_dead_list *gc_dead_list(struct gc *g)
{
	return &g->dead;
}

/* Double the dead list. */
static int grow_dead(struct gc_dead_list *l)
{
	uint64_t cap = l->cap ? l->cap * 2 : 4096;
	uint8_t *d = realloc(l->buf, cap);
	if (!d)
		return SIM_ENOMEM;
	l->buf = d;
	l->cap = cap;
	return SIM_OK;
}

int gc_add_dead_slow(struct gc_dead_list *l, uint32_t tid, uint64_t addr,
		     uint64_t x, uint64_t size, uint64_t zz)
{
	if (l->cap - l->len < GC_DEAD_MAX_BYTES && grow_dead(l) != SIM_OK)
		return SIM_ENOMEM;
	uint8_t *p = l->buf + l->len;
	uint64_t w;
	if (gc_short_record(zz, size, x, tid, &w)) {
		gc_put_word(p, w);
		l->len += 8;
	} else {
		gc_put_word(p, GC_DEAD_LONG | (uint64_t)tid << 32);
		gc_put_word(p + 8, addr);
		gc_put_word(p + 16, size);
		gc_put_word(p + 24, x);
		l->len += 32;
	}
	l->addr = addr;
	return SIM_OK;
}

int gc_dead_next_long(const struct gc_dead_list *l, struct gc_dead_iter *it,
		      struct gc_dead *d, uint64_t w)
{
	const uint8_t *p = l->buf + it->pos;
	d->tid = (uint32_t)(w >> 32);
	d->addr = it->addr = gc_get_word(p + 8);
	d->size = gc_get_word(p + 16);
	d->usable = d->size + gc_get_word(p + 24);
	it->pos += 32;
	return 1;
}

void gc_dead_clear(struct gc_dead_list *l)
{
	l->len = 0;
	l->addr = 0;
}

int gc_wants_counters(const struct gc *g)
{
	return g->ix_live >= 0 || g->ix_alloc >= 0 || g->ix_ready >= 0;
}

void gc_read_heap(const struct gc *g, const uint64_t *c, uint64_t alloc_bytes,
		  uint64_t os_heap_bytes, struct gc_heap *h)
{
	h->live = g->ix_live >= 0 ? c[g->ix_live] : alloc_bytes;
	h->alloc = g->ix_alloc >= 0 ? c[g->ix_alloc] : alloc_bytes;
	h->mapped_ready = g->ix_ready >= 0 ? c[g->ix_ready] : os_heap_bytes;
	if (g->ix_idle >= 0 && g->ix_released >= 0)
		h->free = sub_sat(c[g->ix_idle], c[g->ix_released]);
	else
		h->free = sub_sat(h->mapped_ready, h->alloc);
}

int gc_due(const struct gc *g, const struct gc_heap *h, int alloc,
	   uint64_t now_ns)
{
	if (g->cycles && g->pacer.gogc >= 0 &&
	    now_ns - g->last_gc_ns > GC_FORCE_PERIOD)
		return 1;
	if (!alloc)
		return 0;
	uint64_t t = g->pacer.memlimit ? gc_trigger(&g->pacer, h) : g->trigger;
	return h->live >= t;
}

const struct gc_quick *gc_quick(const struct gc *g)
{
	return &g->quick;
}

int gc_due_alloc(const struct gc *g, const uint64_t *c, uint64_t alloc_bytes,
		 uint64_t os_heap_bytes, uint64_t now_ns)
{
	struct gc_heap h;
	gc_read_heap(g, c, alloc_bytes, os_heap_bytes, &h);
	return gc_due(g, &h, 1, now_ns);
}

void gc_cycle_done(struct gc *g, const struct gc_heap *h, uint64_t now_ns)
{
	gc_pacer_commit(&g->pacer, h->live, h->live);
	g->trigger = gc_trigger(&g->pacer, h);
	g->last_gc_ns = now_ns;
	g->cycles++;
	set_quick(g);
}

const struct gc_pacer *gc_pacer(const struct gc *g)
{
	return &g->pacer;
}
