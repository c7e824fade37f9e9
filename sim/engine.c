/*
 * engine.c - the event loop of one run (see engine.h).
 *
 * Per event: look the object up in the object table, call the strategy
 * through the strat_* wrappers, let the program write the bytes it asked
 * for (simos_touch, when touch is on), update the gauges and peaks, charge
 * simulated time (a fixed cost per event plus what the simulated OS charged
 * for calls and page faults), and take a series row when one is due.
 *
 * Series rows are taken every sample_every events and also at the events
 * where live and heap bytes reach new peaks: the newest such row of each
 * kind is held back and written before the next regular row, so the row of
 * the run's peak is always in the file, exact and in event order.
 */
#include "engine.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gc.h"
#include "objtab.h"
#include "pool.h"
#include "shadow.h"

struct pending {
	int valid;
	struct series_row row;
	uint64_t *counters;
	char phase[64];            /* the label when held: it may change since */
};

struct engine {
	struct engine_config cfg;
	struct simos *os;
	struct strat strat;
	struct objtab objs;
	struct shadow *shadow;
	struct series *series;
	struct sim_stats st;
	uint64_t *counters;        /* scratch for strategy counters */
	struct pending peak_live, peak_heap;
	const char *phase;
	char phase_buf[64];
	struct simos_meter meter;  /* the OS as read after the last event */
	const uint64_t *os_version;   /* simos_meter_version(os) */
	const struct simos_hot *os_hot;   /* simos_hot(os) */
	uint64_t meter_version;       /* *os_version when meter was read */
	int os_moved;              /* the meter was read since note_gauges */
	uint64_t last_os_cost, next_tick, next_sample, next_check, next_ckpt;
	uint64_t next_due;         /* the least of the three that are on */
	uint64_t host_bytes, host_peak;
	uint64_t rows;             /* series rows written */
	uint64_t last_row_event;
	int reclaim;
	struct gc *gc;              /* GC mode only (gc.h) */
	const struct gc_quick *gcq; /* gc_quick(gc), read after every event */
	struct gc_dead_list *dead;  /* gc_dead_list(gc) */
	struct pool **pools;        /* sync.Pool models (pool.h) */
	unsigned npools, nprocs;
};

void engine_config_default(struct engine_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->reclaim = SIM_RECLAIM_DEFAULT;
	cfg->sample_every = 1000;
	cfg->touch = 1;
	cfg->event_ns = 20;
	cfg->tick_ns = 1000000;
	simos_config_default(&cfg->os);
	cfg->os.faults.max_mapped_bytes = ENGINE_MAPPED_MAX;
}

/* ---- host memory for strategies: counted ------------------------------ */

static void *engine_halloc(void *ud, void *p, size_t old, size_t n)
{
	struct engine *e = ud;
	if (n == 0) {
		free(p);
		e->host_bytes -= p ? old : 0;
		return NULL;
	}
	void *q = realloc(p, n);
	if (!q)
		return NULL;
	e->host_bytes += n - (p ? old : 0);
	if (e->host_bytes > e->host_peak)
		e->host_peak = e->host_bytes;
	return q;
}

/* ---- creation ------------------------------------------------------------ */

static int open_series(struct engine *e, struct sim_err *err)
{
	size_t n = e->strat.ncounters;
	e->counters = calloc(n + 1, sizeof *e->counters);
	e->peak_live.counters = calloc(n + 1, sizeof(uint64_t));
	e->peak_heap.counters = calloc(n + 1, sizeof(uint64_t));
	if (!e->counters || !e->peak_live.counters || !e->peak_heap.counters)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	if (!e->cfg.series_path)
		return SIM_OK;
	return series_open(&e->series, e->cfg.series_path,
			   e->strat.ops->counter_names, err);
}

static int choose_reclaim(struct engine *e, const union param_value *params,
			  struct sim_err *err)
{
	e->reclaim = e->cfg.reclaim ? e->cfg.reclaim
				    : e->strat.ops->reclaim_default;
	e->nprocs = 1;   /* Ps for sync.Pool: the strategy's gomaxprocs */
	for (size_t i = 0; params && i < strat_param_count(e->strat.ops); i++)
		if (strcmp(e->strat.ops->params[i].name, "gomaxprocs") == 0 &&
		    params[i].i > 0)
			e->nprocs = (unsigned)params[i].i;
	if (e->reclaim != SIM_RECLAIM_GC)
		return SIM_OK;
	int rc = gc_create(e->strat.ops, params, &e->gc, err);
	if (rc == SIM_OK) {
		e->gcq = gc_quick(e->gc);
		e->dead = gc_dead_list(e->gc);
	}
	return rc;
}

/* The next event count at which a series row, a strategy check or a
 * checkpoint is due: one compare per event instead of three. */
static void set_next_due(struct engine *e)
{
	uint64_t d = e->next_ckpt;
	if (e->cfg.sample_every && e->next_sample < d)
		d = e->next_sample;
	if (e->cfg.check && e->cfg.check_every && e->next_check < d)
		d = e->next_check;
	e->next_due = d;
}

int engine_create(const struct engine_config *cfg,
		  const struct strategy_ops *ops,
		  const union param_value *params, struct engine **out,
		  struct sim_err *err)
{
	struct engine *e = calloc(1, sizeof *e);
	if (!e || objtab_init(&e->objs) != 0) {
		free(e);
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	}
	e->cfg = *cfg;
	stats_init(&e->st);
	e->next_tick = cfg->tick_ns ? cfg->tick_ns : UINT64_MAX;   /* no ticks */
	e->next_sample = cfg->sample_every;
	e->next_check = cfg->check_every;
	e->next_ckpt = cfg->checkpoint_every ? cfg->checkpoint_every : UINT64_MAX;
	set_next_due(e);
	int rc = simos_create(&cfg->os, &e->os, err);
	if (rc == SIM_OK) {
		e->os_version = simos_meter_version(e->os);
		e->os_hot = simos_hot(e->os);
	}
	if (rc == SIM_OK && cfg->check && !(e->shadow = shadow_create()))
		rc = SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	struct strategy_env env = {e->os, engine_halloc, e, &e->st.cur.t_ns};
	if (rc == SIM_OK)
		rc = strat_open(&e->strat, ops, &env, params, err);
	if (rc == SIM_OK)
		rc = choose_reclaim(e, params, err);
	if (rc == SIM_OK)
		rc = open_series(e, err);
	if (rc != SIM_OK) {
		engine_destroy(e);
		return rc;
	}
	*out = e;
	return SIM_OK;
}

void engine_destroy(struct engine *e)
{
	if (!e)
		return;
	series_abort(e->series);
	strat_close(&e->strat);
	simos_destroy(e->os);
	shadow_destroy(e->shadow);
	gc_destroy(e->gc);
	for (unsigned i = 0; i < e->npools; i++)
		pool_destroy(e->pools[i]);
	free(e->pools);
	objtab_free(&e->objs);
	free(e->counters);
	free(e->peak_live.counters);
	free(e->peak_heap.counters);
	free(e);
}

/* ---- series rows ------------------------------------------------------- */

static void fill_row(struct engine *e, struct series_row *row, uint64_t *ctr)
{
	strat_counters(&e->strat, ctr);
	if (e->strat.ix_meta_bytes >= 0)
		e->st.cur.meta_bytes = ctr[e->strat.ix_meta_bytes];
	/* meta_bytes is read only here, so its peak is raised here too */
	if (e->st.cur.meta_bytes > e->st.peak.meta_bytes)
		e->st.peak.meta_bytes = e->st.cur.meta_bytes;
	row->g = e->st.cur;
	row->gc_cycles = e->st.gc_cycles;
	row->phase = e->phase;
	row->os = *simos_counts(e->os);
	row->counters = ctr;
	memset(&row->pool, 0, sizeof row->pool);
	for (unsigned i = 0; i < e->npools; i++) {
		const struct pool_stats *p = pool_stats(e->pools[i]);
		row->pool.gets += p->gets;
		row->pool.hits += p->hits;
		row->pool.victim_hits += p->victim_hits;
		row->pool.news += p->news;
	}
}

static int put_row(struct engine *e, const struct series_row *row,
		   struct sim_err *err)
{
	if (e->rows && row->g.event == e->last_row_event)
		return SIM_OK;   /* a peak row or the end at a sampled event */
	e->rows++;
	e->last_row_event = row->g.event;
	return series_write(e->series, row, err);
}

/* Out of line: a new peak is rare after a run's first phase, and inlined
 * into note_gauges it made every event save and restore registers. */
__attribute__((noinline, cold)) static void hold_peak(struct engine *e,
						       struct pending *p)
{
	fill_row(e, &p->row, p->counters);
	if (p->row.phase) {
		snprintf(p->phase, sizeof p->phase, "%s", p->row.phase);
		p->row.phase = p->phase;
	}
	p->valid = 1;
}

/* Write the held peak rows (in event order) that precede event index. */
static int flush_peaks(struct engine *e, uint64_t before, struct sim_err *err)
{
	struct pending *a = &e->peak_live, *b = &e->peak_heap;
	if (a->valid && b->valid && b->row.g.event < a->row.g.event) {
		struct pending *t = a;
		a = b;
		b = t;
	}
	int rc = SIM_OK;
	if (a->valid && a->row.g.event < before)
		rc = put_row(e, &a->row, err);
	if (rc == SIM_OK && b->valid && b->row.g.event < before)
		rc = put_row(e, &b->row, err);
	a->valid = b->valid = 0;
	return rc;
}

static int write_sample(struct engine *e, struct sim_err *err)
{
	struct series_row row;
	fill_row(e, &row, e->counters);
	if (!e->series)
		return SIM_OK;
	int rc = flush_peaks(e, row.g.event, err);
	return rc != SIM_OK ? rc : put_row(e, &row, err);
}

/* ---- the operations ------------------------------------------------------ */

static int out_of_memory(struct engine *e, const struct sim_event *ev,
			 struct sim_err *err)
{
	if (simos_oom_killed(e->os))
		return SIM_ERR(err, SIM_EOOM,
			       "event %" PRIu64 ": killed by the memory limit "
			       "(memory.max %" PRIu64 " bytes)",
			       e->st.cur.event, e->cfg.os.memory_max);
	return SIM_ERR(err, SIM_EOOM,
		       "event %" PRIu64 ": strategy %s could not allocate %" PRIu64
		       " bytes (out of memory)", e->st.cur.event,
		       e->strat.ops->name, ev->size);
}

/* Prefix err's message with the event index (and the strategy's name when
 * it is to blame) and return code.  The message is copied first: it cannot
 * be both an argument and the destination of the formatting. */
static int blame(struct engine *e, int code, int strategy, struct sim_err *err)
{
	char msg[sizeof err->msg];
	snprintf(msg, sizeof msg, "%s", err->msg);
	if (strategy)
		return SIM_ERR(err, code, "event %" PRIu64 ": strategy %s: %s",
			       e->st.cur.event, e->strat.ops->name, msg);
	return SIM_ERR(err, code, "event %" PRIu64 ": %s", e->st.cur.event, msg);
}

/* program_writes past the hot range. */
static int program_writes_out(struct engine *e, uint64_t addr, uint64_t size,
			      struct sim_err *err)
{
	int rc = simos_touch(e->os, addr, size, err);
	if (rc == SIM_ECHECK)
		return blame(e, SIM_ECHECK, 1, err);
	return rc == SIM_EOOM ? SIM_OK : rc;   /* OOM is seen after the event */
}

/* The program writes the size bytes it asked for at addr.  A write to
 * the pages the last one found resident (span's zeroing of the same
 * block, the next small object on a page) is answered inline. */
static inline int program_writes(struct engine *e, uint64_t addr,
				 uint64_t size, struct sim_err *err)
{
	if (!e->cfg.touch || size == 0 ||
	    simos_hot_write(e->os_hot, *e->os_version, addr, size))
		return SIM_OK;
	return program_writes_out(e, addr, size, err);
}

static int shadow_add_block(struct engine *e, uint64_t addr, uint64_t size,
			    uint64_t usable, uint64_t align, struct sim_err *err)
{
	if (!align)
		align = strat_natural_align(e->strat.ops, size);
	int rc = shadow_add(e->shadow, e->os, addr, size, usable, align, err);
	return rc != SIM_OK ? blame(e, rc, 1, err) : SIM_OK;
}

/* The shadow heap's test is inline: without --check (the usual run) an
 * allocation pays one compare, not a call. */
static inline int shadow_in(struct engine *e, uint64_t addr, uint64_t size,
			    uint64_t usable, uint64_t align,
			    struct sim_err *err)
{
	return e->shadow ? shadow_add_block(e, addr, size, usable, align, err)
			 : SIM_OK;
}

static int shadow_out(struct engine *e, uint64_t addr, struct sim_err *err)
{
	if (!e->shadow)
		return SIM_OK;
	int rc = shadow_remove(e->shadow, addr, err);
	return rc != SIM_OK ? blame(e, rc, 0, err) : SIM_OK;
}

/* Record a new live object; the strategy has already placed it. */
static int add_object(struct engine *e, uint64_t id, uint64_t addr,
		      uint64_t size, uint64_t usable, struct sim_err *err)
{
	struct obj_block b = {addr, size, usable};
	if (objtab_insert(&e->objs, id, &b) != 0)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	e->st.cur.live_bytes += size;
	e->st.cur.alloc_bytes += usable;
	e->st.cur.live_objects++;
	return SIM_OK;
}

/* Record a new live object in its empty slot o (from new_slot). */
static int store_object(struct engine *e, struct obj *o, uint64_t id,
			uint64_t addr, uint64_t size, uint64_t usable,
			struct sim_err *err)
{
	struct obj_block b = {addr, size, usable};
	if (objtab_fill(&e->objs, o, id, &b) != 0)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	e->st.cur.live_bytes += size;
	e->st.cur.alloc_bytes += usable;
	e->st.cur.live_objects++;
	return SIM_OK;
}

/* The gauges after object b leaves the table: freed (its block back to the
 * strategy) or, in GC mode, dead until the next cycle. */
static inline void count_dropped(struct engine *e, const struct obj_block *b)
{
	e->st.cur.live_bytes -= b->size;
	e->st.cur.alloc_bytes -= b->usable;
	e->st.cur.live_objects--;
}

static inline void count_killed(struct engine *e, const struct obj_block *b)
{
	e->st.cur.live_bytes -= b->size;
	e->st.cur.dead_bytes += b->size;
	e->st.cur.live_objects--;
}

/* drop_object's rare path: a spilled block. */
__attribute__((noinline)) static void drop_spilled(struct engine *e,
						    struct obj *o)
{
	struct obj_block b = objtab_block(&e->objs, o);
	count_dropped(e, &b);
	objtab_remove_slow(&e->objs, o);
}

/* Forget the object in slot o (the strategy has its block back).  The
 * usual case makes no call and the rare ones (a spilled block, a long
 * probe run after the object: one removal in 13 on make bench's trace)
 * are tail calls, so it saves no registers (a fifth of its instructions
 * did). */
static void drop_object(struct engine *e, struct obj *o)
{
	if (__builtin_expect(obj_spilled(o), 0)) {
		drop_spilled(e, o);
		return;
	}
	struct obj_block b = objtab_packed_block(o);
	count_dropped(e, &b);
	if (__builtin_expect(objtab_run_is_short(&e->objs, o), 1))
		objtab_remove_quick(&e->objs, o);
	else
		objtab_remove_slow(&e->objs, o);
}

static int id_in_use(struct engine *e, uint64_t id, struct sim_err *err)
{
	if (id == 0)
		return SIM_ERR(err, SIM_EWORKLOAD,
			       "event %" PRIu64 ": object ID 0 is not allowed",
			       e->st.cur.event);
	if (objtab_find(&e->objs, id))
		return SIM_ERR(err, SIM_EWORKLOAD,
			       "event %" PRIu64 ": ID %" PRIu64 " is already live",
			       e->st.cur.event, id);
	return SIM_OK;
}

/* The empty slot a new object id will take, found by the same probe that
 * checks id is not live (the table does not change until store_object). */
static int new_slot(struct engine *e, uint64_t id, struct obj **slot,
		    struct sim_err *err)
{
	if (id == 0)
		return SIM_ERR(err, SIM_EWORKLOAD,
			       "event %" PRIu64 ": object ID 0 is not allowed",
			       e->st.cur.event);
	struct obj *o = objtab_slot_for(&e->objs, id);
	if (!o)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	if (obj_used(o))
		return SIM_ERR(err, SIM_EWORKLOAD,
			       "event %" PRIu64 ": ID %" PRIu64 " is already live",
			       e->st.cur.event, id);
	*slot = o;
	return SIM_OK;
}

/* bad_request's message. */
static int request_error(struct engine *e, const struct sim_event *ev,
			 struct sim_err *err)
{
	if (ev->size > SIM_MAX_SIZE)
		return SIM_ERR(err, SIM_EWORKLOAD,
			       "event %" PRIu64 ": size %" PRIu64 " is beyond 2^48",
			       e->st.cur.event, ev->size);
	if (ev->align & (ev->align - 1) || ev->align > SIM_MAX_SIZE)
		return SIM_ERR(err, SIM_EWORKLOAD,
			       "event %" PRIu64 ": alignment %" PRIu64 " is not a "
			       "power of two up to 2^48", e->st.cur.event, ev->align);
	return SIM_OK;
}

/* A request no strategy can be asked for, whatever the source: a size
 * beyond 2^48 (the trace format's limit), an alignment that is not a power
 * of two no larger than that.  SIM_OK or SIM_EWORKLOAD.  The test is
 * inline, the message out of line. */
static inline int bad_request(struct engine *e, const struct sim_event *ev,
			      struct sim_err *err)
{
	if (__builtin_expect(ev->size > SIM_MAX_SIZE ||
			     (ev->align & (ev->align - 1)) ||
			     ev->align > SIM_MAX_SIZE, 0))
		return request_error(e, ev, err);
	return SIM_OK;
}

/* An allocation; kind_flags are the STRAT_* flags its kind implies (the
 * dispatch knows them, so the hot path tests no kind). */
static int do_alloc(struct engine *e, const struct sim_event *ev,
		    unsigned kind_flags, struct sim_err *err)
{
	struct obj *slot = NULL;
	int rc = bad_request(e, ev, err);
	if (rc == SIM_OK)
		rc = new_slot(e, ev->id, &slot, err);
	if (rc != SIM_OK)
		return rc;
	unsigned flags = ev->flags | kind_flags;
	uint64_t usable;
	uint64_t addr = strat_alloc(&e->strat, ev->tid, ev->size, ev->align,
				    flags, &usable);
	if (!addr)
		return out_of_memory(e, ev, err);
	e->st.allocs++;
	rc = shadow_in(e, addr, ev->size, usable, ev->align, err);
	if (rc == SIM_OK)
		rc = store_object(e, slot, ev->id, addr, ev->size, usable, err);
	return rc == SIM_OK ? program_writes(e, addr, ev->size, err) : rc;
}

static struct obj *live_object(struct engine *e, uint64_t id, const char *op,
			       struct sim_err *err)
{
	struct obj *o = objtab_find(&e->objs, id);
	if (!o)
		SIM_ERR(err, SIM_EWORKLOAD,
			"event %" PRIu64 ": %s of ID %" PRIu64
			", which is not live (double free or unknown ID)",
			e->st.cur.event, op, id);
	return o;
}

/* ---- GC mode (gc.h) ------------------------------------------------------- */

/* kill_object's rare paths, out of line: a spilled block or a dead
 * object that takes a long record or a full dead list (about 1 % of
 * frees), and a long probe run after the object (one in 13). */
__attribute__((noinline)) static int kill_object_slow(struct engine *e,
						       struct obj *o,
						       uint32_t tid,
						       struct sim_err *err)
{
	struct obj_block b = objtab_block(&e->objs, o);
	if (gc_add_dead(e->dead, tid, b.addr, b.usable, b.size) != SIM_OK)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	count_killed(e, &b);
	objtab_remove_slow(&e->objs, o);
	return SIM_OK;
}

__attribute__((noinline)) static int remove_long_run(struct engine *e,
						      struct obj *o)
{
	objtab_remove_slow(&e->objs, o);
	return SIM_OK;
}

/* The workload drops the object in slot o: it is dead until the next
 * cycle sweeps it.  The collector's dead list holds its block from now on,
 * so it leaves the object table at once.  The rare cases are tested before
 * anything changes, or last, and handled by tail calls: the usual one
 * makes no call and saves no registers (a fifth of its instructions did).
 * The block read before the spill test is not used when that fails. */
static int kill_object(struct engine *e, struct obj *o, uint32_t tid,
		       struct sim_err *err)
{
	struct obj_block b = objtab_packed_block(o);
	uint64_t w;
	if (__builtin_expect(obj_spilled(o) ||
			     !gc_dead_fits(e->dead, tid, b.addr, b.usable,
					   b.size, &w), 0))
		return kill_object_slow(e, o, tid, err);
	gc_put_dead(e->dead, w, b.addr);
	count_killed(e, &b);
	if (__builtin_expect(!objtab_run_is_short(&e->objs, o), 0))
		return remove_long_run(e, o);
	objtab_remove_quick(&e->objs, o);
	return SIM_OK;
}

static void gc_heap_now(struct engine *e, struct gc_heap *h)
{
	if (gc_wants_counters(e->gc))
		strat_counters(&e->strat, e->counters);
	gc_read_heap(e->gc, e->counters, e->st.cur.alloc_bytes,
		     simos_heap_bytes(e->os), h);
}

/* ---- sync.Pool (pool.h) --------------------------------------------------- */

struct drop_ctx {
	struct engine *e;
	int rc;
	struct sim_err *err;
};

/* A pooled object the cleanup dropped: garbage now. */
static void pool_drop(void *ud, uint64_t id)
{
	struct drop_ctx *c = ud;
	struct obj *o = objtab_find(&c->e->objs, id);
	if (!o || c->rc != SIM_OK)
		return;   /* the workload freed it while pooled: its error */
	if (c->e->gc) {
		c->rc = kill_object(c->e, o, 0, c->err);
	} else {
		struct obj_block b = objtab_block(&c->e->objs, o);
		c->rc = shadow_out(c->e, b.addr, c->err);
		strat_free(&c->e->strat, 0, b.addr, b.usable);
		drop_object(c->e, o);
	}
}

/* poolCleanup at GC start (12.4), for every pool. */
static int pools_cleanup(struct engine *e, struct sim_err *err)
{
	struct drop_ctx c = {e, SIM_OK, err};
	for (unsigned i = 0; i < e->npools && c.rc == SIM_OK; i++)
		pool_cleanup(e->pools[i], pool_drop, &c);
	return c.rc;
}

int engine_pool_new(struct engine *e)
{
	struct pool **a = realloc(e->pools, (e->npools + 1) * sizeof *a);
	if (!a)
		return -1;
	e->pools = a;
	if (!(a[e->npools] = pool_create(e->nprocs)))
		return -1;
	return (int)e->npools++;
}

uint64_t engine_pool_get(struct engine *e, int pool, uint32_t tid)
{
	return pool_get(e->pools[pool], tid % e->nprocs);
}

int engine_pool_put(struct engine *e, int pool, uint32_t tid, uint64_t id,
		    struct sim_err *err)
{
	if (!objtab_find(&e->objs, id))
		return SIM_ERR(err, SIM_EWORKLOAD, "pool put of ID %" PRIu64
			       ", which is not live", id);
	if (pool_put(e->pools[pool], tid % e->nprocs, id) != 0)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	return SIM_OK;
}

const struct pool_stats *engine_pool_stats(const struct engine *e, int pool)
{
	return pool_stats(e->pools[pool]);
}

int engine_pool_count(const struct engine *e)
{
	return (int)e->npools;
}

/* One collection: GC start (pool cleanup), marking (the dead objects reach
 * the strategy), mark termination (the strategy flushes and sweeps), the
 * pacer commit. */
static int gc_cycle(struct engine *e, struct sim_err *err)
{
	int rc0 = pools_cleanup(e, err);
	if (rc0 != SIM_OK)
		return rc0;
	struct gc_dead_iter it = {0, 0};
	struct gc_dead d;
	/* the bytes freed, summed in registers: the gauges drop once */
	uint64_t usable = 0, size = 0;
	int rc = SIM_OK;
	strat_gc_begin(&e->strat);
	while (gc_dead_next(e->dead, &it, &d) &&
	       (rc = shadow_out(e, d.addr, err)) == SIM_OK) {
		strat_free(&e->strat, d.tid, d.addr, d.usable);
		usable += d.usable;
		size += d.size;
	}
	e->st.cur.alloc_bytes -= usable;
	e->st.cur.dead_bytes -= size;
	if (rc != SIM_OK)
		return rc;
	gc_dead_clear(e->dead);
	strat_gc_end(&e->strat);
	e->st.gc_cycles++;
	struct gc_heap h;
	gc_heap_now(e, &h);
	gc_cycle_done(e->gc, &h, e->st.cur.t_ns);
	return SIM_OK;
}

/* runtime.GC(): a cycle, and the program waits for the sweep to finish,
 * so the strategy's background work (tick) gets its turn at once. */
static int gc_forced(struct engine *e, struct sim_err *err)
{
	int rc = gc_cycle(e, err);
	if (rc == SIM_OK)
		strat_tick(&e->strat, e->st.cur.t_ns);
	return rc;
}

/* After an event in GC mode: collect when the pacer says so.  The usual
 * answers (the periodic GC not due; without a memory limit, heapLive
 * against the cached trigger) are tested here, inline, from gc_quick. */
static int gc_maybe(struct engine *e, int alloc, struct sim_err *err)
{
	const struct gc_quick *q = e->gcq;
	int due = e->st.cur.t_ns > q->force_after;
	if (!due && alloc && q->live_only) {
		uint64_t live = q->ix_live >= 0
					? strat_counter(&e->strat, (size_t)q->ix_live,
							e->counters)
					: e->st.cur.alloc_bytes;
		due = live >= q->trigger;
	} else if (!due && alloc) {
		if (gc_wants_counters(e->gc))
			strat_counters(&e->strat, e->counters);
		due = gc_due_alloc(e->gc, e->counters, e->st.cur.alloc_bytes,
				   simos_heap_bytes(e->os), e->st.cur.t_ns);
	}
	return due ? gc_cycle(e, err) : SIM_OK;
}

static int do_free(struct engine *e, const struct sim_event *ev,
		   struct sim_err *err)
{
	struct obj *o = live_object(e, ev->id, "free", err);
	if (!o)
		return SIM_EWORKLOAD;
	if (e->gc) {
		e->st.frees++;
		return kill_object(e, o, ev->tid, err);
	}
	struct obj_block b = objtab_block(&e->objs, o);
	int rc = shadow_out(e, b.addr, err);
	if (rc != SIM_OK)
		return rc;
	strat_free(&e->strat, ev->tid, b.addr, b.usable);
	e->st.frees++;
	drop_object(e, o);
	return SIM_OK;
}

static int do_realloc(struct engine *e, const struct sim_event *ev,
		      struct sim_err *err)
{
	if (ev->id == 0) {
		struct sim_event a = *ev;
		a.kind = EV_ALLOC;
		a.id = ev->id2;
		return do_alloc(e, &a, 0, err);
	}
	struct obj *o = live_object(e, ev->id, "realloc", err);
	if (!o)
		return SIM_EWORKLOAD;
	int rc = bad_request(e, ev, err);
	if (rc == SIM_OK && ev->id2 != ev->id)
		rc = id_in_use(e, ev->id2, err);
	struct obj_block old = objtab_block(&e->objs, o);
	if (rc == SIM_OK && !e->gc)
		rc = shadow_out(e, old.addr, err);
	if (rc != SIM_OK)
		return rc;
	uint64_t usable;
	/* GC mode: a new block, and the old one is garbage (Go's append) */
	uint64_t addr = e->gc ? strat_alloc(&e->strat, ev->tid, ev->size, 0,
					    ev->flags, &usable)
			      : strat_realloc(&e->strat, ev->tid, old.addr,
					      old.usable, ev->size, &usable);
	if (!addr)
		return out_of_memory(e, ev, err);
	e->st.reallocs++;
	/* o is still old's slot: the strategy does not touch the table */
	if (e->gc)
		rc = kill_object(e, o, ev->tid, err);
	else
		drop_object(e, o);
	if (rc == SIM_OK)
		rc = shadow_in(e, addr, ev->size, usable, 0, err);
	if (rc == SIM_OK)
		rc = add_object(e, ev->id2, addr, ev->size, usable, err);
	return rc == SIM_OK ? program_writes(e, addr, ev->size, err) : rc;
}

static void set_phase(struct engine *e, const char *label)
{
	/* Keep a copy: the source owns label.  Commas would break the CSV. */
	size_t i = 0;
	for (; label && label[i] && i + 1 < sizeof e->phase_buf; i++)
		e->phase_buf[i] = label[i] == ',' || label[i] == '\n' ? ' ' : label[i];
	e->phase_buf[i] = '\0';
	e->phase = e->phase_buf;
}

static int dispatch(struct engine *e, const struct sim_event *ev,
		    struct sim_err *err)
{
	switch (ev->kind) {
	case EV_ALLOC:
		return do_alloc(e, ev, 0, err);
	case EV_CALLOC:
		return do_alloc(e, ev, STRAT_ZERO, err);
	case EV_MEMALIGN:
		return do_alloc(e, ev, STRAT_ALIGNED, err);
	case EV_FREE:
		return do_free(e, ev, err);
	case EV_REALLOC:
		return do_realloc(e, ev, err);
	case EV_GC:      /* no collector in immediate mode: pools only */
		return e->gc ? gc_forced(e, err) : pools_cleanup(e, err);
	case EV_CLOCK:
		if (ev->size > e->st.cur.t_ns)
			e->st.cur.t_ns = ev->size;
		return SIM_OK;
	case EV_PHASE:
		set_phase(e, ev->label);
		return SIM_OK;
	}
	return SIM_ERR(err, SIM_EWORKLOAD, "event %" PRIu64 ": unknown kind %d",
		       e->st.cur.event, ev->kind);
}

/* ---- after each event ------------------------------------------------ */

/* Most tick periods one event may run; beyond, the periods in between are
 * skipped (the strategy sees the time pass in the next tick's now_ns), so
 * a clock mark far ahead cannot stall the run. */
#define TICK_CATCHUP 1024

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* Returns 1 when background work ran (it may have changed the OS). */
static int advance_clock(struct engine *e)
{
	uint64_t c = e->meter.cost_ns, p = e->cfg.tick_ns;
	uint64_t t = add_sat(e->st.cur.t_ns, add_sat(e->cfg.event_ns,
						      c - e->last_os_cost));
	e->st.cur.t_ns = t;
	e->last_os_cost = c;
	if (t < e->next_tick || !p)
		return 0;
	if ((t - e->next_tick) / p > TICK_CATCHUP)
		e->next_tick += ((t - e->next_tick) / p - TICK_CATCHUP) * p;
	while (t >= e->next_tick) {
		strat_tick(&e->strat, e->next_tick);
		if (e->next_tick > UINT64_MAX - p) {
			e->next_tick = UINT64_MAX;   /* the end of time */
			break;
		}
		e->next_tick += p;
	}
	return 1;
}

/* After every event: the OS gauges, its cost and the OOM flag, read
 * again only when the address space says they may have changed (most
 * events make no call and no page fault). */
static void read_os_gauges(struct engine *e)
{
	if (*e->os_version == e->meter_version)
		return;
	e->meter_version = *e->os_version;
	e->os_moved = 1;
	simos_read_meter(e->os, &e->meter);
	e->st.cur.heap_bytes = e->meter.heap_bytes;
	e->st.cur.rss_bytes = e->meter.rss_bytes;
	e->st.cur.released_bytes = e->meter.released_bytes;
}

static int periodic_check(struct engine *e, struct sim_err *err)
{
	if (!e->cfg.check || !e->cfg.check_every || e->st.events < e->next_check)
		return SIM_OK;
	e->next_check += e->cfg.check_every;
	int rc = strat_check(&e->strat, err);
	return rc != SIM_OK ? blame(e, SIM_ECHECK, 1, err) : SIM_OK;
}

/* The gauges after an event that happened: peaks and held peak rows.
 * Inline: it runs once an event. */
static inline void note_gauges(struct engine *e)
{
	unsigned news = stats_observe_os(&e->st, e->os_moved);
	e->os_moved = 0;
	if (__builtin_expect(news != 0, 0) && e->series) {
		if (news & STATS_NEW_LIVE_PEAK)
			hold_peak(e, &e->peak_live);
		if (news & STATS_NEW_HEAP_PEAK)
			hold_peak(e, &e->peak_heap);
	}
}

/* At next_due: the series row and the strategy check that are due. */
static int observe_due(struct engine *e, struct sim_err *err)
{
	if (e->cfg.sample_every && e->st.events >= e->next_sample) {
		e->next_sample += e->cfg.sample_every;
		int rc = write_sample(e, err);
		if (rc != SIM_OK)
			return rc;
	}
	return periodic_check(e, err);
}

/* ---- checkpoints ----------------------------------------------------------- */

/* The row of a checkpoint after event cur.event: held peak rows up to that
 * event first, then this row even when a row of the same event is in the
 * file already (that one shows the state before the checkpoint). */
static int checkpoint_row(struct engine *e, struct sim_err *err)
{
	read_os_gauges(e);
	struct series_row row;
	fill_row(e, &row, e->counters);
	if (!e->series)
		return SIM_OK;
	int rc = flush_peaks(e, row.g.event + 1, err);
	if (rc != SIM_OK)
		return rc;
	e->rows++;
	e->last_row_event = row.g.event;
	return series_write(e->series, &row, err);
}

int engine_checkpoint(struct engine *e, struct sim_err *err)
{
	strat_flush(&e->strat);
	return checkpoint_row(e, err);
}

int engine_free_os_memory(struct engine *e, struct sim_err *err)
{
	int rc = e->gc ? gc_forced(e, err) : pools_cleanup(e, err);
	if (rc != SIM_OK)
		return rc;
	strat_release_os(&e->strat);
	return checkpoint_row(e, err);
}

/* After an event whose gauges are read already: the peaks, then what is
 * due - a series row, the strategy check, and last a checkpoint when the
 * configuration asks for one. */
static int observe(struct engine *e, const struct sim_event *ev,
		   struct sim_err *err)
{
	note_gauges(e);
	int ckpt = ev->kind == EV_GC && e->cfg.checkpoint_gc;
	if (e->st.events >= e->next_due) {
		int rc = observe_due(e, err);
		if (rc != SIM_OK)
			return rc;
		if (e->st.events >= e->next_ckpt) {
			e->next_ckpt += e->cfg.checkpoint_every;
			ckpt = 1;
		}
		set_next_due(e);
	}
	return ckpt ? engine_checkpoint(e, err) : SIM_OK;
}

int engine_step(struct engine *e, const struct sim_event *ev,
		struct sim_err *err)
{
	e->st.cur.event = e->st.events;
	int rc = dispatch(e, ev, err);
	if (rc == SIM_OK && e->gc)
		rc = gc_maybe(e, ev->kind == EV_ALLOC || ev->kind == EV_CALLOC ||
				 ev->kind == EV_MEMALIGN || ev->kind == EV_REALLOC, err);
	if (rc != SIM_OK)
		return rc;
	e->st.events++;
	read_os_gauges(e);
	if (advance_clock(e))
		read_os_gauges(e);
	if (e->meter.oom_killed) {
		note_gauges(e);      /* the killing write happened: its peaks count */
		return out_of_memory(e, ev, err);
	}
	return observe(e, ev, err);
}

void engine_prefetch(const struct engine *e, const struct sim_event *ev)
{
	objtab_prefetch(&e->objs, ev->kind == EV_REALLOC && !ev->id ? ev->id2
								    : ev->id);
}

/* A run whose final check fails still has results: the series is written,
 * and the check's failure is returned after it (an I/O error first). */
int engine_finish(struct engine *e, struct sim_err *err)
{
	int rc = SIM_OK, check = SIM_OK;
	struct sim_err cerr;
	sim_err_clear(&cerr);
	if (e->cfg.check)
		check = strat_check(&e->strat, &cerr);
	read_os_gauges(e);
	struct series_row row;
	fill_row(e, &row, e->counters);
	e->st.cache_hits = e->strat.ix_cache_hits >= 0
				   ? e->counters[e->strat.ix_cache_hits] : 0;
	e->st.cache_misses = e->strat.ix_cache_misses >= 0
				     ? e->counters[e->strat.ix_cache_misses] : 0;
	if (e->series) {
		if (rc == SIM_OK)
			rc = flush_peaks(e, UINT64_MAX, err);
		if (rc == SIM_OK)
			rc = put_row(e, &row, err);
		if (rc == SIM_OK)
			rc = series_close(e->series, err);
		else
			series_abort(e->series);
		e->series = NULL;
	}
	if (rc == SIM_OK && check != SIM_OK)
		rc = SIM_ERR(err, SIM_ECHECK, "at the end: strategy %s: %s",
			     e->strat.ops->name, cerr.msg);
	return rc;
}

/* ---- queries ------------------------------------------------------------- */

const struct sim_stats *engine_stats(const struct engine *e)
{
	return &e->st;
}

const struct simos *engine_os(const struct engine *e)
{
	return e->os;
}

void engine_set_faults(struct engine *e, const struct simos_faults *f)
{
	simos_set_faults(e->os, f);
}

const uint64_t *engine_counters(struct engine *e)
{
	strat_counters(&e->strat, e->counters);
	return e->counters;
}

size_t engine_counter_count(const struct engine *e)
{
	return e->strat.ncounters;
}

const char *const *engine_counter_names(const struct engine *e)
{
	return e->strat.ops->counter_names;
}

int engine_object_live(const struct engine *e, uint64_t id)
{
	return objtab_find(&e->objs, id) != NULL;
}

int engine_reclaim(const struct engine *e)
{
	return e->reclaim;
}

uint64_t engine_host_bytes_peak(const struct engine *e)
{
	return e->host_peak + objtab_host_bytes(&e->objs);
}
