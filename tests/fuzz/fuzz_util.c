/*
 * fuzz_util.c - in-memory files for the fuzz targets (fuzz.h).  The
 * readers under test take paths, so each input is written to a memfd and
 * read back through /proc/self/fd/N: no disk I/O, nothing left behind.
 * Also the strategy pick and the checked engine every target runs.
 */
#include "fuzz.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define SLOTS 4

static int fds[SLOTS] = {-1, -1, -1, -1};
static char paths[SLOTS][64];

const char *fuzz_file(int slot, const void *data, size_t n)
{
	if (slot < 0 || slot >= SLOTS)
		return NULL;
	if (fds[slot] < 0) {
		fds[slot] = memfd_create("allocsim-fuzz", 0);
		if (fds[slot] < 0)
			return NULL;
		snprintf(paths[slot], sizeof paths[slot], "/proc/self/fd/%d",
			 fds[slot]);
	}
	if (ftruncate(fds[slot], 0) != 0 ||
	    (n && pwrite(fds[slot], data, n, 0) != (ssize_t)n))
		return NULL;
	return paths[slot];
}

const struct strategy_ops *fuzz_strategy(size_t k)
{
	size_t count = 0;
	while (strategy_registry[count])
		count++;
	return strategy_registry[k % count];
}

struct engine *fuzz_engine(const struct strategy_ops *ops,
			   uint64_t check_every, struct sim_err *err)
{
	union param_value pv[64];
	struct engine_config cfg;
	struct engine *e;
	engine_config_default(&cfg);
	cfg.check = 1;
	cfg.check_every = check_every;
	cfg.sample_every = 0;
	cfg.os.faults.max_mapped_bytes = FUZZ_MAX_MAPPED;
	if (strat_params_default(ops, pv, err) != SIM_OK ||
	    engine_create(&cfg, ops, pv, &e, err) != SIM_OK)
		return NULL;
	return e;
}
