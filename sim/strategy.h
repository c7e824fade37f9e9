/*
 * strategy.h - THE plugin contract between the engine and an allocator
 * strategy, and the thin wrappers the engine calls strategies through.
 *
 * Modelled on SQLite's VFS: a versioned struct of function pointers found by
 * name.  A strategy lives in strategies/<name>/ and exports exactly one
 * symbol, `const struct strategy_ops strategy_<name>`; strategies/registry.c
 * lists them.  A strategy built outside the tree exports `strategy_plugin`
 * and is loaded with --plugin FILE.so.
 *
 * Glossary (fixed here once):
 *   page      the simulated OS page, 4 KiB (SIMOS_PAGE_SIZE).  Strategies
 *             with a page of their own (Go's 8 KiB runtime page) say so.
 *   block     what one alloc returns: [address, address + usable).
 *   usable    the bytes of a block the program may use (>= requested size).
 *   chunk     glibc's word for a block with its header.
 *   span      Go's run of runtime pages holding objects of one size class.
 *   heap      memory a strategy holds from the simulated OS.
 *   tid       the workload's thread id; mapping threads to Ps or arenas is
 *             the strategy's business.
 *
 * Rules a strategy follows:
 *   - it gets memory only through env->os and writes simulated memory only
 *     through simos_touch (headers, free-list links, zeroing);
 *   - it keeps its metadata in host memory, obtained through env->halloc so
 *     the model's own overhead is measured; it never dereferences simulated
 *     addresses;
 *   - it never exits and never prints; errors are SIM_E* codes with a message;
 *   - it is deterministic: no time, no host addresses in decisions.
 */
#ifndef SIM_STRATEGY_H
#define SIM_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "simos.h"

/* 2 added flush and release_os, 3 counter.  A table of an older version
 * is accepted:
 * it ends before the later bands, and the wrappers never read past the
 * band its abi_version declares. */
#define STRATEGY_ABI_VERSION 3

/* Allocation flags. */
#define STRAT_ZERO    0x1u   /* calloc: the block must read as zero */
#define STRAT_NOSCAN  0x2u   /* the object holds no pointers (Go's noscan) */
#define STRAT_ALIGNED 0x4u   /* memalign family: align is what was asked */

/* Reclamation modes (see engine.h). */
enum sim_reclaim {
	SIM_RECLAIM_DEFAULT = 0,    /* the strategy's own default */
	SIM_RECLAIM_IMMEDIATE = 1,  /* a free reaches the strategy at once */
	SIM_RECLAIM_GC = 2          /* frees wait for a GC cycle's sweep */
};

/* What the engine gives a strategy. */
struct strategy_env {
	struct simos *os;
	/* Host allocator for metadata, realloc-shaped: halloc(ud, NULL, 0, n)
	 * allocates, halloc(ud, p, old, 0) frees and returns NULL, otherwise
	 * resizes.  Returns NULL when the host is out of memory. */
	void *(*halloc)(void *ud, void *ptr, size_t old_size, size_t new_size);
	void *halloc_ud;
	const uint64_t *now_ns;      /* the simulated clock, read-only */
};

/* Tunable parameters: one descriptor per parameter, the table ends with a
 * descriptor whose name is NULL.  Values are set with -p <strategy>.<name>=. */
enum param_type {
	PARAM_INT,     /* integer; "off" reads as -1 when min <= -1 */
	PARAM_SIZE,    /* bytes; accepts K, M, G (binary) and KiB, MiB, GiB */
	PARAM_BOOL,    /* 0/1, true/false, on/off, yes/no */
	PARAM_DOUBLE
};

struct strategy_param {
	const char *name;
	enum param_type type;
	const char *def;         /* default, as text a user would type */
	double min, max;         /* inclusive range of the parsed value */
	const char *help;
};

union param_value {
	int64_t i;               /* PARAM_INT, PARAM_SIZE, PARAM_BOOL */
	double d;                /* PARAM_DOUBLE */
};

struct strategy_ops {
	int abi_version;             /* STRATEGY_ABI_VERSION it was built for */
	const char *name;            /* short, lower case: "span" */
	const char *summary;         /* one line for `allocsim list` */
	size_t state_size;           /* bytes the engine allocates for self */
	const struct strategy_param *params;    /* may be NULL: none */
	/* Names of the counters counters() fills, NULL-terminated.  Every
	 * strategy reports at least cache_hits, cache_misses and
	 * lock_acquires.  Each allocation the strategy serves (alloc, and a
	 * realloc that allocates) counts once as a hit, when its thread cache
	 * served it, or a miss; a strategy with no thread cache reports 0 and
	 * 0.  meta_bytes, when present, is the metadata the modelled
	 * allocator keeps inside the simulated process. */
	const char *const *counter_names;
	int reclaim_default;         /* SIM_RECLAIM_IMMEDIATE or _GC */
	uint64_t max_align;          /* alignment of a plain alloc of size >= it
	                                (16 for C allocators, 8 for Go) */

	/* Set up self (state_size zeroed bytes) with the parameter values in
	 * table order.  Returns SIM_OK, or an error code with err filled. */
	int (*init)(void *self, const struct strategy_env *env,
		    const union param_value *params, struct sim_err *err);
	/* Release host metadata.  The engine tears down the simulated OS. */
	void (*fini)(void *self);
	/* Allocate size bytes (size may be 0) aligned to align (0: natural
	 * alignment, a power of two otherwise).  Returns the address and the
	 * usable size in *usable, or 0 when out of memory. */
	uint64_t (*alloc)(void *self, uint32_t tid, uint64_t size,
			  uint64_t align, unsigned flags, uint64_t *usable);
	/* Free a block this strategy returned; usable is what alloc reported. */
	void (*free)(void *self, uint32_t tid, uint64_t addr, uint64_t usable);
	/* Optional: resize a block, keeping min(old usable, size) bytes.
	 * Returns the (possibly new) address and *usable, or 0 when out of
	 * memory, leaving the old block intact.  NULL: alloc + copy + free. */
	uint64_t (*realloc)(void *self, uint32_t tid, uint64_t addr,
			    uint64_t old_usable, uint64_t size, uint64_t *usable);
	/* Optional: a GC cycle starts (flush thread caches) / ended (pools). */
	void (*gc_begin)(void *self);
	void (*gc_end)(void *self);
	/* Optional: background work on the simulated clock (scavenger). */
	void (*tick)(void *self, uint64_t now_ns);
	/* Optional: check internal invariants; SIM_OK or SIM_ECHECK. */
	int (*check)(void *self, struct sim_err *err);
	/* Fill values[i] for counter_names[i]. */
	void (*counters)(void *self, uint64_t *values);
	/* v1 above */

	/* Optional: flush every thread cache into the shared structures, as
	 * Go's runtime.ReadMemStats does before it reads (every mcache
	 * released, the current tiny blocks dropped).  The workload's objects
	 * stay where they are; only later placement changes. */
	void (*flush)(void *self);
	/* Optional: return every free page to the OS now: the scavenge of
	 * Go's debug.FreeOSMemory (the engine has just run a forced GC cycle)
	 * or glibc's malloc_trim(0). */
	void (*release_os)(void *self);
	/* v2 above */

	/* Optional: counter i alone, the value counters() would put in
	 * values[i], for a reader that needs one number after every event
	 * (the GC pacer reads heap_live after each allocation) and should
	 * not pay for filling them all.  NULL: counters(). */
	uint64_t (*counter)(void *self, size_t i);
	/* v3 above */
};

/* ---- host-memory helpers for strategies ---------------------------- */

static inline void *strat_halloc(const struct strategy_env *env, size_t n)
{
	return env->halloc(env->halloc_ud, NULL, 0, n);
}

static inline void *strat_hrealloc(const struct strategy_env *env, void *p,
				   size_t old_n, size_t new_n)
{
	return env->halloc(env->halloc_ud, p, old_n, new_n);
}

static inline void strat_hfree(const struct strategy_env *env, void *p,
			       size_t n)
{
	if (p)
		env->halloc(env->halloc_ud, p, n, 0);
}

/* ---- registry ------------------------------------------------------- */

/* The in-tree strategies, NULL-terminated; the first is the default. */
extern const struct strategy_ops *const strategy_registry[];

/* The strategy named name (case-sensitive), the default for NULL, or NULL
 * when there is none (plugins loaded with strategy_load_plugin included). */
const struct strategy_ops *strategy_find(const char *name);

/* Load a strategy from a shared object exporting `strategy_plugin`.  Checks
 * the ABI version and the required fields.  Returns SIM_OK and *out, or
 * SIM_EINVAL with err naming the file and the problem. */
int strategy_load_plugin(const char *path, const struct strategy_ops **out,
			 struct sim_err *err);

/* Check that ops is complete: version, name, required ops, the counters
 * every strategy reports.  SIM_OK or SIM_EINVAL with err. */
int strategy_validate(const struct strategy_ops *ops, struct sim_err *err);

/* ---- parameters ----------------------------------------------------- */

/* Number of parameters of ops. */
size_t strat_param_count(const struct strategy_ops *ops);

/* Fill values[] with the defaults.  SIM_OK, or SIM_EINVAL when a default
 * does not parse (a bug in the strategy). */
int strat_params_default(const struct strategy_ops *ops,
			 union param_value *values, struct sim_err *err);

/* Set parameter key from text.  SIM_OK, or SIM_EINVAL naming the strategy,
 * the key and the problem (unknown key, wrong type, out of range). */
int strat_param_set(const struct strategy_ops *ops, union param_value *values,
		    const char *key, const char *text, struct sim_err *err);

/* Format values[i] as text into buf (size n). */
void strat_param_format(const struct strategy_param *p, union param_value v,
			char *buf, size_t n);

/* Parse a size with an optional K/M/G or KiB/MiB/GiB suffix.  SIM_OK or
 * SIM_EINVAL. */
int strat_parse_size(const char *text, uint64_t *out);

/* ---- an open strategy instance and the wrappers the engine calls ---- */

struct strat {
	const struct strategy_ops *ops;
	void *self;
	struct strategy_env env;
	size_t ncounters;
	int ix_cache_hits, ix_cache_misses, ix_meta_bytes;  /* -1: absent */
};

/* Open an instance of ops on env with params.  SIM_OK or an error. */
int strat_open(struct strat *s, const struct strategy_ops *ops,
	       const struct strategy_env *env,
	       const union param_value *params, struct sim_err *err);
void strat_close(struct strat *s);

/* alloc and free through the strategy.  Inline: the engine calls them once
 * an event, and the wrapper was a call of its own. */
static inline uint64_t strat_alloc(struct strat *s, uint32_t tid,
				   uint64_t size, uint64_t align,
				   unsigned flags, uint64_t *usable)
{
	*usable = 0;
	return s->ops->alloc(s->self, tid, size, align, flags, usable);
}

static inline void strat_free(struct strat *s, uint32_t tid, uint64_t addr,
			      uint64_t usable)
{
	s->ops->free(s->self, tid, addr, usable);
}
/* realloc through the strategy, or alloc + copy + free when it has none. */
uint64_t strat_realloc(struct strat *s, uint32_t tid, uint64_t addr,
		       uint64_t old_usable, uint64_t size, uint64_t *usable);
void strat_gc_begin(struct strat *s);
void strat_gc_end(struct strat *s);
void strat_tick(struct strat *s, uint64_t now_ns);
int strat_check(struct strat *s, struct sim_err *err);
void strat_counters(struct strat *s, uint64_t *values);
/* strat_counter for a strategy without the v3 counter operation: every
 * counter into scratch, then counter i. */
uint64_t strat_counter_from_all(struct strat *s, size_t i, uint64_t *scratch);
/* Counter i (i < ncounters); scratch has room for every counter, for a
 * strategy without the v3 counter operation.  Inline, as strat_alloc: in
 * GC mode the pacer reads heap_live after every allocation. */
static inline uint64_t strat_counter(struct strat *s, size_t i,
				     uint64_t *scratch)
{
	if (s->ops->abi_version >= 3 && s->ops->counter)
		return s->ops->counter(s->self, i);
	return strat_counter_from_all(s, i, scratch);
}
/* v2 operations; nothing happens for a strategy without them (or built
 * for ABI version 1). */
void strat_flush(struct strat *s);
void strat_release_os(struct strat *s);

/* The alignment a plain alloc of size must have: the lowest set bit of
 * size, capped at ops->max_align (1 for size 0). */
uint64_t strat_natural_align(const struct strategy_ops *ops, uint64_t size);

#endif
