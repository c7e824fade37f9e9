/*
 * fuzz_lua.c - libFuzzer target: Lua workload scripts built from the
 * input, run through the engine under a small budget (FUZZ_MAX_EVENTS
 * events, FUZZ_MAX_INSTR instructions, a 16 MiB Lua state, 256 MiB of
 * simulated mappings), with the shadow checker on.
 *
 * The input is the script; its length picks the strategy (modulo the
 * registry) and --schedule (odd lengths: random).  A dictionary of the API
 * (tests/fuzz/lua.dict) lets mutations build real calls.  What must hold:
 * no crash, no sanitizer report, no hang past the budgets, and an error is
 * an input error with a message (SIM_ECHECK, a strategy failing a check on
 * events the engine accepted, aborts so libFuzzer keeps the input).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fuzz.h"
#include "run.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void bug(const char *what, const char *msg)
{
	fprintf(stderr, "fuzz_lua: %s: %s\n", what, msg);
	abort();
}

static void run_script(const char *path, size_t size)
{
	const struct strategy_ops *ops = fuzz_strategy(size / 2);
	struct workload_opts wl;
	memset(&wl, 0, sizeof wl);
	wl.max_events = FUZZ_MAX_EVENTS;
	wl.max_instructions = FUZZ_MAX_INSTR;
	wl.lua_memory_max = FUZZ_LUA_MEMORY;
	wl.schedule = size & 1 ? WL_SCHED_RANDOM : WL_SCHED_RR;
	wl.event_ns = 20;
	struct source src;
	struct sim_err err;
	if (lsim_source_open(path, 7, &wl, &src, &err) != SIM_OK)
		return;   /* syntax errors end here */
	struct engine *e = fuzz_engine(ops, 256, &err);
	if (!e)
		bug("cannot start a run", err.msg);
	volatile sig_atomic_t stop = 0;
	int rc = src.drive(src.ctx, e, &stop, &err);
	if (rc == SIM_ECHECK)
		bug(ops->name, err.msg);
	if (rc != SIM_OK && !err.msg[0])
		bug("an error without a message", sim_rc_name(rc));
	if (rc == SIM_OK && engine_finish(e, &err) == SIM_ECHECK)
		bug(ops->name, err.msg);
	engine_destroy(e);
	src.close(src.ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	const char *path = fuzz_file(0, data, size);
	if (path)
		run_script(path, size);
	return 0;
}
