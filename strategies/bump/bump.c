/*
 * bump.c - the bump allocator: hands out memory in address order and never
 * reuses it.  Its heap is the lower bound on system-call traffic and the
 * upper bound on footprint, and this file is the template a new strategy
 * author copies (walked through in strategies/README.md).
 *
 * Model: memory comes from the simulated OS in chunks of `chunk` bytes (or
 * one chunk the size of a larger request), mapped read/write with mmap.
 * A request is placed at the next address aligned to its alignment.  free
 * only updates counters.
 *
 * Simplifications: none that matter for what it is; there are no headers,
 * so it keeps no metadata in the simulated process.
 */
#include "strategy.h"

struct bump {
	const struct strategy_env *env;
	uint64_t chunk;          /* bytes mapped at a time */
	uint64_t cur, end;       /* the free tail of the current chunk */
	uint64_t chunks_mapped, frees;
};

static const struct strategy_param bump_params[] = {
	{"chunk", PARAM_SIZE, "1M", 4096, 1099511627776.0,
	 "bytes mapped from the OS at a time (rounded up to pages)"},
	{NULL, 0, NULL, 0, 0, NULL}
};

static const char *const bump_counters[] = {
	"cache_hits", "cache_misses", "lock_acquires", "chunks_mapped",
	"frees_ignored", NULL
};

static uint64_t round_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static int bump_init(void *self, const struct strategy_env *env,
		     const union param_value *params, struct sim_err *err)
{
	struct bump *b = self;
	(void)err;
	b->env = env;
	b->chunk = round_up((uint64_t)params[0].i, SIMOS_PAGE_SIZE);
	return SIM_OK;
}

/* Map a fresh chunk big enough for need bytes; 0 on failure. */
static int bump_grow(struct bump *b, uint64_t need)
{
	uint64_t len = need > b->chunk ? round_up(need, SIMOS_PAGE_SIZE) : b->chunk;
	uint64_t addr;
	if (simos_mmap(b->env->os, 0, len, SIMOS_PROT_RW, 0, &addr) != SIM_OK)
		return 0;
	b->cur = addr;
	b->end = addr + len;
	b->chunks_mapped++;
	return 1;
}

static uint64_t bump_alloc(void *self, uint32_t tid, uint64_t size,
			   uint64_t align, unsigned flags, uint64_t *usable)
{
	struct bump *b = self;
	(void)tid; (void)flags;   /* fresh mmap memory already reads as zero */
	uint64_t a = align > 16 ? align : 16;
	uint64_t n = size ? round_up(size, 16) : 16;
	uint64_t p = round_up(b->cur, a);
	if (b->cur == 0 || p + n > b->end) {
		if (!bump_grow(b, n + a))
			return 0;
		p = round_up(b->cur, a);
	}
	b->cur = p + n;
	*usable = n;
	return p;
}

static void bump_free(void *self, uint32_t tid, uint64_t addr, uint64_t usable)
{
	struct bump *b = self;
	(void)tid; (void)addr; (void)usable;
	b->frees++;
}

static void bump_counters_fill(void *self, uint64_t *v)
{
	struct bump *b = self;
	v[0] = 0;            /* no thread cache: every allocation is a miss */
	v[1] = 0;
	v[2] = 0;            /* no shared structure is locked */
	v[3] = b->chunks_mapped;
	v[4] = b->frees;
}

static void bump_fini(void *self)
{
	(void)self;          /* no host metadata */
}

const struct strategy_ops strategy_bump = {
	.abi_version = STRATEGY_ABI_VERSION,
	.name = "bump",
	.summary = "never reuses memory: the lower bound on work, upper bound on footprint",
	.state_size = sizeof(struct bump),
	.params = bump_params,
	.counter_names = bump_counters,
	.reclaim_default = SIM_RECLAIM_IMMEDIATE,
	.max_align = 16,
	.init = bump_init,
	.fini = bump_fini,
	.alloc = bump_alloc,
	.free = bump_free,
	.counters = bump_counters_fill,
};
