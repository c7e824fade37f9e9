/*
 * lua_sim.c - Lua 5.4 workloads: every binding, the simulated threads and
 * the source that drives one engine from a script.  This is the only file
 * that includes the Lua headers.
 *
 * A workload drives the engine synchronously: a binding such as alloc()
 * builds one struct sim_event and calls engine_step at once, so a binding
 * can ask the engine for state.  Objects are integer handles, dense from 1
 * per run, as in the trace format.  An error from engine_step becomes a Lua
 * error at the script's line; once the engine has ended the run (out of
 * memory, failed check) every later event raises the same error, even
 * under pcall.
 *
 * Simulated threads are coroutines.  The main chunk is the setup context
 * (thread id 0); spawn() queues threads, and they run when the main chunk
 * calls wait(), blocks on a channel, or returns.  A thread runs for a
 * quantum of N events and then yields to the next: round-robin, or a
 * thread drawn from the "@schedule" stream with a quantum drawn from
 * 1..2N-1 (--schedule random).  Blocking (channel recv/send, sleep) yields
 * too.  The script's clock (now()) advances by event_ns per event and by
 * sleep/work; it does not depend on the strategy, so the event stream of a
 * script is the same for every strategy.  When every thread sleeps, the
 * clock jumps to the earliest wake-up and the engine gets one EV_CLOCK.
 *
 * The run context is the allocator userdata of the Lua state and the first
 * upvalue of every binding; there is no C global.  The state's memory is
 * counted and capped (256 MiB by default), an instruction-count hook
 * enforces --max-instructions and notices Ctrl-C.
 *
 * The file is longer than our usual 1,500 lines: every binding lives here
 * (style convention 14), and so do the bulk generators, whose loops raise
 * Lua errors mid-run and keep their memory in Lua-collected userdata.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "engine.h"
#include "event.h"
#include "pool.h"
#include "rng.h"
#include "run.h"
#include "sweep.h"
#include "trace.h"

#define DEFAULT_QUANTUM 100
#define DEFAULT_LUA_MEMORY ((uint64_t)256 << 20)
#define HOOK_EVERY 10000
#define MT_RNG "allocsim.rng"
#define MT_DIST "allocsim.dist"
#define MT_CHAN "allocsim.channel"
#define MT_SET "allocsim.set"
#define MT_POOL "allocsim.pool"
#define REG_STREAMS "allocsim.streams"

/* ---- ID maps: live handles -> size, trace IDs -> handles --------------- */

struct slot {
	uint64_t key, val;   /* key 0: empty */
};

struct idmap {
	struct slot *s;
	uint64_t mask, count;
	unsigned shift;
};

static int idmap_init(struct idmap *m, unsigned log2cap)
{
	m->s = calloc((size_t)1 << log2cap, sizeof *m->s);
	m->mask = ((uint64_t)1 << log2cap) - 1;
	m->count = 0;
	m->shift = 64 - log2cap;
	return m->s ? 0 : -1;
}

static uint64_t idmap_home(const struct idmap *m, uint64_t key)
{
	return (key * UINT64_C(0x9E3779B97F4A7C15)) >> m->shift;
}

static struct slot *idmap_find(const struct idmap *m, uint64_t key)
{
	for (uint64_t i = idmap_home(m, key);; i = (i + 1) & m->mask) {
		if (m->s[i].key == key)
			return &m->s[i];
		if (m->s[i].key == 0)
			return NULL;
	}
}

static void idmap_place(struct idmap *m, uint64_t key, uint64_t val)
{
	uint64_t i = idmap_home(m, key);
	while (m->s[i].key)
		i = (i + 1) & m->mask;
	m->s[i] = (struct slot){key, val};
	m->count++;
}

/* Insert key (absent).  0, or -1 when out of host memory. */
static int idmap_put(struct idmap *m, uint64_t key, uint64_t val)
{
	if ((m->count + 1) * 2 > m->mask + 1) {
		struct idmap n;
		if (idmap_init(&n, 64 - m->shift + 1) != 0)
			return -1;
		for (uint64_t i = 0; i <= m->mask; i++)
			if (m->s[i].key)
				idmap_place(&n, m->s[i].key, m->s[i].val);
		free(m->s);
		*m = n;
	}
	idmap_place(m, key, val);
	return 0;
}

/* Remove the entry at sl, shifting later entries of its run back. */
static void idmap_del(struct idmap *m, struct slot *sl)
{
	uint64_t i = (uint64_t)(sl - m->s), j = i;
	for (;;) {
		j = (j + 1) & m->mask;
		if (m->s[j].key == 0)
			break;
		uint64_t home = idmap_home(m, m->s[j].key);
		if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
			m->s[i] = m->s[j];
			i = j;
		}
	}
	m->s[i].key = 0;
	m->count--;
}

/* ---- the run context ---------------------------------------------------- */

enum { T_READY, T_RECV, T_SEND, T_SLEEP, T_DONE };

struct lchan {
	lua_Integer head, tail;  /* items are uservalue[head .. tail-1] */
	lua_Integer cap;         /* 0: unbounded */
	int closed;
};

struct lthread {
	lua_State *co;
	int ref;                 /* registry anchor of co */
	uint32_t tid;
	int state;
	int started, nargs;
	uint64_t wake;           /* T_SLEEP: script clock to wake at */
	struct lchan *ch;        /* T_RECV, T_SEND */
};

struct lctx {
	lua_State *L;
	char path[4096], dir[4096];
	uint64_t seed;
	struct workload_opts wl;
	char *wused;             /* which -w parameters param() read */
	struct engine *e;
	volatile sig_atomic_t *stop;
	int rc;                  /* sticky: why the run is over, or SIM_OK */
	struct sim_err err;      /* its message */
	uint64_t next_id, events, vclock, instr;
	uint64_t lmem, lmem_max;
	int lmem_hit;
	struct idmap live;       /* handle -> requested size */
	struct idmap pooled;     /* handles handed to a pool -> size */
	uint64_t pooled_kept;    /* pooled.count after the last prune */
	struct lthread *th;
	size_t nth, cap, ndone, rr;
	long cur;                /* index of the running thread, or -1 */
	uint64_t qleft;          /* events left in its quantum */
	uint32_t next_tid;
	struct rng *sched;
	size_t *scratch;
};

static struct lctx *ctx_of(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

static uint32_t cur_tid(const struct lctx *c)
{
	return c->cur >= 0 ? c->th[c->cur].tid : 0;
}

/* The context, after checking that a running thread made the call. */
static struct lctx *ctx_check(lua_State *L, const char *fn)
{
	struct lctx *c = ctx_of(L);
	if (c->cur >= 0 && L != c->th[c->cur].co)
		luaL_error(L, "%s: called outside a simulated thread while threads "
			   "run (from a plain coroutine inside thread %d?)", fn,
			   (int)c->th[c->cur].tid);
	return c;
}

/* ---- the Lua state's memory and instruction budget ---------------------- */

static void *lalloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct lctx *c = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		c->lmem -= old;
		return NULL;
	}
	if (nsize > old && c->lmem + (nsize - old) > c->lmem_max) {
		c->lmem_hit = 1;
		return NULL;
	}
	void *q = realloc(ptr, nsize);
	if (q)
		c->lmem = c->lmem - old + nsize;
	return q;
}

static struct lctx *ctx_of_state(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	return ud;
}

/* Raise msg at the line running now (a hook has no caller level). */
static void hook_error(lua_State *L, const char *msg)
{
	lua_Debug ar;
	if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "Sl", &ar) &&
	    ar.currentline > 0)
		luaL_error(L, "%s:%d: %s", ar.short_src, ar.currentline, msg);
	luaL_error(L, "%s", msg);
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	struct lctx *c = ctx_of_state(L);
	c->instr += HOOK_EVERY;
	if (c->stop && *c->stop) {
		c->rc = SIM_EINTR;
		SIM_ERR(&c->err, SIM_EINTR, "%s: interrupted", c->path);
		hook_error(L, "interrupted");
	}
	if (c->wl.max_instructions && c->instr > c->wl.max_instructions) {
		char msg[160];
		snprintf(msg, sizeof msg, "instruction budget exceeded (%" PRIu64
			 " Lua instructions; raise it with --max-instructions)",
			 c->wl.max_instructions);
		hook_error(L, msg);
	}
}

/* ---- events -------------------------------------------------------------- */

/* End the run with rc and c->err, raising it at the caller's line. */
static void run_over(lua_State *L, struct lctx *c, int rc)
{
	luaL_where(L, 1);
	const char *where = lua_tostring(L, -1);
	char msg[sizeof c->err.msg];
	snprintf(msg, sizeof msg, "%s", c->err.msg);
	if (strncmp(msg, where, strlen(where)) != 0)
		SIM_ERR(&c->err, rc, "%s%s", where, msg);
	c->rc = rc;
	lua_pushstring(L, c->err.msg);
	lua_error(L);
}

/* Raise unless the run is on: once lsim_drive returns the engine may be
 * gone, yet lua_close still runs __gc metamethods, which may call us. */
static void need_engine(lua_State *L, const struct lctx *c)
{
	if (!c->e)
		luaL_error(L, "the run is over (a __gc metamethod at the end?)");
}

/* Hand ev to the engine.  Raises a Lua error when the run is over. */
static void step(lua_State *L, struct lctx *c, const struct sim_event *ev)
{
	need_engine(L, c);
	if (c->rc != SIM_OK) {
		lua_pushstring(L, c->err.msg);
		lua_error(L);
	}
	if (c->wl.max_events && c->events >= c->wl.max_events) {
		SIM_ERR(&c->err, SIM_ESCRIPT, "event budget exhausted (%" PRIu64
			" events; raise it with --max-events)", c->wl.max_events);
		run_over(L, c, SIM_ESCRIPT);
	}
	int rc = engine_step(c->e, ev, &c->err);
	if (rc != SIM_OK)
		run_over(L, c, rc);
	c->events++;
	if (ev->kind != EV_CLOCK && ev->kind != EV_PHASE)
		c->vclock += c->wl.event_ns;
	if (c->qleft)
		c->qleft--;
	if ((c->events & 0xffff) == 0 && c->stop && *c->stop) {
		SIM_ERR(&c->err, SIM_EINTR, "interrupted");
		run_over(L, c, SIM_EINTR);
	}
}

/* Advance the engine's clock by ns (one EV_CLOCK) and the script's. */
static void clock_by(lua_State *L, struct lctx *c, uint64_t ns)
{
	struct sim_event ev = {.kind = EV_CLOCK, .tid = cur_tid(c)};
	need_engine(L, c);
	ev.size = engine_stats(c->e)->cur.t_ns + ns;
	step(L, c, &ev);
	c->vclock += ns;
}

static int k_results(lua_State *L, int status, lua_KContext k)
{
	(void)L;
	(void)status;
	return (int)k;
}

/* Return nres results, first yielding when the thread's quantum is over. */
static int done(lua_State *L, struct lctx *c, int nres)
{
	if (c->cur >= 0 && c->qleft == 0 && lua_isyieldable(L))
		return lua_yieldk(L, 0, nres, k_results);
	return nres;
}

/* ---- argument checks ----------------------------------------------------- */

/* A size argument: a number >= 0, rounded, at most SIM_MAX_SIZE. */
static uint64_t size_from(lua_State *L, double v, const char *fn)
{
	if (isnan(v))
		luaL_error(L, "%s: size is not a number (nan)", fn);
	if (v < 0)
		luaL_error(L, "%s: negative size %f", fn, v);
	if (v >= 0 && v < 1e-300)
		return 0;
	if (v > (double)SIM_MAX_SIZE)
		luaL_error(L, "%s: size %f is absurd (more than 2^48 bytes)", fn, v);
	return (uint64_t)floor(v + 0.5);
}

static uint64_t check_size(lua_State *L, int i, const char *fn)
{
	if (lua_isinteger(L, i)) {
		lua_Integer n = lua_tointeger(L, i);
		if (n < 0)
			luaL_error(L, "%s: negative size %I", fn, n);
		if ((uint64_t)n <= SIM_MAX_SIZE)
			return (uint64_t)n;
	}
	return size_from(L, luaL_checknumber(L, i), fn);
}

/* The live slot of handle argument i. */
static struct slot *check_handle(lua_State *L, struct lctx *c, int i,
				 const char *fn)
{
	lua_Integer h = luaL_checkinteger(L, i);
	if (h <= 0 || (uint64_t)h >= c->next_id)
		luaL_error(L, "%s: %I is not a handle of this run", fn, h);
	struct slot *sl = idmap_find(&c->live, (uint64_t)h);
	if (!sl && idmap_find(&c->pooled, (uint64_t)h))
		luaL_error(L, "%s: object %I was handed to a pool by put (it is "
			   "the pool's until a get returns it)", fn, h);
	if (!sl)
		luaL_error(L, "%s: object %I is not live (already freed, replaced "
			   "by realloc, or owned by a generator)", fn, h);
	return sl;
}

static void live_add(lua_State *L, struct lctx *c, uint64_t id, uint64_t size)
{
	if (idmap_put(&c->live, id, size) != 0)
		luaL_error(L, "out of host memory");
}

static int opt_bool(lua_State *L, int t, const char *key, int *out)
{
	int ty = lua_getfield(L, t, key);
	if (ty != LUA_TNIL)
		*out = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return ty != LUA_TNIL;
}

/* Raise for any key of table t not in names (NULL-terminated). */
static void check_keys(lua_State *L, int t, const char *fn,
		       const char *const *names)
{
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
							      : NULL;
		const char *const *n = names;
		while (k && *n && strcmp(*n, k) != 0)
			n++;
		if (!k || !*n)
			luaL_error(L, "%s: unknown option '%s'", fn,
				   k ? k : luaL_typename(L, -1));
	}
}

/* ---- objects --------------------------------------------------------------- */

/* One option of alloc's table (key at -2, value at -1). */
static void alloc_opt(lua_State *L, const char *k, int *zero, int *scan,
		      int *noscan, struct sim_event *ev)
{
	int ok;
	if (strcmp(k, "zero") == 0)
		*zero = lua_toboolean(L, -1);
	else if (strcmp(k, "noscan") == 0)
		*noscan = lua_toboolean(L, -1);
	else if (strcmp(k, "scan") == 0)
		*scan = lua_toboolean(L, -1);
	else if (strcmp(k, "align") == 0) {
		lua_Integer a = lua_tointegerx(L, -1, &ok);
		if (!ok || a <= 0 || (a & (a - 1)) || a > ((lua_Integer)1 << 30))
			luaL_error(L, "alloc: align must be a power of two up to 1 GiB");
		ev->align = (uint64_t)a;
	} else
		luaL_error(L, "alloc: unknown option '%s'", k);
}

/* alloc's options table at index 2, in one pass. */
static void alloc_opts(lua_State *L, struct sim_event *ev)
{
	luaL_checktype(L, 2, LUA_TTABLE);
	int zero = 0, scan = -1, noscan = -1;
	lua_pushnil(L);
	while (lua_next(L, 2)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2)
							      : "(not a string)";
		alloc_opt(L, k, &zero, &scan, &noscan, ev);
		lua_pop(L, 1);
	}
	if (scan >= 0 && noscan >= 0 && scan == noscan)
		luaL_error(L, "alloc: scan and noscan contradict each other");
	ev->flags = noscan == 1 || scan == 0 ? STRAT_NOSCAN : 0;
	ev->kind = ev->align ? EV_MEMALIGN : zero ? EV_CALLOC : EV_ALLOC;
	ev->flags |= ev->align && zero ? STRAT_ZERO : 0;
}

static int l_alloc(lua_State *L)
{
	struct lctx *c = ctx_check(L, "alloc");
	struct sim_event ev = {.kind = EV_ALLOC, .tid = cur_tid(c)};
	ev.size = check_size(L, 1, "alloc");
	if (!lua_isnoneornil(L, 2))
		alloc_opts(L, &ev);
	ev.id = c->next_id;
	step(L, c, &ev);
	c->next_id++;
	live_add(L, c, ev.id, ev.size);
	lua_pushinteger(L, (lua_Integer)ev.id);
	return done(L, c, 1);
}

static int l_free(lua_State *L)
{
	struct lctx *c = ctx_check(L, "free");
	struct slot *sl = check_handle(L, c, 1, "free");
	struct sim_event ev = {.kind = EV_FREE, .tid = cur_tid(c), .id = sl->key};
	step(L, c, &ev);
	idmap_del(&c->live, sl);
	return done(L, c, 0);
}

static int l_realloc(lua_State *L)
{
	struct lctx *c = ctx_check(L, "realloc");
	struct slot *sl = check_handle(L, c, 1, "realloc");
	struct sim_event ev = {.kind = EV_REALLOC, .tid = cur_tid(c),
			       .id = sl->key, .id2 = c->next_id};
	ev.size = check_size(L, 2, "realloc");
	step(L, c, &ev);
	c->next_id++;
	idmap_del(&c->live, sl);
	live_add(L, c, ev.id2, ev.size);
	lua_pushinteger(L, (lua_Integer)ev.id2);
	return done(L, c, 1);
}

static int l_size(lua_State *L)
{
	struct lctx *c = ctx_check(L, "size");
	lua_pushinteger(L, (lua_Integer)check_handle(L, c, 1, "size")->val);
	return 1;
}

/* ---- time, phases, collections, parameters -------------------------------- */

static uint64_t check_ns(lua_State *L, int i, const char *fn)
{
	double v = luaL_checknumber(L, i);
	if (!(v >= 0) || v > 1e18)
		luaL_error(L, "%s: %f ns is not a duration (0 .. 1e18)", fn, v);
	return (uint64_t)v;
}

static int l_work(lua_State *L)
{
	struct lctx *c = ctx_check(L, "work");
	clock_by(L, c, check_ns(L, 1, "work"));
	return done(L, c, 0);
}

static int l_sleep(lua_State *L)
{
	struct lctx *c = ctx_check(L, "sleep");
	uint64_t ns = check_ns(L, 1, "sleep");
	if (c->cur < 0) {
		clock_by(L, c, ns);
		return 0;
	}
	c->th[c->cur].state = T_SLEEP;
	c->th[c->cur].wake = c->vclock + ns;
	return lua_yieldk(L, 0, 0, k_results);
}

static int l_now(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)ctx_of(L)->vclock);
	return 1;
}

static int l_phase(lua_State *L)
{
	struct lctx *c = ctx_check(L, "phase");
	struct sim_event ev = {.kind = EV_PHASE, .tid = cur_tid(c)};
	ev.label = luaL_checkstring(L, 1);
	step(L, c, &ev);
	return done(L, c, 0);
}

static int l_gc(lua_State *L)
{
	struct lctx *c = ctx_check(L, "gc");
	struct sim_event ev = {.kind = EV_GC, .tid = cur_tid(c)};
	step(L, c, &ev);
	return done(L, c, 0);
}

/* faults{mmap=, brk=, madvise=, mremap=, every_mmap=, every_brk=,
 * max_mapped=}: the simulated OS's fault plan from now on (counts start
 * at this call; faults{} clears the plan; without max_mapped the cap is
 * the run's default, ENGINE_MAPPED_MAX). */
static int l_faults(lua_State *L)
{
	struct lctx *c = ctx_check(L, "faults");
	struct simos_faults f = {.max_mapped_bytes = ENGINE_MAPPED_MAX};
	struct sim_err err;
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		int ok;
		lua_Integer v = lua_tointegerx(L, -1, &ok);
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2)
							      : "(not a string)";
		if (!ok || v < 0)
			return luaL_error(L, "faults: %s must be an integer >= 1", k);
		if (simos_fault_set(&f, k, (uint64_t)v, &err) != SIM_OK)
			return luaL_error(L, "faults: %s", err.msg);
		lua_pop(L, 1);
	}
	need_engine(L, c);
	engine_set_faults(c->e, &f);
	return 0;
}

/* Push -w value text v converted like the default at index 2. */
static void push_param(lua_State *L, const char *name, const char *v)
{
	int def = lua_type(L, 2);
	if (def == LUA_TSTRING)
		lua_pushstring(L, v);
	else if (def == LUA_TBOOLEAN)
		lua_pushboolean(L, strcmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
				       strcmp(v, "on") == 0 || strcmp(v, "yes") == 0);
	else if (lua_stringtonumber(L, v) == 0) {
		if (def == LUA_TNUMBER)
			luaL_error(L, "-w %s=%s: not a number", name, v);
		lua_pushstring(L, v);
	}
}

static int l_param(lua_State *L)
{
	struct lctx *c = ctx_of(L);
	const char *name = luaL_checkstring(L, 1);
	size_t n = strlen(name);
	for (size_t i = c->wl.nparams; i-- > 0;) {
		const char *p = c->wl.params[i];
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			c->wused[i] = 1;
			push_param(L, name, p + n + 1);
			return 1;
		}
	}
	lua_settop(L, 2);
	return 1;
}

/* ---- threads and the scheduler ----------------------------------------------- */

static int l_spawn(lua_State *L)
{
	struct lctx *c = ctx_check(L, "spawn");
	luaL_checktype(L, 1, LUA_TFUNCTION);
	int n = lua_gettop(L);
	if (c->nth == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		void *t = realloc(c->th, cap * sizeof *c->th);
		void *s = realloc(c->scratch, cap * sizeof *c->scratch);
		if (t)
			c->th = t;
		if (s)
			c->scratch = s;
		if (!t || !s)
			return luaL_error(L, "out of host memory");
		c->cap = cap;
	}
	lua_State *co = lua_newthread(L);
	lua_insert(L, 1);
	lua_xmove(L, co, n);
	struct lthread *t = &c->th[c->nth++];
	*t = (struct lthread){co, luaL_ref(L, LUA_REGISTRYINDEX), ++c->next_tid,
			      T_READY, 0, n - 1, 0, NULL};
	lua_pushinteger(L, t->tid);
	return 1;
}

static int l_thread_id(lua_State *L)
{
	lua_pushinteger(L, cur_tid(ctx_of(L)));
	return 1;
}

static int runnable(const struct lctx *c, const struct lthread *t)
{
	switch (t->state) {
	case T_READY: return 1;
	case T_RECV: return t->ch->tail > t->ch->head || t->ch->closed;
	case T_SEND:
		return t->ch->closed || t->ch->tail - t->ch->head < t->ch->cap;
	case T_SLEEP: return c->vclock >= t->wake;
	default: return 0;
	}
}

/* The next thread to run and its quantum; -1 when none can run. */
static long pick(struct lctx *c)
{
	uint64_t q = c->wl.quantum;
	if (c->wl.schedule == WL_SCHED_RANDOM) {
		size_t n = 0;
		for (size_t i = 0; i < c->nth; i++)
			if (runnable(c, &c->th[i]))
				c->scratch[n++] = i;
		if (n == 0)
			return -1;
		c->qleft = (uint64_t)rng_int(c->sched, 1, (int64_t)(2 * q - 1));
		return (long)c->scratch[rng_int(c->sched, 0, (int64_t)n - 1)];
	}
	for (size_t k = 0; k < c->nth; k++) {
		size_t i = (c->rr + k) % c->nth;
		if (runnable(c, &c->th[i])) {
			c->rr = i + 1;
			c->qleft = q;
			return (long)i;
		}
	}
	return -1;
}

/* Drop finished threads from the table (only between turns). */
static void compact(struct lctx *c)
{
	size_t j = 0;
	for (size_t i = 0; i < c->nth; i++)
		if (c->th[i].state != T_DONE)
			c->th[j++] = c->th[i];
	c->nth = j;
	c->ndone = 0;
	c->rr = 0;
}

/* Push the text of error object idx of L: a string as it is; a number,
 * a __tostring value or "(error object is a T value)" (never a host
 * address) after "FILE:LINE: " of the innermost Lua function of from's
 * stack from level up. */
static const char *error_text(lua_State *L, int idx, lua_State *from,
			      int level)
{
	idx = lua_absindex(L, idx);
	int t = lua_type(L, idx);
	if (t == LUA_TSTRING)
		return lua_pushvalue(L, idx), lua_tostring(L, -1);
	if (t == LUA_TNUMBER || luaL_getmetafield(L, idx, "__tostring")) {
		if (t != LUA_TNUMBER)
			lua_pop(L, 1);   /* the metafield */
		luaL_tolstring(L, idx, NULL);
	} else {
		lua_pushfstring(L, "(error object is a %s value)",
				luaL_typename(L, idx));
	}
	lua_Debug ar;
	while (lua_getstack(from, level++, &ar))
		if (lua_getinfo(from, "Sl", &ar) && ar.currentline > 0) {
			lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
			lua_insert(L, -2);
			lua_concat(L, 2);
			break;
		}
	return lua_tostring(L, -1);
}

/* Push the error of thread t (its coroutine is dead) onto L. */
static void push_thread_error(lua_State *L, struct lthread *t)
{
	lua_xmove(t->co, L, 1);
	const char *msg = error_text(L, -1, t->co, 0);
	if (strstr(msg, "\nstack traceback:"))
		lua_pushfstring(L, "%s", msg);
	else
		luaL_traceback(L, t->co, msg, 0);
	lua_pushfstring(L, "\n(in simulated thread %d)", (int)t->tid);
	lua_concat(L, 2);
}

static void resume(lua_State *L, struct lctx *c, long i)
{
	struct lthread *t = &c->th[i];
	int nargs = t->started ? 0 : t->nargs, nres;
	t->started = 1;
	t->state = T_READY;
	c->cur = i;
	int st = lua_resume(t->co, L, nargs, &nres);
	c->cur = -1;
	t = &c->th[i];   /* spawn may have moved the table */
	if (st == LUA_YIELD) {
		lua_pop(t->co, nres);
		return;
	}
	if (st != LUA_OK)
		push_thread_error(L, t);
	t->state = T_DONE;   /* also after an error: a pcall(wait) goes on */
	luaL_unref(L, LUA_REGISTRYINDEX, t->ref);
	if (++c->ndone > 64 && 2 * c->ndone > c->nth)
		compact(c);
	if (st != LUA_OK)
		lua_error(L);
}

/* When every thread sleeps: jump the clock to the first wake-up. */
static int wake_sleepers(lua_State *L, struct lctx *c)
{
	uint64_t wake = UINT64_MAX;
	for (size_t i = 0; i < c->nth; i++)
		if (c->th[i].state == T_SLEEP && c->th[i].wake < wake)
			wake = c->th[i].wake;
	if (wake == UINT64_MAX)
		return 0;
	clock_by(L, c, wake - c->vclock);
	return 1;
}

static void deadlock(lua_State *L, struct lctx *c, const char *who)
{
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	lua_pushfstring(L, "deadlock: %s, and no thread can run:", who);
	luaL_addvalue(&b);
	for (size_t i = 0, n = 0; i < c->nth && n < 4; i++) {
		struct lthread *t = &c->th[i];
		lua_Debug ar;
		if (t->state == T_DONE)
			continue;
		n++;
		int ok = lua_getstack(t->co, 1, &ar) && lua_getinfo(t->co, "Sl", &ar);
		lua_pushfstring(L, " thread %d waits in %s at %s:%d;", (int)t->tid,
				t->state == T_RECV ? "recv" : "send",
				ok ? ar.short_src : "?", ok ? ar.currentline : 0);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	luaL_where(L, 1);
	if (lua_rawlen(L, -1) == 0)   /* the wait after the main chunk */
		lua_pushfstring(L, "%s: ", c->path);
	else
		lua_pushliteral(L, "");
	lua_concat(L, 2);
	lua_insert(L, -2);
	lua_concat(L, 2);
	lua_error(L);
}

/* Run threads until every one is done or until(arg) holds. */
static void schedule(lua_State *L, struct lctx *c, int (*until)(void *),
		     void *arg, const char *who)
{
	while (c->ndone < c->nth) {
		if (until && until(arg))
			return;
		long i = pick(c);
		if (i >= 0)
			resume(L, c, i);
		else if (!wake_sleepers(L, c))
			deadlock(L, c, who);
	}
	c->nth = c->ndone = c->rr = 0;
}

static int l_wait(lua_State *L)
{
	struct lctx *c = ctx_check(L, "wait");
	if (c->cur >= 0)
		return luaL_error(L, "wait: only the main script can wait for "
				  "threads (called in thread %d)", (int)cur_tid(c));
	schedule(L, c, NULL, NULL, "main script waits for its threads");
	return 0;
}

/* ---- channels ------------------------------------------------------------------ */

static int l_channel(lua_State *L)
{
	lua_Integer cap = luaL_optinteger(L, 1, 0);
	luaL_argcheck(L, cap >= 0, 1, "capacity must be >= 0 (0: unbounded)");
	struct lchan *ch = lua_newuserdatauv(L, sizeof *ch, 1);
	*ch = (struct lchan){1, 1, cap, 0};
	lua_newtable(L);
	lua_setiuservalue(L, -2, 1);
	luaL_setmetatable(L, MT_CHAN);
	return 1;
}

static int chan_ready_recv(void *p)
{
	struct lchan *ch = p;
	return ch->tail > ch->head || ch->closed;
}

static int chan_ready_send(void *p)
{
	struct lchan *ch = p;
	return ch->closed || ch->cap == 0 || ch->tail - ch->head < ch->cap;
}

/* Block the caller on ch: a thread yields (retrying in k), the main
 * script runs the threads until ch is ready. */
static int chan_block(lua_State *L, struct lctx *c, struct lchan *ch,
		      int state, lua_KFunction k)
{
	if (c->cur >= 0) {
		c->th[c->cur].state = state;
		c->th[c->cur].ch = ch;
		return lua_yieldk(L, 0, 0, k);
	}
	int (*ready)(void *) = state == T_RECV ? chan_ready_recv : chan_ready_send;
	schedule(L, c, ready, ch, state == T_RECV ? "main script waits in recv"
						  : "main script waits in send");
	if (!ready(ch))
		luaL_error(L, "deadlock: main script waits in %s on a channel no "
			   "thread will %s", state == T_RECV ? "recv" : "send",
			   state == T_RECV ? "send to" : "receive from");
	return k(L, LUA_OK, 0);
}

static int k_recv(lua_State *L, int status, lua_KContext kc)
{
	(void)status;
	(void)kc;
	struct lctx *c = ctx_check(L, "recv");
	struct lchan *ch = luaL_checkudata(L, 1, MT_CHAN);
	if (ch->tail == ch->head) {
		if (ch->closed)
			return 0;
		return chan_block(L, c, ch, T_RECV, k_recv);
	}
	lua_getiuservalue(L, 1, 1);
	lua_rawgeti(L, -1, ch->head);
	lua_pushnil(L);
	lua_rawseti(L, -3, ch->head++);
	return 1;
}

static int l_chan_recv(lua_State *L)
{
	return k_recv(L, LUA_OK, 0);
}

static int k_send(lua_State *L, int status, lua_KContext kc)
{
	(void)status;
	(void)kc;
	struct lctx *c = ctx_check(L, "send");
	struct lchan *ch = luaL_checkudata(L, 1, MT_CHAN);
	luaL_argcheck(L, !lua_isnoneornil(L, 2), 2, "cannot send nil");
	if (ch->closed)
		return luaL_error(L, "send: the channel is closed");
	if (!chan_ready_send(ch))
		return chan_block(L, c, ch, T_SEND, k_send);
	lua_getiuservalue(L, 1, 1);
	lua_pushvalue(L, 2);
	lua_rawseti(L, -2, ch->tail++);
	return 0;
}

static int l_chan_send(lua_State *L)
{
	lua_settop(L, 2);
	return k_send(L, LUA_OK, 0);
}

static int l_chan_close(lua_State *L)
{
	luaL_checkudata(L, 1, MT_CHAN);
	((struct lchan *)lua_touserdata(L, 1))->closed = 1;
	return 0;
}

static int l_chan_len(lua_State *L)
{
	struct lchan *ch = luaL_checkudata(L, 1, MT_CHAN);
	lua_pushinteger(L, ch->tail - ch->head);
	return 1;
}

static const luaL_Reg chanlib[] = {
	{"send", l_chan_send},
	{"recv", l_chan_recv},
	{"close", l_chan_close},
	{"len", l_chan_len},
	{NULL, NULL}
};

/* ---- random streams ------------------------------------------------------------ */

struct lstream {
	struct rng *r;
};

/* Push the stream name (created on first use) and return it. */
static struct rng *push_stream(lua_State *L, struct lctx *c, const char *name)
{
	lua_getfield(L, LUA_REGISTRYINDEX, REG_STREAMS);
	if (lua_getfield(L, -1, name) == LUA_TUSERDATA) {
		lua_remove(L, -2);
		return ((struct lstream *)lua_touserdata(L, -1))->r;
	}
	lua_pop(L, 1);
	struct lstream *s = lua_newuserdatauv(L, sizeof *s, 0);
	s->r = NULL;
	luaL_setmetatable(L, MT_RNG);
	struct sim_err err;
	if (rng_open(c->seed, name, &s->r, &err) != SIM_OK)
		luaL_error(L, "%s", err.msg);
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, name);
	lua_remove(L, -2);
	return s->r;
}

static int l_rng(lua_State *L)
{
	push_stream(L, ctx_of(L), luaL_optstring(L, 1, "default"));
	return 1;
}

static struct rng *check_stream(lua_State *L, int i)
{
	return ((struct lstream *)luaL_checkudata(L, i, MT_RNG))->r;
}

/* Push x as an integer when it is one, else as a float. */
static void push_number(lua_State *L, double x)
{
	if (x == floor(x) && fabs(x) < 9007199254740992.0)
		lua_pushinteger(L, (lua_Integer)x);
	else
		lua_pushnumber(L, x);
}

/* Read the parameters of family k from arguments first..; raise if bad. */
static void check_family(lua_State *L, enum rng_kind k, int first, double *p)
{
	for (int i = 0; i < rng_kind_nparams(k); i++)
		p[i] = luaL_checknumber(L, first + i);
	struct sim_err err;
	if (rng_check(k, p, &err) != SIM_OK)
		luaL_error(L, "%s", err.msg);
}

static int draw(lua_State *L, enum rng_kind k)
{
	struct rng *r = check_stream(L, 1);
	double p[2];
	check_family(L, k, 2, p);
	push_number(L, rng_draw(r, k, p));
	return 1;
}

static int l_rng_uniform(lua_State *L)
{
	if (lua_gettop(L) == 1) {
		lua_pushnumber(L, 0);
		lua_pushnumber(L, 1);
	}
	struct rng *r = check_stream(L, 1);
	double p[2];
	check_family(L, RNG_UNIFORM, 2, p);
	lua_pushnumber(L, rng_uniform(r, p[0], p[1]));
	return 1;
}

static int l_rng_int(lua_State *L) { return draw(L, RNG_INT); }
static int l_rng_exponential(lua_State *L) { return draw(L, RNG_EXPONENTIAL); }
static int l_rng_lognormal(lua_State *L) { return draw(L, RNG_LOGNORMAL); }
static int l_rng_pareto(lua_State *L) { return draw(L, RNG_PARETO); }
static int l_rng_geometric(lua_State *L) { return draw(L, RNG_GEOMETRIC); }
static int l_rng_zipf(lua_State *L) { return draw(L, RNG_ZIPF); }

/* Read a sequence of weights at index i into a new userdata buffer. */
static double *check_weights(lua_State *L, int i, size_t *n, double *total)
{
	luaL_checktype(L, i, LUA_TTABLE);
	*n = (size_t)luaL_len(L, i);
	luaL_argcheck(L, *n > 0, i, "no weights");
	double *w = lua_newuserdatauv(L, *n * sizeof *w, 0);
	*total = 0;
	for (size_t k = 0; k < *n; k++) {
		lua_geti(L, i, (lua_Integer)k + 1);
		w[k] = lua_tonumber(L, -1);
		lua_pop(L, 1);
		if (!(w[k] >= 0) || !isfinite(w[k]))
			luaL_error(L, "choice: weight %d is not a number >= 0",
				   (int)k + 1);
		*total += w[k];
	}
	luaL_argcheck(L, *total > 0, i, "weights sum to 0");
	return w;
}

/* r:choice{w...} -> index; r:choice(values, weights) -> value. */
static int l_rng_choice(lua_State *L)
{
	struct rng *r = check_stream(L, 1);
	int values = !lua_isnoneornil(L, 3);
	size_t n;
	double total;
	double *w = check_weights(L, values ? 3 : 2, &n, &total);
	size_t k = rng_choice(r, w, n, total);
	if (!values) {
		lua_pushinteger(L, (lua_Integer)k + 1);
		return 1;
	}
	luaL_checktype(L, 2, LUA_TTABLE);
	lua_geti(L, 2, (lua_Integer)k + 1);
	return 1;
}

struct ldist {
	struct rng_dist *d;
};

static struct rng_dist *check_dist(lua_State *L, int i)
{
	return ((struct ldist *)luaL_checkudata(L, i, MT_DIST))->d;
}

static int l_rng_sample(lua_State *L)
{
	struct rng *r = check_stream(L, 1);
	push_number(L, rng_dist_sample(r, check_dist(L, 2)));
	return 1;
}

static int l_rng_gc(lua_State *L)
{
	struct lstream *s = luaL_checkudata(L, 1, MT_RNG);
	rng_close(s->r);
	s->r = NULL;
	return 0;
}

static const luaL_Reg rnglib[] = {
	{"uniform", l_rng_uniform},
	{"int", l_rng_int},
	{"exponential", l_rng_exponential},
	{"lognormal", l_rng_lognormal},
	{"pareto", l_rng_pareto},
	{"geometric", l_rng_geometric},
	{"zipf", l_rng_zipf},
	{"choice", l_rng_choice},
	{"sample", l_rng_sample},
	{NULL, NULL}
};

/* ---- distribution objects ----------------------------------------------------- */

static struct ldist *new_ldist(lua_State *L)
{
	struct ldist *d = lua_newuserdatauv(L, sizeof *d, 0);
	d->d = NULL;
	luaL_setmetatable(L, MT_DIST);
	return d;
}

static int family(lua_State *L, enum rng_kind k)
{
	double p[2];
	check_family(L, k, 1, p);
	struct ldist *d = new_ldist(L);
	struct sim_err err;
	if (rng_dist_new(k, p, &d->d, &err) != SIM_OK)
		return luaL_error(L, "%s", err.msg);
	return 1;
}

static int l_dist_const(lua_State *L) { return family(L, RNG_CONST); }
static int l_dist_uniform(lua_State *L) { return family(L, RNG_UNIFORM); }
static int l_dist_int(lua_State *L) { return family(L, RNG_INT); }
static int l_dist_exponential(lua_State *L) { return family(L, RNG_EXPONENTIAL); }
static int l_dist_lognormal(lua_State *L) { return family(L, RNG_LOGNORMAL); }
static int l_dist_pareto(lua_State *L) { return family(L, RNG_PARETO); }
static int l_dist_geometric(lua_State *L) { return family(L, RNG_GEOMETRIC); }
static int l_dist_zipf(lua_State *L) { return family(L, RNG_ZIPF); }

static int l_dist_choice(lua_State *L)
{
	size_t n;
	double total;
	luaL_checktype(L, 1, LUA_TTABLE);
	double *w = check_weights(L, 2, &n, &total);
	double *v = lua_newuserdatauv(L, n * sizeof *v, 0);
	for (size_t k = 0; k < n; k++) {
		lua_geti(L, 1, (lua_Integer)k + 1);
		v[k] = luaL_checknumber(L, -1);
		lua_pop(L, 1);
	}
	struct ldist *d = new_ldist(L);
	struct sim_err err;
	if (rng_dist_discrete(v, w, n, &d->d, &err) != SIM_OK)
		return luaL_error(L, "%s", err.msg);
	return 1;
}

/* path relative to the script's folder when such a file exists. */
static const char *resolve(struct lctx *c, const char *path, char *buf,
			   size_t n)
{
	if (path[0] == '/' || !c->dir[0])
		return path;
	snprintf(buf, n, "%s/%s", c->dir, path);
	return access(buf, R_OK) == 0 ? buf : path;
}

static int l_empirical(lua_State *L)
{
	char buf[8300];
	const char *path = resolve(ctx_of(L), luaL_checkstring(L, 1), buf,
				   sizeof buf);
	struct ldist *d = new_ldist(L);
	struct sim_err err;
	if (rng_dist_empirical(path, &d->d, &err) != SIM_OK)
		return luaL_error(L, "%s", err.msg);
	return 1;
}

static int l_dist_mean(lua_State *L)
{
	lua_pushnumber(L, rng_dist_mean(check_dist(L, 1)));
	return 1;
}

static int l_dist_sample(lua_State *L)
{
	struct rng_dist *d = check_dist(L, 1);
	push_number(L, rng_dist_sample(check_stream(L, 2), d));
	return 1;
}

static int l_dist_tostring(lua_State *L)
{
	char buf[128];
	rng_dist_describe(check_dist(L, 1), buf, sizeof buf);
	lua_pushstring(L, buf);
	return 1;
}

static int l_dist_gc(lua_State *L)
{
	struct ldist *d = luaL_checkudata(L, 1, MT_DIST);
	rng_dist_free(d->d);
	d->d = NULL;
	return 0;
}

static const luaL_Reg distlib[] = {
	{"const", l_dist_const},
	{"uniform", l_dist_uniform},
	{"int", l_dist_int},
	{"exponential", l_dist_exponential},
	{"lognormal", l_dist_lognormal},
	{"pareto", l_dist_pareto},
	{"geometric", l_dist_geometric},
	{"zipf", l_dist_zipf},
	{"choice", l_dist_choice},
	{"empirical", l_empirical},
	{NULL, NULL}
};

static const luaL_Reg distmethods[] = {
	{"mean", l_dist_mean},
	{"sample", l_dist_sample},
	{NULL, NULL}
};

/* ---- object sets: what bulk generators leave live ------------------------------ */

struct oent {
	uint64_t id, size;
	uint32_t tid;
};

struct oset {
	struct oent *v;
	size_t n, cap;
	uint64_t bytes;
};

static struct oset *check_set(lua_State *L, int i)
{
	return luaL_checkudata(L, i, MT_SET);
}

static struct oset *new_set(lua_State *L)
{
	struct oset *s = lua_newuserdatauv(L, sizeof *s, 0);
	memset(s, 0, sizeof *s);
	luaL_setmetatable(L, MT_SET);
	return s;
}

static void set_push(lua_State *L, struct oset *s, struct oent e)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		struct oent *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			luaL_error(L, "out of host memory");
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = e;
	s->bytes += e.size;
}

static void free_ent(lua_State *L, struct lctx *c, const struct oent *o)
{
	struct sim_event ev = {.kind = EV_FREE, .tid = o->tid, .id = o->id};
	step(L, c, &ev);
}

/* A draw for a size: a constant or a distribution. */
struct sizer {
	const struct rng_dist *d;
	double k;
	struct rng *r;
};

static uint64_t sizer_next(lua_State *L, struct sizer *z, const char *fn)
{
	double v = z->d ? rng_dist_sample(z->r, z->d) : z->k;
	if (v >= 0 && v < 4503599627370496.0 && v == (double)(uint64_t)v &&
	    v <= (double)SIM_MAX_SIZE)
		return (uint64_t)v;
	return size_from(L, v, fn);
}

/* Field key of table t as a sizer (number or dist); raise if absent and
 * required. */
static int get_sizer(lua_State *L, int t, const char *key, struct sizer *z,
		     int required, const char *fn)
{
	int ty = lua_getfield(L, t, key);
	z->d = NULL;
	z->k = 0;
	if (ty == LUA_TNUMBER)
		z->k = lua_tonumber(L, -1);
	else if (ty == LUA_TUSERDATA && luaL_testudata(L, -1, MT_DIST))
		z->d = check_dist(L, -1);
	else if (ty != LUA_TNIL || required)
		luaL_error(L, "%s: %s must be a number or a dist (got %s)", fn, key,
			   luaL_typename(L, -1));
	lua_pop(L, 1);   /* the dist stays referenced by the table */
	return ty != LUA_TNIL;
}

static uint64_t get_count(lua_State *L, int t, const char *key, uint64_t def,
			  const char *fn)
{
	if (lua_getfield(L, t, key) == LUA_TNIL) {
		lua_pop(L, 1);
		return def;
	}
	int ok;
	lua_Number v = lua_tonumberx(L, -1, &ok);
	if (!ok || !(v >= 0) || v > 1e18)
		luaL_error(L, "%s: %s must be a number >= 0", fn, key);
	lua_pop(L, 1);
	return (uint64_t)v;
}

static const char *get_string(lua_State *L, int t, const char *key,
			      const char *def)
{
	lua_getfield(L, t, key);
	const char *s = lua_isnil(L, -1) ? def : luaL_checkstring(L, -1);
	lua_pop(L, 1);   /* the string stays referenced by the table */
	return s;
}

/* Thread ids for generator events: the caller's, or 1..threads. */
static uint32_t gen_tid(struct lctx *c, uint64_t threads, uint64_t k)
{
	return threads > 1 ? (uint32_t)(1 + k % threads) : cur_tid(c);
}

/* Free n objects of s chosen by how ("random", "oldest", "newest"). */
static void set_drop(lua_State *L, struct lctx *c, struct oset *s, size_t n,
		     const char *how, struct rng *r)
{
	if (n > s->n)
		n = s->n;
	if (strcmp(how, "newest") == 0) {
		for (size_t i = 0; i < n; i++)
			free_ent(L, c, &s->v[s->n - 1 - i]);
	} else if (strcmp(how, "oldest") == 0) {
		for (size_t i = 0; i < n; i++)
			free_ent(L, c, &s->v[i]);
		if (n)   /* an empty set has no array: s->v may be NULL */
			memmove(s->v, s->v + n, (s->n - n) * sizeof *s->v);
	} else if (strcmp(how, "random") == 0) {
		/* Selection sampling (Knuth's algorithm S): keeps order. */
		size_t left = n, j = 0;
		for (size_t i = 0; i < s->n; i++) {
			if (left && (size_t)rng_int(r, 0, (int64_t)(s->n - i) - 1) < left) {
				free_ent(L, c, &s->v[i]);
				left--;
			} else
				s->v[j++] = s->v[i];
		}
	} else
		luaL_error(L, "drop: order '%s' is not random, oldest or newest", how);
	s->n -= n;
	s->bytes = 0;
	for (size_t i = 0; i < s->n; i++)
		s->bytes += s->v[i].size;
}

static int l_set_drop(lua_State *L)
{
	struct lctx *c = ctx_check(L, "drop");
	struct oset *s = check_set(L, 1);
	double f = luaL_checknumber(L, 2);
	luaL_argcheck(L, f >= 0 && f <= 1, 2, "fraction must be in [0, 1]");
	const char *how = luaL_optstring(L, 3, "random");
	struct rng *r = push_stream(L, c, luaL_optstring(L, 4, "drop"));
	set_drop(L, c, s, (size_t)floor(f * (double)s->n + 0.5), how, r);
	return done(L, c, 0);
}

static int l_set_free_all(lua_State *L)
{
	struct lctx *c = ctx_check(L, "free_all");
	struct oset *s = check_set(L, 1);
	set_drop(L, c, s, s->n, "oldest", NULL);
	return done(L, c, 0);
}

static int l_set_count(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)check_set(L, 1)->n);
	return 1;
}

static int l_set_bytes(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)check_set(L, 1)->bytes);
	return 1;
}

static int l_set_gc(lua_State *L)
{
	struct oset *s = check_set(L, 1);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
	return 0;
}

static const luaL_Reg setlib[] = {
	{"drop", l_set_drop},
	{"free_all", l_set_free_all},
	{"count", l_set_count},
	{"bytes", l_set_bytes},
	{NULL, NULL}
};

/* ---- bulk generators ----------------------------------------------------------- */

/* Allocate one object of size z into set s. */
static void gen_alloc(lua_State *L, struct lctx *c, struct oset *s,
		      uint64_t size, uint32_t tid)
{
	struct sim_event ev = {.kind = EV_ALLOC, .tid = tid, .id = c->next_id,
			       .size = size};
	step(L, c, &ev);
	c->next_id++;
	set_push(L, s, (struct oent){ev.id, size, tid});
}

#define GONE UINT32_MAX   /* tid of a set entry freed by ramp_down */

/* Free objects of s (in order how) until its bytes are at most to. */
static void ramp_down(lua_State *L, struct lctx *c, struct oset *s,
		      uint64_t to, const char *how, struct rng *r)
{
	size_t n = 0;
	int random = strcmp(how, "random") == 0, newest = strcmp(how, "newest") == 0;
	if (!random && !newest && strcmp(how, "oldest") != 0)
		luaL_error(L, "ramp: order '%s' is not random, oldest or newest", how);
	while (s->bytes > to && n < s->n) {
		size_t k = newest ? s->n - 1 - n : n;
		if (random)   /* rejection keeps the survivors in order */
			do
				k = (size_t)rng_int(r, 0, (int64_t)s->n - 1);
			while (s->v[k].tid == GONE);
		free_ent(L, c, &s->v[k]);
		s->bytes -= s->v[k].size;
		s->v[k].tid = GONE;
		n++;
	}
	size_t j = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].tid != GONE)
			s->v[j++] = s->v[i];
	s->n = j;
}

/* ramp{to=BYTES, size=, set=, threads=, order=, stream=} -> set */
static int l_ramp(lua_State *L)
{
	static const char *const keys[] = {"to", "size", "set", "threads",
					   "order", "stream", NULL};
	struct lctx *c = ctx_check(L, "ramp");
	luaL_checktype(L, 1, LUA_TTABLE);
	check_keys(L, 1, "ramp", keys);
	struct sizer z;
	uint64_t to = get_count(L, 1, "to", UINT64_MAX, "ramp");
	uint64_t threads = get_count(L, 1, "threads", 1, "ramp");
	const char *how = get_string(L, 1, "order", "random");
	if (to == UINT64_MAX)
		return luaL_error(L, "ramp: 'to' (target live bytes) is required");
	z.r = push_stream(L, c, get_string(L, 1, "stream", "ramp"));
	if (lua_getfield(L, 1, "set") == LUA_TNIL)
		new_set(L);
	struct oset *s = check_set(L, -1);
	int has_size = get_sizer(L, 1, "size", &z, 0, "ramp");
	if (s->bytes < to && !has_size)
		return luaL_error(L, "ramp: growing needs 'size'");
	if (s->bytes < to && !z.d && z.k < 0.5)
		return luaL_error(L, "ramp: size 0 never grows the set");
	if (s->bytes > to)
		ramp_down(L, c, s, to, how, z.r);
	else
		for (uint64_t k = 0; s->bytes < to; k++)
			gen_alloc(L, c, s, sizer_next(L, &z, "ramp"),
				  gen_tid(c, threads, k));
	return done(L, c, 1);
}

/* A pending death in steady's birth-death process. */
struct death {
	uint64_t at, id, size;
	uint32_t tid;
};

struct dheap {
	struct death *v;
	size_t n, cap;
};

static void dheap_push(lua_State *L, struct dheap *h, struct death d)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 1024;
		struct death *v = realloc(h->v, cap * sizeof *v);
		if (!v)
			luaL_error(L, "out of host memory");
		h->v = v;
		h->cap = cap;
	}
	size_t i = h->n++;
	while (i > 0 && h->v[(i - 1) / 2].at > d.at) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = d;
}

static struct death dheap_pop(struct dheap *h)
{
	struct death top = h->v[0], last = h->v[--h->n];
	size_t i = 0;
	for (;;) {
		size_t k = 2 * i + 1;
		if (k >= h->n)
			break;
		if (k + 1 < h->n && h->v[k + 1].at < h->v[k].at)
			k++;
		if (h->v[k].at >= last.at)
			break;
		h->v[i] = h->v[k];
		i = k;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

/* Pending deaths for steady: a timing wheel of lists for the next W
 * allocation times (O(1) a birth or death), a heap for later ones. */
struct wentry {
	uint64_t id, size;
	uint32_t tid, next;      /* next: pool index + 1, 0 ends a list */
};

struct wheel {
	uint32_t *head;          /* W lists, as pool index + 1 */
	struct wentry *pool;
	uint32_t n, cap, freel;
	uint64_t mask;           /* W - 1 */
	struct dheap far;
};

static int wheel_gc(lua_State *L)
{
	struct wheel *w = lua_touserdata(L, 1);
	free(w->head);
	free(w->pool);
	free(w->far.v);
	memset(w, 0, sizeof *w);
	return 0;
}

/* A wheel of at least 8 x mean slots (so few deaths go to the far heap),
 * anchored on the stack. */
static struct wheel *new_wheel(lua_State *L, double mean)
{
	struct wheel *w = lua_newuserdatauv(L, sizeof *w, 0);
	memset(w, 0, sizeof *w);
	lua_newtable(L);
	lua_pushcfunction(L, wheel_gc);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, -2);
	uint64_t slots = 1024;
	while (slots < (1u << 20) && !(8 * mean < (double)slots))
		slots *= 2;
	w->mask = slots - 1;
	if (!(w->head = calloc(slots, sizeof *w->head)))
		luaL_error(L, "out of host memory");
	return w;
}

static void wheel_link(lua_State *L, struct wheel *w, uint64_t at,
		       const struct wentry *e)
{
	uint32_t i;
	if (w->freel) {
		i = w->freel - 1;
		w->freel = w->pool[i].next;
	} else {
		if (w->n == w->cap) {
			uint32_t cap = w->cap ? 2 * w->cap : 1024;
			void *p = realloc(w->pool, (size_t)cap * sizeof *w->pool);
			if (!p || cap < w->cap)
				luaL_error(L, "out of host memory");
			w->pool = p;
			w->cap = cap;
		}
		i = w->n++;
	}
	w->pool[i] = *e;
	w->pool[i].next = w->head[at & w->mask];
	w->head[at & w->mask] = i + 1;
}

static void wheel_push(lua_State *L, struct wheel *w, uint64_t now,
		       uint64_t at, const struct wentry *e)
{
	if (at - now <= w->mask)
		wheel_link(L, w, at, e);
	else
		dheap_push(L, &w->far, (struct death){at, e->id, e->size, e->tid});
}

/* Take one death due at now into out; 0 when none is. */
static int wheel_due(lua_State *L, struct wheel *w, uint64_t now,
		     struct wentry *out)
{
	while (w->far.n && w->far.v[0].at - now <= w->mask) {
		struct death d = dheap_pop(&w->far);
		wheel_link(L, w, d.at, &(struct wentry){d.id, d.size, d.tid, 0});
	}
	uint32_t h = w->head[now & w->mask];
	if (!h)
		return 0;
	*out = w->pool[h - 1];
	w->head[now & w->mask] = out->next;
	w->pool[h - 1].next = w->freel;
	w->freel = h;
	return 1;
}

/* Move every pending death into s, soonest first. */
static void wheel_drain(lua_State *L, struct wheel *w, uint64_t now,
			struct oset *s)
{
	struct wentry e;
	for (uint64_t t = now; t <= now + w->mask; t++)
		while (wheel_due(L, w, t, &e))
			set_push(L, s, (struct oent){e.id, e.size, e.tid});
	while (w->far.n) {
		struct death d = dheap_pop(&w->far);
		set_push(L, s, (struct oent){d.id, d.size, d.tid});
	}
}

struct steady {
	uint64_t events, threads;
	struct sizer size, life;
	int drain;
};

/* One birth or death; births counts allocations so far (the clock). */
static void steady_step(lua_State *L, struct lctx *c, struct steady *g,
			struct wheel *w, uint64_t *births)
{
	struct wentry e;
	if (wheel_due(L, w, *births, &e)) {
		free_ent(L, c, &(struct oent){e.id, e.size, e.tid});
		return;
	}
	struct sim_event ev = {.kind = EV_ALLOC, .id = c->next_id,
			       .tid = gen_tid(c, g->threads, *births)};
	ev.size = sizer_next(L, &g->size, "steady");
	double life = g->life.d ? rng_dist_sample(g->life.r, g->life.d) : g->life.k;
	step(L, c, &ev);
	c->next_id++;
	uint64_t at = *births + (life < 1 ? 1 : life > 1e18 ? (uint64_t)1e18
							    : (uint64_t)ceil(life));
	wheel_push(L, w, *births, at, &(struct wentry){ev.id, ev.size, ev.tid, 0});
	(*births)++;
}

static void steady_args(lua_State *L, struct lctx *c, struct steady *g)
{
	static const char *const keys[] = {"events", "size", "lifetime", "live",
					   "threads", "stream", "drain", NULL};
	luaL_checktype(L, 1, LUA_TTABLE);
	check_keys(L, 1, "steady", keys);
	g->events = get_count(L, 1, "events", 0, "steady");
	g->threads = get_count(L, 1, "threads", 1, "steady");
	g->drain = 1;
	opt_bool(L, 1, "drain", &g->drain);
	const char *name = get_string(L, 1, "stream", "steady");
	g->size.r = g->life.r = push_stream(L, c, name);
	get_sizer(L, 1, "size", &g->size, 1, "steady");
	if (get_sizer(L, 1, "lifetime", &g->life, 0, "steady"))
		return;
	/* Little's law: one birth per step, so mean lifetime = live. */
	double live = (double)get_count(L, 1, "live", 0, "steady");
	if (live < 1)
		luaL_error(L, "steady: give lifetime= (a dist, in allocations) or "
			   "live= (target live objects)");
	struct ldist *d = new_ldist(L);
	struct sim_err err;
	if (rng_dist_new(RNG_EXPONENTIAL, &live, &d->d, &err) != SIM_OK)
		luaL_error(L, "steady: %s", err.msg);
	g->life.d = d->d;
}

/* steady{events=, size=, lifetime= | live=, threads=, stream=, drain=} */
static int l_steady(lua_State *L)
{
	struct lctx *c = ctx_check(L, "steady");
	struct steady g;
	steady_args(L, c, &g);
	double mean = g.life.d ? rng_dist_mean(g.life.d) : g.life.k;
	struct wheel *w = new_wheel(L, mean);
	uint64_t births = 0;
	for (uint64_t n = 0; n < g.events; n++)
		steady_step(L, c, &g, w, &births);
	struct oset *s = new_set(L);
	wheel_drain(L, w, births, s);
	if (g.drain)
		set_drop(L, c, s, s->n, "oldest", NULL);
	return done(L, c, g.drain ? 0 : 1);
}

/* ---- replay of a recorded trace ------------------------------------------------ */

struct splice {
	struct trace_reader *r;
	struct idmap map;        /* trace ID -> handle */
	uint64_t t0;             /* script clock at the start */
};

static int splice_gc(lua_State *L)
{
	struct splice *sp = lua_touserdata(L, 1);
	if (sp->r)
		trace_close(sp->r);
	free(sp->map.s);
	sp->r = NULL;
	sp->map.s = NULL;
	return 0;
}

static void splice_error(lua_State *L, struct splice *sp, const char *path,
			 const char *what, uint64_t id)
{
	luaL_error(L, "replay: %s:%I: ID %I %s", path,
		   (lua_Integer)trace_line(sp->r), (lua_Integer)id, what);
}

/* Map a new trace ID to the next handle. */
static uint64_t splice_new(lua_State *L, struct lctx *c, struct splice *sp,
			   uint64_t id, const char *path)
{
	if (idmap_find(&sp->map, id))
		splice_error(L, sp, path, "is already live", id);
	if (idmap_put(&sp->map, id, c->next_id) != 0)
		luaL_error(L, "out of host memory");
	return c->next_id++;
}

/* Unmap a live trace ID and return its handle. */
static uint64_t splice_old(lua_State *L, struct splice *sp, uint64_t id,
			   const char *path)
{
	struct slot *sl = idmap_find(&sp->map, id);
	if (!sl)
		splice_error(L, sp, path, "is not live", id);
	uint64_t h = sl->val;
	idmap_del(&sp->map, sl);
	return h;
}

static void splice_one(lua_State *L, struct lctx *c, struct splice *sp,
		       struct sim_event *ev, const char *path)
{
	switch (ev->kind) {
	case EV_ALLOC: case EV_CALLOC: case EV_MEMALIGN:
		ev->id = splice_new(L, c, sp, ev->id, path);
		break;
	case EV_FREE:
		ev->id = splice_old(L, sp, ev->id, path);
		break;
	case EV_REALLOC:
		ev->id = ev->id ? splice_old(L, sp, ev->id, path) : 0;
		ev->id2 = splice_new(L, c, sp, ev->id2, path);
		break;
	case EV_CLOCK:
		if (sp->t0 + ev->size > c->vclock)
			clock_by(L, c, sp->t0 + ev->size - c->vclock);
		return;
	}
	step(L, c, ev);
}

/* replay(path [, {drain=}]) -> number of trace events */
static int l_replay(lua_State *L)
{
	static const char *const keys[] = {"drain", NULL};
	struct lctx *c = ctx_check(L, "replay");
	char buf[8300];
	const char *path = resolve(c, luaL_checkstring(L, 1), buf, sizeof buf);
	int drain = 0;
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		check_keys(L, 2, "replay", keys);
		opt_bool(L, 2, "drain", &drain);
	}
	struct splice *sp = lua_newuserdatauv(L, sizeof *sp, 0);
	memset(sp, 0, sizeof *sp);
	lua_newtable(L);
	lua_pushcfunction(L, splice_gc);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, -2);
	struct sim_err err;
	if (idmap_init(&sp->map, 10) != 0)
		return luaL_error(L, "out of host memory");
	if (trace_open(path, &sp->r, &err) != SIM_OK)
		return luaL_error(L, "replay: %s", err.msg);
	sp->t0 = c->vclock;
	struct sim_event ev;
	lua_Integer n = 0;
	for (;; n++) {
		if (trace_next(sp->r, &ev, &err) != SIM_OK)
			return luaL_error(L, "replay: %s", err.msg);
		if (ev.kind == EV_END)
			break;
		splice_one(L, c, sp, &ev, path);
	}
	for (uint64_t i = 0; drain && i <= sp->map.mask; i++)
		if (sp->map.s[i].key)
			free_ent(L, c, &(struct oent){sp->map.s[i].val, 0, cur_tid(c)});
	lua_pushinteger(L, n);
	return done(L, c, 1);
}

/* ---- sync.Pool, ReadMemStats, FreeOSMemory ----------------------------------- */

/* Raise as step() does when the run is over. */
static void run_on(lua_State *L, struct lctx *c)
{
	need_engine(L, c);
	if (c->rc != SIM_OK) {
		lua_pushstring(L, c->err.msg);
		lua_error(L);
	}
}

static int check_pool(lua_State *L, int i)
{
	return *(int *)luaL_checkudata(L, i, MT_POOL);
}

/* pool() -> a sync.Pool model of this run (engine_pool_new) */
static int l_pool(lua_State *L)
{
	struct lctx *c = ctx_check(L, "pool");
	run_on(L, c);
	int ix = engine_pool_new(c->e);
	if (ix < 0)
		return luaL_error(L, "pool: out of host memory");
	*(int *)lua_newuserdatauv(L, sizeof(int), 0) = ix;
	luaL_setmetatable(L, MT_POOL);
	return 1;
}

/* Forget pooled handles the engine no longer has (dropped by a GC and
 * swept), once the map has doubled since the last time. */
static void pooled_prune(lua_State *L, struct lctx *c)
{
	if (c->pooled.count < 2 * c->pooled_kept + 1024)
		return;
	struct idmap n;
	if (idmap_init(&n, 64 - c->pooled.shift) != 0)
		luaL_error(L, "out of host memory");
	for (uint64_t i = 0; i <= c->pooled.mask; i++) {
		struct slot *s = &c->pooled.s[i];
		if (s->key && engine_object_live(c->e, s->key))
			idmap_place(&n, s->key, s->val);
	}
	free(c->pooled.s);
	c->pooled = n;
	c->pooled_kept = n.count;
}

/* p:get(size) -> a pooled object, the script's again, or a new one of
 * size (Go's New) */
static int l_pool_get(lua_State *L)
{
	struct lctx *c = ctx_check(L, "get");
	int ix = check_pool(L, 1);
	struct sim_event ev = {.kind = EV_ALLOC, .tid = cur_tid(c)};
	ev.size = check_size(L, 2, "get");
	run_on(L, c);
	uint64_t id = engine_pool_get(c->e, ix, ev.tid);
	struct slot *sl = id ? idmap_find(&c->pooled, id) : NULL;
	if (sl) {
		uint64_t size = sl->val;
		idmap_del(&c->pooled, sl);
		live_add(L, c, id, size);
	} else {
		ev.id = id = c->next_id;
		step(L, c, &ev);
		c->next_id++;
		live_add(L, c, id, ev.size);
	}
	lua_pushinteger(L, (lua_Integer)id);
	return done(L, c, 1);
}

/* p:put(o): o is the pool's from now on */
static int l_pool_put(lua_State *L)
{
	struct lctx *c = ctx_check(L, "put");
	int ix = check_pool(L, 1);
	struct slot *sl = check_handle(L, c, 2, "put");
	run_on(L, c);
	uint64_t id = sl->key, size = sl->val;
	int rc = engine_pool_put(c->e, ix, cur_tid(c), id, &c->err);
	if (rc != SIM_OK)
		run_over(L, c, rc);
	idmap_del(&c->live, sl);
	if (idmap_put(&c->pooled, id, size) != 0)
		return luaL_error(L, "out of host memory");
	pooled_prune(L, c);
	return done(L, c, 0);
}

static void set_int(lua_State *L, const char *key, uint64_t v)
{
	if (v > (uint64_t)LUA_MAXINTEGER)
		lua_pushnumber(L, (lua_Number)v);
	else
		lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, key);
}

/* p:stats() -> {gets=, hits=, victim_hits=, news=, puts=, dropped=} */
static int l_pool_stats(lua_State *L)
{
	struct lctx *c = ctx_check(L, "stats");
	int ix = check_pool(L, 1);
	need_engine(L, c);
	const struct pool_stats *p = engine_pool_stats(c->e, ix);
	lua_createtable(L, 0, 6);
	set_int(L, "gets", p->gets);
	set_int(L, "hits", p->hits);
	set_int(L, "victim_hits", p->victim_hits);
	set_int(L, "news", p->news);
	set_int(L, "puts", p->puts);
	set_int(L, "dropped", p->dropped);
	return 1;
}

static const luaL_Reg poollib[] = {
	{"get", l_pool_get},
	{"put", l_pool_put},
	{"stats", l_pool_stats},
	{NULL, NULL}
};

/* read_memstats() -> {counter = value, ...}: a checkpoint (thread caches
 * flushed), then the run's gauges and counts and the strategy's counters
 * by name (a strategy's counter wins over a gauge of the same name) */
static int l_read_memstats(lua_State *L)
{
	struct lctx *c = ctx_check(L, "read_memstats");
	run_on(L, c);
	int rc = engine_checkpoint(c->e, &c->err);
	if (rc != SIM_OK)
		run_over(L, c, rc);
	const struct sim_stats *st = engine_stats(c->e);
	const char *const *names = engine_counter_names(c->e);
	const uint64_t *v = engine_counters(c->e);
	lua_createtable(L, 0, 48);
#define LSIM_STAT(n) set_int(L, #n, st->cur.n);
	SIM_GAUGES(LSIM_STAT)
#undef LSIM_STAT
#define LSIM_STAT(n) set_int(L, #n, st->n);
	SIM_COUNTERS(LSIM_STAT)
#undef LSIM_STAT
	for (size_t i = 0; names[i]; i++)
		set_int(L, names[i], v[i]);
	return done(L, c, 1);
}

/* free_os_memory(): debug.FreeOSMemory (a forced collection, then every
 * free page back to the OS) */
static int l_free_os_memory(lua_State *L)
{
	struct lctx *c = ctx_check(L, "free_os_memory");
	run_on(L, c);
	int rc = engine_free_os_memory(c->e, &c->err);
	if (rc != SIM_OK)
		run_over(L, c, rc);
	return done(L, c, 0);
}

/* ---- the state: libraries, modules, classes -------------------------------------- */

static const luaL_Reg simlib[] = {
	{"alloc", l_alloc},
	{"free", l_free},
	{"realloc", l_realloc},
	{"size", l_size},
	{"spawn", l_spawn},
	{"thread_id", l_thread_id},
	{"wait", l_wait},
	{"channel", l_channel},
	{"sleep", l_sleep},
	{"work", l_work},
	{"now", l_now},
	{"phase", l_phase},
	{"gc", l_gc},
	{"faults", l_faults},
	{"param", l_param},
	{"rng", l_rng},
	{"empirical", l_empirical},
	{"steady", l_steady},
	{"ramp", l_ramp},
	{"replay", l_replay},
	{"pool", l_pool},
	{"read_memstats", l_read_memstats},
	{"free_os_memory", l_free_os_memory},
	{NULL, NULL}
};

/* The sim module; its functions share the run context as upvalue 1. */
static int luaopen_sim(lua_State *L)
{
	luaL_newlibtable(L, simlib);
	lua_pushlightuserdata(L, ctx_of_state(L));
	luaL_setfuncs(L, simlib, 1);
	luaL_newlibtable(L, distlib);
	lua_pushlightuserdata(L, ctx_of_state(L));
	luaL_setfuncs(L, distlib, 1);
	lua_setfield(L, -2, "dist");
	return 1;
}

static void new_class(lua_State *L, const char *name, const luaL_Reg *methods,
		      lua_CFunction gc)
{
	luaL_newmetatable(L, name);
	lua_newtable(L);
	lua_pushlightuserdata(L, ctx_of_state(L));
	luaL_setfuncs(L, methods, 1);
	lua_setfield(L, -2, "__index");
	if (gc) {
		lua_pushcfunction(L, gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
}

/* print() writes to stderr: stdout carries the comparison table. */
static int l_print(lua_State *L)
{
	int n = lua_gettop(L);
	for (int i = 1; i <= n; i++) {
		size_t len;
		const char *s = luaL_tolstring(L, i, &len);
		if (i > 1)
			fputc('\t', stderr);
		fwrite(s, 1, len, stderr);
		lua_pop(L, 1);
	}
	fputc('\n', stderr);
	return 0;
}

static void open_libs(lua_State *L)
{
	static const luaL_Reg libs[] = {
		{LUA_GNAME, luaopen_base}, {LUA_COLIBNAME, luaopen_coroutine},
		{LUA_TABLIBNAME, luaopen_table}, {LUA_STRLIBNAME, luaopen_string},
		{LUA_MATHLIBNAME, luaopen_math}, {LUA_UTF8LIBNAME, luaopen_utf8},
		{NULL, NULL}
	};
	for (const luaL_Reg *l = libs; l->name; l++) {
		luaL_requiref(L, l->name, l->func, 1);
		lua_pop(L, 1);
	}
	static const char *const unsafe[] = {"dofile", "loadfile", "load", NULL};
	for (const char *const *u = unsafe; *u; u++) {
		lua_pushnil(L);
		lua_setglobal(L, *u);
	}
	lua_register(L, "print", l_print);
}

/* Seed math.random from the run seed. */
static void seed_math(lua_State *L, uint64_t seed)
{
	lua_getglobal(L, "math");
	lua_getfield(L, -1, "randomseed");
	lua_pushinteger(L, (lua_Integer)rng_derive_seed(seed, "math.random"));
	lua_call(L, 1, 0);
	lua_pop(L, 1);
}

/* Set up a fresh state (run protected: errors are memory errors). */
static int l_setup(lua_State *L)
{
	struct lctx *c = lua_touserdata(L, 1);
	open_libs(L);
	seed_math(L, c->seed);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_STREAMS);
	new_class(L, MT_RNG, rnglib, l_rng_gc);
	new_class(L, MT_DIST, distmethods, l_dist_gc);
	luaL_getmetatable(L, MT_DIST);
	lua_pushcfunction(L, l_dist_tostring);
	lua_setfield(L, -2, "__tostring");
	new_class(L, MT_CHAN, chanlib, NULL);
	luaL_getmetatable(L, MT_CHAN);
	lua_pushcfunction(L, l_chan_len);
	lua_setfield(L, -2, "__len");
	new_class(L, MT_SET, setlib, l_set_gc);
	new_class(L, MT_POOL, poollib, NULL);
	luaL_requiref(L, "sim", luaopen_sim, 1);
	for (const luaL_Reg *f = simlib; f->name; f++) {
		lua_getfield(L, -1, f->name);
		lua_setglobal(L, f->name);
	}
	lua_getfield(L, -1, "dist");
	lua_setglobal(L, "dist");
	static const char *const units[] = {"KiB", "MiB", "GiB", NULL};
	for (int i = 0; units[i]; i++) {
		lua_pushinteger(L, (lua_Integer)1 << (10 * (i + 1)));
		lua_setglobal(L, units[i]);
	}
	return 0;
}

/* Message handler: add a traceback unless a thread's error has one. */
static int l_msgh(lua_State *L)
{
	const char *msg = error_text(L, 1, L, 1);
	if (strstr(msg, "\nstack traceback:"))
		return 1;
	luaL_traceback(L, L, msg, 1);
	return 1;
}

/* ---- the source ------------------------------------------------------------------ */

static int check_params(struct lctx *c, struct sim_err *err)
{
	for (size_t i = 0; i < c->wl.nparams; i++)
		if (!c->wused[i])
			return SIM_ERR(err, SIM_EINVAL, "-w %s: %s never reads this "
				       "parameter (no param() call names it)",
				       c->wl.params[i], c->path);
	return SIM_OK;
}

/* The result of a run that ended with Lua status st. */
static int drive_end(struct lctx *c, int st, struct sim_err *err)
{
	if (c->rc != SIM_OK && (st == LUA_OK || c->rc == SIM_EOOM ||
				c->rc == SIM_ECHECK || c->rc == SIM_EINTR))
		return SIM_ERR(err, c->rc, "%s", c->err.msg);
	if (st == LUA_OK)
		return check_params(c, err);
	const char *msg = lua_tostring(c->L, -1);
	msg = msg ? msg : "(error object is not a string)";
	if (c->lmem_hit && strstr(msg, "not enough memory"))
		return SIM_ERR(err, SIM_ESCRIPT, "%s: the Lua state reached its "
			       "memory cap of %" PRIu64 " bytes\n%s", c->path,
			       c->lmem_max, msg);
	return SIM_ERR(err, c->rc != SIM_OK ? c->rc : SIM_ESCRIPT, "%s", msg);
}

static int lsim_drive(void *ctx, struct engine *e, volatile sig_atomic_t *stop,
		      struct sim_err *err)
{
	struct lctx *c = ctx;
	lua_State *L = c->L;
	c->e = e;
	c->stop = stop;
	int st = lua_pcall(L, 0, 0, 1);   /* the chunk, above the handler */
	if (st == LUA_OK && c->rc == SIM_OK) {
		lua_pushlightuserdata(L, c);
		lua_pushcclosure(L, l_wait, 1);
		st = lua_pcall(L, 0, 0, 1);
	}
	int rc = drive_end(c, st, err);
	c->e = NULL;   /* see need_engine */
	return rc;
}

static void lsim_where(void *ctx, char *buf, size_t n)
{
	snprintf(buf, n, "%s", ((struct lctx *)ctx)->path);
}

static void lsim_close(void *ctx)
{
	struct lctx *c = ctx;
	if (c->L)
		lua_close(c->L);
	rng_close(c->sched);
	free(c->live.s);
	free(c->pooled.s);
	free(c->th);
	free(c->scratch);
	free(c->wused);
	free(c);
}

static int ctx_init(struct lctx *c, const char *path, uint64_t seed,
		    const struct workload_opts *wl, struct sim_err *err)
{
	snprintf(c->path, sizeof c->path, "%s", path);
	snprintf(c->dir, sizeof c->dir, "%s", path);
	char *slash = strrchr(c->dir, '/');
	*(slash ? slash : c->dir) = '\0';
	c->seed = seed;
	if (wl)
		c->wl = *wl;
	c->wl.quantum = c->wl.quantum ? c->wl.quantum : DEFAULT_QUANTUM;
	c->lmem_max = c->wl.lua_memory_max ? c->wl.lua_memory_max
					   : DEFAULT_LUA_MEMORY;
	c->next_id = 1;
	c->cur = -1;
	for (size_t i = 0; i < c->wl.nparams; i++) {
		const char *eq = strchr(c->wl.params[i], '=');
		if (!eq || eq == c->wl.params[i])
			return SIM_ERR(err, SIM_EINVAL, "-w %s: expected NAME=VALUE",
				       c->wl.params[i]);
	}
	c->wused = calloc(c->wl.nparams + 1, 1);
	if (!c->wused || idmap_init(&c->live, 12) != 0 ||
	    idmap_init(&c->pooled, 6) != 0)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	return rng_open(seed, "@schedule", &c->sched, err);
}

/* Create the state and compile the script (stack: handler, chunk). */
static int load(struct lctx *c, struct sim_err *err)
{
	FILE *f = fopen(c->path, "r");
	if (!f)
		return SIM_ERR(err, SIM_EIO, "%s: cannot open: %s", c->path,
			       strerror(errno));
	fclose(f);
	lua_State *L = c->L = lua_newstate(lalloc, c);
	if (!L)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
	lua_pushcfunction(L, l_setup);
	lua_pushlightuserdata(L, c);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK)
		return SIM_ERR(err, SIM_ENOMEM, "%s: cannot set up Lua: %s",
			       c->path, lua_tostring(L, -1));
	lua_pushcfunction(L, l_msgh);
	int st = luaL_loadfilex(L, c->path, "t");
	if (st == LUA_OK)
		return SIM_OK;
	const char *msg = lua_tostring(L, -1);
	if (strncmp(msg, c->path, strlen(c->path)) == 0)
		return SIM_ERR(err, SIM_ESCRIPT, "%s", msg);
	return SIM_ERR(err, SIM_ESCRIPT, "%s: %s", c->path, msg);
}

int lsim_source_open(const char *path, uint64_t seed,
		     const struct workload_opts *wl, struct source *src,
		     struct sim_err *err)
{
	struct lctx *c = calloc(1, sizeof *c);
	if (!c)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	int rc = ctx_init(c, path, seed, wl, err);
	if (rc == SIM_OK)
		rc = load(c, err);
	if (rc != SIM_OK) {
		lsim_close(c);
		return rc;
	}
	*src = (struct source){.ctx = c, .drive = lsim_drive,
			       .where = lsim_where, .close = lsim_close};
	return SIM_OK;
}

/* ---- experiment files (allocsim sweep) ---------------------------------------------
 * An experiment file is Lua too: the same restricted libraries as a
 * workload (no io, os, load), KiB/MiB/GiB, a memory cap and an instruction
 * budget, and one function, sweep{...}, whose table goes value by value to
 * a callback in sim/sweep.c.  A field is a value, a list of values, or a
 * map (string keys) of values or lists; a value is a string, a number or a
 * boolean.  It lives here because this is the one file that includes lua.h. */

struct lexp {
	struct lctx c;           /* first: lalloc and count_hook see an lctx */
	sweep_item_fn fn;
	void *ud;
	int group;
};

/* Text of the scalar at idx; an integral float prints as an integer. */
static const char *exp_text(lua_State *L, int idx, const char *field)
{
	int t = lua_type(L, idx);
	if (t == LUA_TNUMBER && !lua_isinteger(L, idx)) {
		double v = lua_tonumber(L, idx);
		if (v == floor(v) && fabs(v) < 9007199254740992.0)
			return lua_pushfstring(L, "%I", (lua_Integer)v);
	}
	if (t != LUA_TNUMBER && t != LUA_TSTRING && t != LUA_TBOOLEAN)
		luaL_error(L, "sweep: %s: a %s where a string, number or boolean "
			   "belongs", field, luaL_typename(L, idx));
	return luaL_tolstring(L, idx, NULL);
}

static void exp_emit(lua_State *L, struct lexp *x, const char *field,
		     const char *key, int idx, int in_list)
{
	struct sim_err err;
	const char *v = exp_text(L, idx, field);
	if (x->fn(x->ud, x->group, field, key, v, in_list, &err) != SIM_OK)
		luaL_error(L, "%s", err.msg);
	lua_pop(L, 1);
}

/* The value at idx: a scalar, or a list of scalars (when list_ok). */
static void exp_values(lua_State *L, struct lexp *x, const char *field,
		       const char *key, int idx, int list_ok)
{
	if (!lua_istable(L, idx)) {
		exp_emit(L, x, field, key, idx, !list_ok);
		return;
	}
	lua_Integer n = luaL_len(L, idx), count = 0;
	for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1))
		count++;
	if (!list_ok || n == 0 || count != n)
		luaL_error(L, "sweep: %s%s%s: expected %s", field, *key ? "." : "",
			   key, list_ok ? "a non-empty list {a, b, ...}" : "a value");
	for (lua_Integer i = 1; i <= n; i++) {
		lua_geti(L, idx, i);
		luaL_checkstack(L, 4, NULL);
		exp_values(L, x, field, key, lua_gettop(L), 0);
		lua_pop(L, 1);
	}
}

/* Field p or w: a map from names to values or lists. */
static void exp_map(lua_State *L, struct lexp *x, const char *field, int idx)
{
	if (!lua_istable(L, idx) || luaL_len(L, idx) != 0)
		luaL_error(L, "sweep: %s: expected a map {name = value or {values}}",
			   field);
	for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "sweep: %s: keys must be names", field);
		exp_values(L, x, field, lua_tostring(L, -2), lua_gettop(L), 1);
	}
}

static int l_exp_sweep(lua_State *L)
{
	struct lexp *x = lua_touserdata(L, lua_upvalueindex(1));
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	for (lua_pushnil(L); lua_next(L, 1); lua_pop(L, 1)) {
		if (lua_type(L, -2) != LUA_TSTRING)
			return luaL_error(L, "sweep: fields must be names");
		const char *f = lua_tostring(L, -2);
		if (strcmp(f, "p") == 0 || strcmp(f, "w") == 0)
			exp_map(L, x, f, lua_gettop(L));
		else
			exp_values(L, x, f, "", lua_gettop(L), 1);
	}
	x->group++;
	return 0;
}

static int l_exp_setup(lua_State *L)
{
	open_libs(L);
	lua_pushlightuserdata(L, lua_touserdata(L, 1));
	lua_pushcclosure(L, l_exp_sweep, 1);
	lua_setglobal(L, "sweep");
	static const char *const units[] = {"KiB", "MiB", "GiB", NULL};
	for (int i = 0; units[i]; i++) {
		lua_pushinteger(L, (lua_Integer)1 << (10 * (i + 1)));
		lua_setglobal(L, units[i]);
	}
	return 0;
}

int lsim_experiment_load(const char *path, sweep_item_fn fn, void *ud,
			 struct sim_err *err)
{
	struct lexp x = {.fn = fn, .ud = ud};
	snprintf(x.c.path, sizeof x.c.path, "%s", path);
	x.c.lmem_max = (uint64_t)64 << 20;
	x.c.wl.max_instructions = 100000000;
	lua_State *L = lua_newstate(lalloc, &x.c);
	if (!L)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
	lua_pushcfunction(L, l_exp_setup);
	lua_pushlightuserdata(L, &x);
	int st = lua_pcall(L, 1, 0, 0);
	if (st == LUA_OK)
		st = luaL_loadfilex(L, path, "t");
	if (st == LUA_OK)
		st = lua_pcall(L, 0, 0, 0);
	int rc = SIM_OK;
	if (st != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		msg = msg ? msg : "(error object is not a string)";
		int prefixed = strncmp(msg, path, strlen(path)) == 0;
		rc = SIM_ERR(err, st == LUA_ERRFILE ? SIM_EIO : SIM_ESCRIPT,
			     "%s%s%s", prefixed ? "" : path, prefixed ? "" : ": ", msg);
	}
	lua_close(L);
	return rc;
}
